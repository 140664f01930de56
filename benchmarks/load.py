"""
The load test: the example project under gunicorn on PostgreSQL, driven by ``wrk`` on loopback.

    python -m benchmarks.load --database postgres://postgres@127.0.0.1:5432/drf_twostep_load

Creates (and afterwards drops) that database, migrates it, runs ``seed_demo`` and adds the
load-test users, then serves the example project (``benchmarks.load_settings``) with gunicorn
and measures, in alternating rounds against the same server:

- the enforced GET (``TwoStepTokenAuthentication``) against the same trivial view with plain
  DRF ``TokenAuthentication``, without and with the Redis ENFORCEMENT_CACHE;
- the two-step login (``login/`` then ``login/verify/`` with a recovery code, each reply's
  replacement code used for the next sign-in) against the password-only login of a user
  without 2SV (``login/`` answering ``authenticated``).

A login by TOTP code cannot be repeated under load: each code works once per 30-second step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.error import HTTPError
from urllib.parse import urlsplit, urlunsplit
from urllib.request import urlopen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.harness import machine  # noqa: E402
from benchmarks.micro import PASSWORD, redis_reachable  # noqa: E402

# A Redis database of its own, so that no other user of the server sees or clears its keys.
REDIS_URL = os.environ.get("BENCH_LOAD_REDIS_URL", "redis://127.0.0.1:6379/5")

ALICE = "alice"
BASELINE_USER = "carol"  # no clinic, no 2SV: the password alone signs her in

# -- the database and the users ------------------------------------------------------------


def _admin_url(url):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def recreate_database(url, drop_only=False):
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop_only:
            c.execute(f'CREATE DATABASE "{name}"')


def setup_users(users):
    """In the server's settings: migrate, seed the demo, make ``users`` members of the demo
    clinic with 2SV on (as ``seed_demo`` does for alice) and one recovery code each, and give
    alice a token that passed the second step. Prints ``{"token": ..., "codes": {...}}``."""
    import django

    django.setup()
    from clinics.management.commands.seed_demo import Command as SeedDemo
    from clinics.models import Clinic, Membership
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from drf_twostep.enforcement import invalidate_all
    from drf_twostep.issuers import get_issuer
    from drf_twostep.models import TwoStepProfile

    call_command("migrate", verbosity=0, interactive=False)
    seed = SeedDemo(stdout=open(os.devnull, "w"))
    call_command(seed)
    clinic = Clinic.objects.get(name="Demo Clinic")
    User = get_user_model()
    for username in [ALICE, BASELINE_USER]:
        user = User.objects.get(username=username)
        user.set_password(PASSWORD)
        user.save()
    codes = {}
    for username in users:
        user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
        Membership.objects.create(user=user, clinic=clinic, role=Membership.Role.STAFF)
        codes[username] = seed.enable_two_step(user)
    alice = User.objects.get(username=ALICE)
    profile = TwoStepProfile.objects.get(user=alice)
    token = get_issuer().issue(None, alice, verified=True, profile=profile)["token"]
    profile.save()
    # Enforcement states cached by an earlier run (same pks, other database) are stale.
    invalidate_all()
    print(json.dumps({"token": token, "codes": codes}))


# -- the server ------------------------------------------------------------------------------


def _env(database, redis):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.load_settings",
        PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "example_project")]),
        DATABASE_URL=database,
        DJANGO_DEBUG="0",
    )
    env.pop("REDIS_URL", None)
    if redis:
        env["REDIS_URL"] = REDIS_URL
    return env


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, database, redis, workers):
        self.port = _free_port()
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        self.process = subprocess.Popen(
            [
                gunicorn,
                "demo.wsgi:application",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={workers}",
                "--worker-class=sync",
                "--log-level=warning",
            ],
            env=_env(database, redis),
            stdout=subprocess.DEVNULL,
            stderr=sys.stderr,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        # Ready when every worker has answered once (each imports Django on its first boot).
        deadline = time.monotonic() + 120
        answered = 0
        while answered < workers * 2:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited")
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer")
            try:
                urlopen(self.url + "/bench/plain/", timeout=30).close()
            except HTTPError:  # 401 without a token: an answer
                answered += 1
            except OSError:
                time.sleep(0.3)

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)


# -- wrk ------------------------------------------------------------------------------------

_REPORT = """
threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("index", #threads)
end
function done(summary, latency, requests)
  local logins = 0
  for _, t in ipairs(threads) do logins = logins + (t:get("logins") or 0) end
  io.write("WRK_JSON " .. string.format(
    '{"requests": %d, "duration_us": %d, "errors_status": %d, "errors_socket": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "logins": %d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), logins))
end
"""

_GET = """
wrk.headers["Authorization"] = "Token %(token)s"
logins = 0
"""

# One connection per thread, so each thread's Lua state follows one user's sign-ins in order.
_LOGIN_FLOW = """
users = {%(users)s}
local json = {["Content-Type"] = "application/json"}
function init(args)
  me = users[index]
  code = me[2]
  logins = 0
  challenge = nil
end
function request()
  if challenge == nil then
    return wrk.format("POST", "/api/auth/login/", json,
      '{"username": "' .. me[1] .. '", "password": "%(password)s"}')
  end
  return wrk.format("POST", "/api/auth/login/verify/", json,
    '{"challenge": "' .. challenge .. '", "recovery_code": "' .. code .. '"}')
end
function response(status, headers, body)
  if challenge == nil then
    challenge = body:match('"challenge":"([^"]+)"')
  else
    challenge = nil
    local replacement = body:match('"recovery_codes":%%["([^"]+)"')
    if status == 200 and replacement then
      code = replacement
      logins = logins + 1
    end
  end
end
"""

_PASSWORD_LOGIN = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username": "%(user)s", "password": "%(password)s"}'
function init(args) logins = 0 end
function response(status, headers, body)
  if status == 200 then logins = logins + 1 end
end
"""


def wrk(url, path, script, *, threads, connections, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + _REPORT)
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout=10s",
                "-s",
                lua.name,
                url + path,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(lua.name)
    line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    run = json.loads(line.split(" ", 1)[1])
    run["rps"] = run["requests"] / (run["duration_us"] / 1e6)
    run["logins_per_s"] = run["logins"] / (run["duration_us"] / 1e6)
    return run


def _median(runs, key):
    return statistics.median(run[key] for run in runs)


def summarize(name, baseline_name, subject_runs, baseline_runs, per="request"):
    s_key = "rps" if per == "request" else "logins_per_s"
    row = {
        "group": "under load",
        "name": name,
        "baseline": baseline_name,
        "rounds": len(subject_runs),
        "rate_unit": "requests/s" if per == "request" else "logins/s",
        "rate": _median(subject_runs, s_key),
        "baseline_rate": _median(baseline_runs, s_key),
        "p50_ms": _median(subject_runs, "p50_us") / 1000,
        "p99_ms": _median(subject_runs, "p99_us") / 1000,
        "baseline_p50_ms": _median(baseline_runs, "p50_us") / 1000,
        "baseline_p99_ms": _median(baseline_runs, "p99_us") / 1000,
        "errors": sum(r["errors_status"] + r["errors_socket"] for r in subject_runs),
        "baseline_errors": sum(r["errors_status"] + r["errors_socket"] for r in baseline_runs),
    }
    pairs = list(zip(subject_runs, baseline_runs, strict=True))
    row["rate_ratio"] = statistics.median(s[s_key] / max(b[s_key], 1e-9) for s, b in pairs)
    row["p50_ratio"] = statistics.median(s["p50_us"] / max(b["p50_us"], 1) for s, b in pairs)
    return row


def markdown(rows):
    lines = [
        "| benchmark | baseline | rate | baseline rate | rate ratio | p50 ms | p99 ms "
        "| baseline p50 ms | baseline p99 ms | p50 ratio | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['baseline']} | {r['rate']:,.0f} {r['rate_unit']} | "
            f"{r['baseline_rate']:,.0f} | {r['rate_ratio']:.2f} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['baseline_p50_ms']:.1f} | {r['baseline_p99_ms']:.1f} | "
            f"{r['p50_ratio']:.2f} | {r['errors'] + r['baseline_errors']} |"
        )
    return "\n".join(lines)


def run(args):
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    connections = args.connections
    users = [f"load{i}" for i in range(connections * args.rounds)]
    recreate_database(args.database)
    try:
        setup = subprocess.run(
            [sys.executable, "-m", "benchmarks.load", "--setup-users", *users],
            env=_env(args.database, redis=redis_reachable(REDIS_URL)),
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        data = json.loads(setup.stdout.strip().splitlines()[-1])
        rows = []
        get = _GET % {"token": data["token"]}
        phases = [(False, "no cache")]
        if redis_reachable(REDIS_URL):
            phases.append((True, "Redis ENFORCEMENT_CACHE"))
        for redis, label in phases:
            server = Server(args.database, redis, args.workers)
            try:
                for path in ("/bench/plain/", "/bench/enforced/"):  # warm up both
                    wrk(server.url, path, get, threads=2, connections=4, seconds=2)
                plain, enforced = [], []
                for index in range(args.rounds):
                    order = [(plain, "/bench/plain/"), (enforced, "/bench/enforced/")]
                    for runs, path in order if index % 2 == 0 else order[::-1]:
                        runs.append(
                            wrk(
                                server.url,
                                path,
                                get,
                                threads=2,
                                connections=connections * 2,
                                seconds=args.seconds,
                            )
                        )
                rows.append(
                    summarize(
                        f"GET, TwoStepTokenAuthentication, {label}",
                        "GET, DRF TokenAuthentication",
                        enforced,
                        plain,
                    )
                )
                if not redis:
                    rows.append(login_rows(server, data, users, args))
            finally:
                server.stop()
    finally:
        if not args.keep_database:
            recreate_database(args.database, drop_only=True)
    return rows


def login_rows(server, data, users, args):
    connections = args.connections
    two_step, password_only = [], []
    password_script = _PASSWORD_LOGIN % {"user": BASELINE_USER, "password": PASSWORD}
    for index in range(args.rounds):
        # Fresh users each round: a sign-in cut off when a round ends may have used its code.
        batch = users[index * connections : (index + 1) * connections]
        script = _LOGIN_FLOW % {
            "users": ", ".join(f'{{"{u}", "{data["codes"][u]}"}}' for u in batch),
            "password": PASSWORD,
        }
        order = [(two_step, script), (password_only, password_script)]
        for runs, lua in order if index % 2 == 0 else order[::-1]:
            runs.append(
                wrk(
                    server.url,
                    "/api/auth/login/",
                    lua,
                    threads=connections,
                    connections=connections,
                    seconds=args.seconds,
                )
            )
    return summarize(
        "two-step login: login/ + login/verify/ (recovery code)",
        "password-only login/ of a user without 2SV",
        two_step,
        password_only,
        per="login",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        default="postgres://postgres@127.0.0.1:5432/drf_twostep_load",
        help="PostgreSQL URL; the database is created and dropped",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8, help="per wrk run")
    parser.add_argument("--output", help="directory for load.jsonl and load.md")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--setup-users", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setup_users is not None:
        setup_users(args.setup_users)
        return 0
    rows = run(args)
    info = {
        **machine(),
        "database": "postgresql",
        "workers": args.workers,
        "load": f"wrk, {args.connections * 2} connections (GET), {args.connections} (login), "
        f"{args.rounds} rounds of {args.seconds} s",
        "password_hasher": "MD5 (benchmark only)",
    }
    lines = [json.dumps({"machine": info}, sort_keys=True)]
    lines += [json.dumps(row, sort_keys=True) for row in rows]
    table = markdown(rows)
    print("\n".join(lines))
    print()
    print(table)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, "load.jsonl"), "w") as out:
            out.write("\n".join(lines) + "\n")
        with open(os.path.join(args.output, "load.md"), "w") as out:
            out.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
