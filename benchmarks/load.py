"""
The load test: the example project under gunicorn on PostgreSQL, driven by ``wrk`` on loopback.

    python -m benchmarks.load --database postgres://postgres@127.0.0.1:5432/drf_twostep_load
    python -m benchmarks.load --hasher default --hasher md5 --rounds 3 --seconds 8

For each password hasher (``--hasher``: ``default``, Django's own PBKDF2, and ``md5``; both
unless one is named) it creates (and afterwards drops) that database, migrates it, runs
``seed_demo`` and adds the load-test users with passwords hashed by that hasher, then serves
the example project (``benchmarks.load_settings``, which reads the hasher from
``BENCH_LOAD_HASHER``) with gunicorn and measures, in alternating rounds against the same server:

- the enforced GET (``TwoStepTokenAuthentication``) against the same trivial view with plain
  DRF ``TokenAuthentication``, without and with the Redis ENFORCEMENT_CACHE
  (``BENCH_LOAD_REDIS_URL``);
- the full two-step sign-in (``login/`` then ``login/verify/`` with a recovery code, each
  reply's replacement code used for the next sign-in) against the password-only sign-in of a
  user without 2SV (``login/`` answering ``authenticated``): sign-ins per second, and the
  latency of a whole sign-in (from sending ``login/`` to the answer of ``login/verify/``,
  timed in wrk's Lua with the monotonic clock), and of ``login/verify/`` alone.

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
# --hasher: what ``BENCH_LOAD_HASHER`` tells benchmarks.load_settings, and how it is reported.
HASHERS = {
    "default": "Django's default (PBKDF2-SHA256)",
    "md5": "MD5 (benchmark only)",
}

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


def _env(database, redis, hasher):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.load_settings",
        PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "example_project")]),
        DATABASE_URL=database,
        DJANGO_DEBUG="0",
        BENCH_LOAD_HASHER=hasher,
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
    def __init__(self, database, redis, workers, hasher, port=None):
        self.port = port or _free_port()
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
            env=_env(database, redis, hasher),
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
  local logins, signins, verifies, rate = 0, {}, {}, 0
  for _, t in ipairs(threads) do
    logins = logins + (t:get("logins") or 0)
    -- Each connection's sign-ins over the time from its first request to its last sign-in:
    -- what a round's end cuts off (a sign-in under way) does not count against the rate.
    local first, last = t:get("first_us"), t:get("last_us")
    if first and last and last > first then rate = rate + t:get("logins") * 1e6 / (last - first) end
    for _, d in ipairs(t:get("signins") or {}) do
      table.insert(signins, string.format("%d", d))
    end
    for _, d in ipairs(t:get("verifies") or {}) do
      table.insert(verifies, string.format("%d", d))
    end
  end
  io.write("WRK_JSON " .. string.format(
    '{"requests": %d, "duration_us": %d, "errors_status": %d, "errors_socket": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "logins": %d, '
    .. '"signin_us": [%s], "verify_us": [%s], "signin_rate": %.6f}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), logins,
    table.concat(signins, ","), table.concat(verifies, ","), rate))
end
"""

# The monotonic clock in microseconds, through LuaJIT's FFI (wrk runs LuaJIT).
_CLOCK = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock_now = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock_now)  -- CLOCK_MONOTONIC
  return tonumber(clock_now.tv_sec) * 1e6 + tonumber(clock_now.tv_nsec) / 1e3
end
"""

_GET = """
wrk.headers["Authorization"] = "Token %(token)s"
logins = 0
"""

# One connection per thread, so each thread's Lua state follows one user's sign-ins in order.
_LOGIN_FLOW = (
    _CLOCK
    + """
users = {%(users)s}
local json = {["Content-Type"] = "application/json"}
function init(args)
  me = users[index]
  code = me[2]
  logins, signins, verifies = 0, {}, {}
  challenge = nil
end
function request()
  if challenge == nil then
    started = now_us()
    first_us = first_us or started
    return wrk.format("POST", "/api/auth/login/", json,
      '{"username": "' .. me[1] .. '", "password": "%(password)s"}')
  end
  verify_started = now_us()
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
      local now = now_us()
      code = replacement
      logins = logins + 1
      table.insert(signins, now - started)
      table.insert(verifies, now - verify_started)
      last_us = now
    end
  end
end
"""
)

_PASSWORD_LOGIN = (
    _CLOCK
    + """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username": "%(user)s", "password": "%(password)s"}'
function init(args) logins, signins = 0, {} end
function request()
  started = now_us()
  first_us = first_us or started
  return wrk.format()
end
function response(status, headers, body)
  if status == 200 then
    last_us = now_us()
    logins = logins + 1
    table.insert(signins, last_us - started)
  end
end
"""
)


def wrk(url, path, script, *, threads, connections, seconds, timeout=10):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + _REPORT)
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                f"--timeout={timeout}s",
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
    # Sign-ins: each connection's over its own span (``signin_rate``), summed.
    run["logins_per_s"] = run["signin_rate"] or run["logins"] / (run["duration_us"] / 1e6)
    return run


def _median(runs, key):
    return statistics.median(run[key] for run in runs)


def _percentile(values, q):
    """The ``q``-th percentile (nearest rank) of ``values``, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _ms(us):
    return None if us is None else us / 1000


