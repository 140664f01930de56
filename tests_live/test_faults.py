"""
Faults (docs/operations.md): the example project under gunicorn on PostgreSQL with a Redis of
its own, which this module kills, pauses (SIGSTOP) and starts again, and whose database
connections it terminates (``pg_terminate_backend``). Every operation of the API, for a user
without 2SV, one with 2SV on and one who must set it up, runs without a fault, under each
fault and after it. The counts of answers by status are printed; the tests assert that no
answer lacks a JSON ``code``, that no access refused without a fault is granted under one,
that a request waits a bounded time while Redis hangs, and that everything recovers. A short
soak of sign-ins and enforced requests while faults come and go ends with a consistency check
of the database: no code accepted twice, lockout counters exact, an event for every sign-in.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from conftest import DATABASE_URL, ROOT, Server
from live import PASSWORD, REPORT, make_user, wrong_code

sys.path.insert(0, str(ROOT))
from tests.redis_server import RedisServer  # noqa: E402 - the repository's root, just added

pytestmark = pytest.mark.skipif(
    not DATABASE_URL.startswith("postgres"), reason="the database faults are PostgreSQL's"
)

AUTH = "/api/auth"
# A request waits at most this long while Redis hangs (the example's socket timeouts are
# 0.25 s; a request makes a few cache calls).
HUNG_BOUND = 2.0
SOAK_SECONDS = float(os.environ.get("LIVE_SOAK_SECONDS", "60"))
TIMEOUT = 20


def terminate_connections() -> int:
    """``pg_terminate_backend`` on every connection to the live database; how many."""
    import psycopg

    url = urlsplit(DATABASE_URL)
    with psycopg.connect(
        host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
        password=url.password or None, dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [url.path.lstrip("/")],
        ).fetchall()
    return len(rows)


@dataclass
class Probe:
    name: str
    state: str
    method: str
    path: str
    body: object = None
    token: str | None = None


@dataclass
class Result:
    probe: Probe
    status: int | str
    code: str
    seconds: float

    @property
    def granted(self) -> bool:
        return isinstance(self.status, int) and self.status < 400

    @property
    def coded(self) -> bool:
        return self.granted or bool(self.code)


def send(base, probe: Probe) -> Result:
    headers = {"Authorization": f"Token {probe.token}"} if probe.token else {}
    started = time.monotonic()
    try:
        response = requests.request(
            probe.method, base + probe.path, json=probe.body, headers=headers, timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        return Result(probe, type(exc).__name__, "", time.monotonic() - started)
    try:
        body = response.json()
        code = body.get("code", "") if isinstance(body, dict) else ""
    except ValueError:
        code = ""
    return Result(probe, response.status_code, code, time.monotonic() - started)


def run(base, probes, width=16) -> list[Result]:
    with ThreadPoolExecutor(width) as pool:
        return list(pool.map(lambda probe: send(base, probe), probes))


def counts(results) -> str:
    found = Counter(str(r.status) for r in results)
    return ", ".join(f"{status} x{n}" for status, n in sorted(found.items()))


@dataclass
class World:
    server: Server
    redis: RedisServer
    users: dict
    clinic: object

    def probes(self) -> list[Probe]:
        """Every operation of the API for each user, in a form that can be repeated."""
        probes = []
        org = self.clinic.pk
        for state, (user, methods, token) in self.users.items():
            method_id = methods[0][0].pk if methods else 999_999_999
            spare = token
            probes += [
                Probe(
                    "login",
                    state,
                    "POST",
                    f"{AUTH}/login/",
                    {"username": user.username, "password": PASSWORD},
                ),
                Probe(
                    "login wrong password",
                    state,
                    "POST",
                    f"{AUTH}/login/",
                    {"username": user.username, "password": "wrong"},
                ),
                Probe(
                    "verify unknown challenge",
                    state,
                    "POST",
                    f"{AUTH}/login/verify/",
                    {"challenge": secrets.token_urlsafe(16), "code": "123456"},
                ),
                Probe(
                    "send-code unknown challenge",
                    state,
                    "POST",
                    f"{AUTH}/login/send-code/",
                    {"challenge": secrets.token_urlsafe(16), "method": method_id},
                ),
                Probe("status", state, "GET", f"{AUTH}/two-step/", token=spare),
                Probe("methods", state, "GET", f"{AUTH}/two-step/methods/", token=spare),
                Probe(
                    "setup wrong password",
                    state,
                    "POST",
                    f"{AUTH}/two-step/methods/",
                    {"kind": "authenticator_app", "password": "wrong"},
                    spare,
                ),
                Probe(
                    "rename method",
                    state,
                    "PATCH",
                    f"{AUTH}/two-step/methods/{method_id}/",
                    {"name": "App"},
                    spare,
                ),
                Probe(
                    "delete method wrong password",
                    state,
                    "DELETE",
                    f"{AUTH}/two-step/methods/{method_id}/",
                    {"password": "wrong"},
                    spare,
                ),
                Probe(
                    "confirm",
                    state,
                    "POST",
                    f"{AUTH}/two-step/methods/{method_id}/confirm/",
                    {"code": "123456"},
                    spare,
                ),
                Probe(
                    "recovery codes wrong password",
                    state,
                    "POST",
                    f"{AUTH}/two-step/recovery-codes/",
                    {"password": "wrong"},
                    spare,
                ),
                Probe(
                    "recovery pdf",
                    state,
                    "POST",
                    f"{AUTH}/two-step/recovery-codes/pdf/",
                    {"recovery_codes": ["AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"]},
                    spare,
                ),
                Probe("events", state, "GET", f"{AUTH}/two-step/events/", token=spare),
                Probe(
                    "policy",
                    state,
                    "GET",
                    f"{AUTH}/organizations/{org}/two-step-policy/",
                    token=spare,
                ),
                Probe(
                    "policy change",
                    state,
                    "PATCH",
                    f"{AUTH}/organizations/{org}/two-step-policy/",
                    {"required": True},
                    spare,
                ),
                Probe("members", state, "GET", f"{AUTH}/organizations/{org}/members/", token=spare),
                Probe(
                    "reset member",
                    state,
                    "POST",
                    f"{AUTH}/organizations/{org}/members/{user.pk}/reset-two-step/",
                    token=spare,
                ),
                Probe("enforced GET", state, "GET", "/api/me/", token=spare),
                Probe("anonymous GET", state, "GET", f"{AUTH}/two-step/"),
            ]
        return probes


@pytest.fixture(scope="module")
def world():
    from clinics.models import Clinic, Membership

    from drf_twostep.models import OrganizationPolicy

    if not RedisServer.installed():
        pytest.fail("redis-server is not installed")
    redis = RedisServer(db=3)
    redis.start()
    server = Server(
        "faults",
        {"REDIS_URL": redis.url, "LIVE_CACHE_PREFIX": f"faults-{secrets.token_hex(4)}"},
    )
    clinic = Clinic.objects.create(name=f"Fault Clinic {secrets.token_hex(3)}")
    OrganizationPolicy.objects.create(organization=clinic, required=True, grace_period_days=0)
    plain = make_user("fault-plain")
    two_step = make_user("fault-2sv", authenticator_apps=1)
    setup = make_user("fault-setup")
    Membership.objects.create(user=setup[0], clinic=clinic, role=Membership.Role.STAFF)
    users = {}
    for state, (user, methods, _) in {
        "no 2SV": plain, "2SV on": two_step, "setup required": setup,
    }.items():  # fmt: skip
        users[state] = (user, methods, signed_in_token(server.url, user, methods))
    yield World(server, redis, users, clinic)
    server.stop()
    redis.stop()


def signed_in_token(base, user, methods) -> str:
    answer = requests.post(
        base + f"{AUTH}/login/", json={"username": user.username, "password": PASSWORD},
        timeout=TIMEOUT,
    ).json()  # fmt: skip
    if answer["status"] != "verification_required":
        return answer["token"]
    verified = requests.post(
        base + f"{AUTH}/login/verify/",
        json={"challenge": answer["challenge"], "code": methods[0][1].now()},
        timeout=TIMEOUT,
    ).json()
    return verified["token"]


@pytest.fixture(scope="module")
def baseline(world):
    results = run(world.server.url, world.probes())
    REPORT.append(f"faults, no fault: {len(results)} answers; {counts(results)}")
    assert all(r.coded for r in results), [r for r in results if not r.coded]
    return {(r.probe.state, r.probe.name): r for r in results}


def check(name, results, baseline, *, bound=None):
    """Report, then: a code on every refusal, nothing granted that the baseline refused."""
    slowest = max(r.seconds for r in results)
    REPORT.append(
        f"faults, {name}: {len(results)} answers, slowest {slowest:.2f} s; {counts(results)}"
    )
    uncoded = [(r.probe.state, r.probe.name, r.status) for r in results if not r.coded]
    granted = [
        (r.probe.state, r.probe.name, r.status)
        for r in results
        if r.granted and not baseline[(r.probe.state, r.probe.name)].granted
    ]
    assert not uncoded, f"answers without a JSON code: {uncoded}"
    assert not granted, f"granted under the fault, refused without it: {granted}"
    if bound is not None:
        assert slowest <= bound, f"a request waited {slowest:.2f} s"


def recovered(world, baseline, name):
    results = run(world.server.url, world.probes())
    check(f"after {name}", results, baseline)
    changed = [
        (r.probe.state, r.probe.name, baseline[(r.probe.state, r.probe.name)].status, r.status)
        for r in results
        if r.status != baseline[(r.probe.state, r.probe.name)].status
    ]
    assert not changed, f"not as without a fault after {name}: {changed}"


def test_redis_killed(world, baseline):
    world.redis.kill()
    try:
        check("Redis killed", run(world.server.url, world.probes()), baseline)
    finally:
        world.redis.start()
    recovered(world, baseline, "Redis killed")


def test_redis_paused(world, baseline):
    world.redis.pause()
    try:
        results = run(world.server.url, world.probes())
    finally:
        world.redis.resume()
    check("Redis paused (SIGSTOP)", results, baseline, bound=HUNG_BOUND)
    recovered(world, baseline, "Redis paused")


def test_database_connections_terminated(world, baseline):
    from django.db import connection

    results, terminated = [], 0
    probes = world.probes()
    for _ in range(5):
        # Connections the workers keep (CONN_MAX_AGE) are cut while requests are under way.
        batch: list = []
        runner = threading.Thread(target=lambda b=batch: b.extend(run(world.server.url, probes)))
        runner.start()
        time.sleep(0.05)
        terminated += terminate_connections()
        runner.join()
        results += batch
    connection.close()  # this process's connection was among them
    check(f"PostgreSQL connections terminated ({terminated} in 5 rounds)", results, baseline)
    recovered(world, baseline, "PostgreSQL connections terminated")


# -- the soak ---------------------------------------------------------------------------------


def test_soak_then_the_database_is_consistent(world, baseline):
    from django.db import connection

    from drf_twostep.models import LoginChallenge, SecurityEvent, TwoStepProfile

    base = world.server.url
    signers = [make_user("soak", authenticator_apps=1) for _ in range(4)]
    guessers = [make_user("soak-guess", authenticator_apps=1) for _ in range(2)]
    enforced = [(state, token) for state, (_, _, token) in world.users.items()]
    accepted: list = []  # (user pk, code) of every 200 from login/verify/
    wrong = Counter()  # user pk -> 400 invalid_code answers
    statuses = Counter()
    stop = time.monotonic() + SOAK_SECONDS
    faults = Counter()

    def post(path, body):
        try:
            response = requests.post(base + path, json=body, timeout=TIMEOUT)
            return response.status_code, response.json()
        except (requests.RequestException, ValueError) as exc:
            return type(exc).__name__, {}

    def sign_in(user, totp, code):
        status, body = post(f"{AUTH}/login/", {"username": user.username, "password": PASSWORD})
        statuses[str(status)] += 1
        if status != 200:
            return
        status, answer = post(
            f"{AUTH}/login/verify/", {"challenge": body["challenge"], "code": code}
        )
        statuses[str(status)] += 1
        if status == 200:
            accepted.append((user.pk, code))
        elif answer.get("code") == "invalid_code":
            wrong[user.pk] += 1

    def worker(index):
        while time.monotonic() < stop:
            user, [(_, totp)], _ = signers[index % len(signers)]
            sign_in(user, totp, totp.now())
            guesser, [(_, gtotp)], _ = guessers[index % len(guessers)]
            sign_in(guesser, gtotp, wrong_code(gtotp))
            state, token = enforced[index % len(enforced)]
            try:
                status = requests.get(
                    base + "/api/me/", headers={"Authorization": f"Token {token}"},
                    timeout=TIMEOUT,
                ).status_code  # fmt: skip
            except requests.RequestException as exc:
                status = type(exc).__name__
            statuses[str(status)] += 1

    def chaos():
        kinds = ["redis killed", "redis paused", "database"]
        turn = 0
        while time.monotonic() < stop - 2:
            kind = kinds[turn % len(kinds)]
            turn += 1
            faults[kind] += 1
            if kind == "redis killed":
                world.redis.kill()
                time.sleep(1.5)
                world.redis.start()
            elif kind == "redis paused":
                world.redis.pause()
                time.sleep(1.5)
                world.redis.resume()
            else:
                terminate_connections()
            time.sleep(2)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    threads.append(threading.Thread(target=chaos))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    connection.close()
    REPORT.append(
        f"faults, soak of {time.monotonic() - started:.0f} s with "
        f"{', '.join(f'{k} x{n}' for k, n in sorted(faults.items()))}: "
        + ", ".join(f"{s} x{n}" for s, n in sorted(statuses.items()))
    )

    # No code accepted twice.
    assert len(accepted) == len(set(accepted)), "a code was accepted twice"
    # Lockout counters exact: each wrong code counted once, with its event.
    for guesser, _, _ in guessers:
        profile = TwoStepProfile.objects.get(user=guesser)
        failed = SecurityEvent.objects.filter(user=guesser, kind="verification_failed").count()
        assert profile.failed_attempts == failed == wrong[guesser.pk], (
            guesser.username, profile.failed_attempts, failed, wrong[guesser.pk],
        )  # fmt: skip
    # Every completed sign-in has its event; every 200 was a completed sign-in.
    per_user = defaultdict(int)
    for pk, _ in accepted:
        per_user[pk] += 1
    for user, _, _ in signers:
        completed = LoginChallenge.objects.filter(user=user, completed_at__isnull=False).count()
        events = SecurityEvent.objects.filter(user=user, kind="verification_succeeded").count()
        assert completed == events >= per_user[user.pk], (user.username, completed, events)
    assert accepted, "no sign-in succeeded during the soak"
    recovered(world, baseline, "the soak")
