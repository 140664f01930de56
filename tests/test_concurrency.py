"""
Single use under real concurrency: several OS processes, each with its own database
connection, send the same code at the same moment through the full HTTP stack.

SQLite in memory cannot be shared between processes, so these run where DATABASE_URL names a
server database (CI runs them on PostgreSQL).
"""

import multiprocessing
import os

import pytest
from django.db import connection, connections

from drf_twostep.models import LoginChallenge
from tests.helpers import AUTH, PASSWORD, login

WORKERS = 6

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL"),
        reason="needs a database server shared between processes (set DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def _post_in_child(path, bodies, barrier, results):
    """Fork a worker per body; each waits at the barrier, then posts; returns status codes."""
    return _requests_in_children([("post", path, body, None) for body in bodies], barrier, results)


def _requests_in_children(calls, barrier, results):
    """Fork a worker per ``(verb, path, body, token)``; each waits at the barrier, then sends
    its request; returns the sorted ``(status, code)`` pairs."""

    def work(verb, path, body, token):
        # A forked child must not share the parent's connection.
        for alias in connections:
            connections[alias].close()
        from rest_framework.test import APIClient

        client = APIClient()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait(timeout=30)
        response = getattr(client, verb)(path, body, format="json")
        results.put((response.status_code, response.json().get("code")))
        connections.close_all()

    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=work, args=call) for call in calls]
    connection.close()
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return sorted(results.get(timeout=5) for _ in processes)


@pytest.fixture
def mp():
    context = multiprocessing.get_context("fork")
    return context.Barrier(WORKERS), context.Queue()


def test_one_code_sent_by_many_processes_signs_in_once(api, user_with_totp, mp, clock):
    code = user_with_totp.code()
    challenges = [login(api).json()["challenge"] for _ in range(WORKERS)]
    barrier, results = mp
    outcomes = _post_in_child(
        AUTH + "login/verify/",
        [{"challenge": c, "code": code} for c in challenges],
        barrier,
        results,
    )
    assert [status for status, _ in outcomes].count(200) == 1
    assert sorted(code for _, code in outcomes if code) == ["code_already_used"] * (WORKERS - 1)


def test_one_challenge_completes_once_under_concurrency(api, user_with_totp, mp, clock):
    challenge = login(api).json()["challenge"]
    code = user_with_totp.code()
    barrier, results = mp
    outcomes = _post_in_child(
        AUTH + "login/verify/", [{"challenge": challenge, "code": code}] * WORKERS, barrier, results
    )
    assert [status for status, _ in outcomes].count(200) == 1
    assert LoginChallenge.objects.filter(completed_at__isnull=False).count() == 1


def test_one_recovery_code_used_by_many_processes_signs_in_once(api, user_with_totp, mp, clock):
    recovery_code = user_with_totp.recovery_codes[0]
    challenges = [login(api).json()["challenge"] for _ in range(WORKERS)]
    barrier, results = mp
    outcomes = _post_in_child(
        AUTH + "login/verify/",
        [{"challenge": c, "recovery_code": recovery_code} for c in challenges],
        barrier,
        results,
    )
    assert [status for status, _ in outcomes].count(200) == 1
    assert sorted(code for _, code in outcomes if code) == ["invalid_recovery_code"] * (WORKERS - 1)


def test_concurrent_default_changes_leave_exactly_one_default(api, user_with_totp, mp, clock):
    from drf_twostep import sms
    from drf_twostep.models import TwoStepMethod

    client = user_with_totp.client()
    ids = [user_with_totp.method_id]
    for number in ("+14155552671", "+14155552672"):
        setup = client.post(
            AUTH + "two-step/methods/",
            {"kind": "sms", "password": PASSWORD, "phone_number": number},
            format="json",
        ).json()
        code = sms.outbox[-1].body[:6]
        path = f"{AUTH}two-step/methods/{setup['id']}/confirm/"
        assert client.post(path, {"code": code}, format="json").status_code == 200
        ids.append(setup["id"])
    barrier, results = mp
    for _round in range(5):
        calls = [
            (
                "patch",
                f"{AUTH}two-step/methods/{ids[i % 3]}/",
                {"is_default": True},
                user_with_totp.token,
            )
            for i in range(WORKERS)
        ]
        outcomes = _requests_in_children(calls, barrier, results)
        assert [status for status, _ in outcomes] == [200] * WORKERS, outcomes
        defaults = TwoStepMethod.objects.filter(user=user_with_totp.user, is_default=True)
        assert defaults.count() == 1