def summarize(name, baseline_name, subject_runs, baseline_runs, hasher, per="request"):
    """A row: medians over rounds of the rates and, for requests, of wrk's percentiles; for
    sign-ins, the percentiles of every sign-in of every round (timed in the Lua script)."""
    s_key = "rps" if per == "request" else "logins_per_s"
    row = {
        "group": "under load",
        "name": name,
        "baseline": baseline_name,
        "hasher": hasher,
        "rounds": len(subject_runs),
        "rate_unit": "requests/s" if per == "request" else "sign-ins/s",
        "rate": _median(subject_runs, s_key),
        "baseline_rate": _median(baseline_runs, s_key),
        "errors": sum(r["errors_status"] + r["errors_socket"] for r in subject_runs),
        "baseline_errors": sum(r["errors_status"] + r["errors_socket"] for r in baseline_runs),
        # Answers of 400 and more, and connect, read, write errors and wrk's time-outs.
        "errors_status": sum(r["errors_status"] for r in subject_runs + baseline_runs),
        "errors_socket": sum(r["errors_socket"] for r in subject_runs + baseline_runs),
    }
    if per == "request":
        for prefix, runs in (("", subject_runs), ("baseline_", baseline_runs)):
            row[f"{prefix}p50_ms"] = _median(runs, "p50_us") / 1000
            row[f"{prefix}p99_ms"] = _median(runs, "p99_us") / 1000
    else:
        for prefix, runs in (("", subject_runs), ("baseline_", baseline_runs)):
            signins = [d for r in runs for d in r["signin_us"]]
            row[f"{prefix}count"] = len(signins)
            row[f"{prefix}p50_ms"] = _ms(_percentile(signins, 50))
            row[f"{prefix}p99_ms"] = _ms(_percentile(signins, 99))
        verifies = [d for r in subject_runs for d in r["verify_us"]]
        row["verify_p50_ms"] = _ms(_percentile(verifies, 50))
        row["verify_p99_ms"] = _ms(_percentile(verifies, 99))
    pairs = list(zip(subject_runs, baseline_runs, strict=True))
    row["rate_ratio"] = statistics.median(s[s_key] / max(b[s_key], 1e-9) for s, b in pairs)
    return row


def _fmt(value, spec=".1f"):
    return "–" if value is None else format(value, spec)


def _rate(value):
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def markdown(rows):
    lines = [
        "| hasher | benchmark | baseline | rate | baseline rate | rate ratio | p50 ms | p99 ms "
        "| baseline p50 ms | baseline p99 ms | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rate, baseline_rate = (_rate(r["rate"]), _rate(r["baseline_rate"]))
        lines.append(
            f"| {r['hasher']} | {r['name']} | {r['baseline']} | {rate} {r['rate_unit']} | "
            f"{baseline_rate} | {r['rate_ratio']:.2f} | {_fmt(r['p50_ms'])} | "
            f"{_fmt(r['p99_ms'])} | {_fmt(r['baseline_p50_ms'])} | "
            f"{_fmt(r['baseline_p99_ms'])} | {r['errors'] + r['baseline_errors']} |"
        )
    verifies = [r for r in rows if "verify_p50_ms" in r]
    if verifies:
        lines.append("")
        lines.append("| hasher | `login/verify/` alone, p50 ms | p99 ms | sign-ins timed |")
        lines.append("|---|---:|---:|---:|")
        for r in verifies:
            lines.append(
                f"| {r['hasher']} | {_fmt(r['verify_p50_ms'])} | {_fmt(r['verify_p99_ms'])} | "
                f"{r['count']} (password-only: {r['baseline_count']}) |"
            )
    return "\n".join(lines)


def run(args, hasher):
    """Every row for one password hasher, on a database of its own (its users' passwords are
    hashed by that hasher)."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    connections = args.connections
    users = [f"load{i}" for i in range(connections * args.rounds)]
    recreate_database(args.database)
    try:
        setup = subprocess.run(
            [sys.executable, "-m", "benchmarks.load", "--setup-users", *users],
            env=_env(args.database, redis_reachable(REDIS_URL), hasher),
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
            server = Server(args.database, redis, args.workers, hasher, args.port)
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
                        hasher,
                    )
                )
                if not redis:
                    rows.append(login_rows(server, data, users, args, hasher))
            finally:
                server.stop()
    finally:
        if not args.keep_database:
            recreate_database(args.database, drop_only=True)
    return rows


def login_rows(server, data, users, args, hasher):
    connections = args.connections
    seconds = args.login_seconds or args.seconds
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
                    seconds=seconds,
                    # A sign-in with a slow hasher on a busy machine may take seconds: the
                    # sign-in's own timing (Lua) is what counts; wrk's would drop them.
                    timeout=60,
                )
            )
    return summarize(
        "two-step sign-in: login/ + login/verify/ (recovery code)",
        "password-only login/ of a user without 2SV",
        two_step,
        password_only,
        hasher,
        per="login",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        default="postgres://postgres@127.0.0.1:5432/drf_twostep_load",
        help="PostgreSQL URL; the database is created and dropped",
    )
    parser.add_argument(
        "--hasher",
        action="append",
        choices=sorted(HASHERS),
        help="password hasher: default (Django's PBKDF2) or md5; repeat for both (the default)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, help="gunicorn's port (default: a free one)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8, help="per wrk run")
    parser.add_argument(
        "--login-seconds", type=int, help="per wrk run of the sign-ins (default: --seconds)"
    )
    parser.add_argument("--output", help="directory for load.jsonl and load.md")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--setup-users", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setup_users is not None:
        setup_users(args.setup_users)
        return 0
    hashers = list(dict.fromkeys(args.hasher or ["default", "md5"]))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = [row for hasher in hashers for row in run(args, hasher)]
    seconds = args.login_seconds or args.seconds
    info = {
        **machine(),
        "date": started,
        "database": "postgresql",
        "workers": args.workers,
        "load": f"wrk on loopback, {args.connections * 2} connections (GET), "
        f"{args.connections} (sign-ins), {args.rounds} rounds of {args.seconds} s (GET) "
        f"and {seconds} s (sign-ins)",
        "password_hashers": {hasher: HASHERS[hasher] for hasher in hashers},
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
