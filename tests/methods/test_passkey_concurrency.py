"""
Passkeys under real concurrency: forked processes, each with its own database connection,
verify at the same moment. Needs a database server (DATABASE_URL); CI runs it on PostgreSQL
and MariaDB.
"""

from __future__ import annotations

import multiprocessing
import os

import pytest
from django.db import connection, connections
from django.test import override_settings

pytest.importorskip("webauthn")

from drf_twostep.methods import passkey as passkeys  # noqa: E402
from drf_twostep.models import PasskeyCredential  # noqa: E402
from tests.authenticator import SoftAuthenticator  # noqa: E402
from tests.methods.test_passkey import SETTINGS, committed, enroll  # noqa: E402

WORKERS = 6

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL"),
        reason="needs a database server shared between processes (set DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def _verify_in_children(calls, verify=passkeys.verify_passwordless):
    """Fork a worker per ``(challenge, credential)`` (``verify``'s arguments); all verify at
    once, by default a passkey alone. Returns the sorted outcomes: "ok" or the exception's
    class name."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(calls)), context.Queue()

    def work(challenge, credential):
        for alias in connections:
            connections[alias].close()
        barrier.wait(timeout=30)
        try:
            with override_settings(DRF_TWOSTEP=SETTINGS):
                committed(verify, challenge, credential)
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            results.put(type(exc).__name__)
        else:
            results.put("ok")
        connections.close_all()

    processes = [context.Process(target=work, args=call) for call in calls]
    connection.close()
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return sorted(results.get(timeout=5) for _ in processes)


@override_settings(DRF_TWOSTEP=SETTINGS)
def test_the_same_assertion_sent_at_once_is_accepted_once(user):
    _, authenticator = enroll(user)
    started = passkeys.passwordless_options()
    assertion = authenticator.get(started["public_key"])
    outcomes = _verify_in_children([(started["challenge"], assertion)] * WORKERS)
    assert outcomes == ["InvalidPasskey"] * (WORKERS - 1) + ["ok"]


@override_settings(DRF_TWOSTEP=SETTINGS)
def test_clones_with_the_same_count_at_once_are_accepted_once(user):
    method, authenticator = enroll(user, SoftAuthenticator(counter=5))
    calls = []
    for _ in range(WORKERS):
        started = passkeys.passwordless_options()
        calls.append((started["challenge"], authenticator.get(started["public_key"], sign_count=6)))
    outcomes = _verify_in_children(calls)
    assert outcomes == ["PasskeyCloneSuspected"] * (WORKERS - 1) + ["ok"]
    assert PasskeyCredential.objects.get(method=method).sign_count == 6


@override_settings(DRF_TWOSTEP=SETTINGS)
def test_the_same_step_up_assertion_sent_at_once_is_accepted_once(user):
    _, authenticator = enroll(user)
    assertion = authenticator.get(passkeys.reverify_options(user))
    outcomes = _verify_in_children([(user, assertion)] * WORKERS, passkeys.verify_reverify)
    assert outcomes == ["InvalidPasskey"] * (WORKERS - 1) + ["ok"]
