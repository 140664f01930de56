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
from tests.helpers import AUTH, login

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

    def work(body):
        # A forked child must not share the parent's connection.
        for alias in connections:
            connections[alias].close()
        from rest_framework.test import APIClient

        barrier.wait(timeout=30)
        response = APIClient().post(path, body, format="json")
        results.put((response.status_code, response.json().get("code")))
        connections.close_all()

    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=work, args=(body,)) for body in bodies]
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
