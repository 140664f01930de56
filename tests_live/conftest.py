"""
The live suite: the example project under gunicorn (4 worker processes) on a database server,
with Redis as Django's cache, and HTTP requests fired at it from many threads at once.

``LIVE_DATABASE_URL`` names a scratch database that is dropped and created anew (default
``postgres://postgres@127.0.0.1:5432/twostep_live``); ``REDIS_URL`` the cache (default
``redis://127.0.0.1:6379/0``). This process uses the same settings (``demo.settings_live``) and
database to create users and to read the rows the races leave behind. Without the servers the
tests skip, or fail when ``DRF_TWOSTEP_REQUIRE_SERVICES`` is set. The servers listen on
127.0.0.1, on ports the system picks, or on the first free ones of ``LIVE_PORTS``
(``8400-8409``) when several runs share the machine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from live import REPORT

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_project"
VENV_BIN = Path(sys.executable).parent

DATABASE_URL = os.environ.get(
    "LIVE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/twostep_live"
)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
WORKERS = int(os.environ.get("LIVE_WORKERS", "4"))
THREADS = int(os.environ.get("LIVE_THREADS", "5"))
RUN_ID = uuid.uuid4().hex[:8]
MAIL_DIR = Path(os.environ.get("LIVE_EMAIL_DIR", f"/tmp/drf-twostep-live-{RUN_ID}/mail"))

_problem: str | None = None


def _reachable(host, port) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _services_problem() -> str | None:
    db = urlsplit(DATABASE_URL)
    default_port = 5432 if db.scheme.startswith("postgres") else 3306
    if not _reachable(db.hostname or "127.0.0.1", db.port or default_port):
        return f"no database server at {db.hostname}:{db.port or default_port}"
    redis = urlsplit(REDIS_URL)
    if not _reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        return f"no Redis at {redis.hostname}:{redis.port or 6379}"
    return None


def pytest_configure(config):
    global _problem
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo.settings_live"
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ["LIVE_EMAIL_DIR"] = str(MAIL_DIR)
    os.environ["LIVE_CACHE_PREFIX"] = f"live-{RUN_ID}"
    sys.path.insert(0, str(EXAMPLE))
    import django
    from django.core.management import call_command

    django.setup()  # no connection yet: the test modules import models either way
    _problem = _services_problem()
    if _problem:
        return
    _recreate_database()
    call_command("migrate", verbosity=0, interactive=False)


def _recreate_database():
    url = urlsplit(DATABASE_URL)
    name = url.path.lstrip("/")
    assert re.fullmatch(r"\w+", name), f"a plain scratch database name, not {name!r}"
    if url.scheme.startswith("postgres"):
        import psycopg

        with psycopg.connect(
            host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
            password=url.password or None, dbname="postgres", autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    else:
        import MySQLdb

        conn = MySQLdb.connect(
            host=url.hostname, port=url.port or 3306, user=url.username or "root",
            password=url.password or "",
        )  # fmt: skip
        try:
            cursor = conn.cursor()
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            conn.close()


def pytest_collection_modifyitems(config, items):
    if not _problem:
        return
    if os.environ.get("DRF_TWOSTEP_REQUIRE_SERVICES"):
        raise pytest.UsageError(f"live tests: {_problem} (DRF_TWOSTEP_REQUIRE_SERVICES is set)")
    skip = pytest.mark.skip(reason=f"live tests: {_problem}")
    for item in items:
        item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section(f"live results ({vendor()})")
        for line in REPORT:
            terminalreporter.write_line(line)


def vendor() -> str:
    return "PostgreSQL" if DATABASE_URL.startswith("postgres") else "MariaDB"


def _free_port() -> int:
    """A port free on 127.0.0.1: the first of ``LIVE_PORTS`` (``low-high``) when set."""
    low, _, high = os.environ.get("LIVE_PORTS", "0").partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in LIVE_PORTS={os.environ['LIVE_PORTS']}")


class Server:
    """One gunicorn serving the example project; ``log`` is its error log (tracebacks)."""

    def __init__(self, name, extra_env=None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mail_dir = MAIL_DIR
        self.log = MAIL_DIR.parent / f"gunicorn-{name}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(extra_env or {})}
        # gunicorn's log and Django's (5xx tracebacks) both go to stderr.
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"), "demo.wsgi:application",
                "--chdir", str(EXAMPLE),
                "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(WORKERS),
                # Long query strings reach Django (which answers them), not gunicorn's HTML 414.
                "--limit-request-line", "0",
                "--worker-class", "gthread", "--threads", str(THREADS),
                "--timeout", "60",
            ],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self):
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_text()}")
            booted = self.log_text().count("Booting worker with pid")
            try:
                answer = requests.get(self.url + "/api/auth/two-step/", timeout=2)
            except requests.RequestException:
                answer = None
            if answer is not None and answer.status_code == 401 and booted >= WORKERS:
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer in time:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def tracebacks(self) -> list[str]:
        return re.findall(r"^Traceback.*?(?=^\S|\Z)", self.log_text(), re.M | re.S)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log_file.close()


@pytest.fixture(scope="session")
def server():
    """The example project under gunicorn, throttles out of the way."""
    live = Server("races")
    yield live
    live.stop()


@pytest.fixture(scope="session")
def throttled_server():
    """A second gunicorn on the same database and cache, with a login rate of 10 a minute."""
    live = Server("throttled", {"LIVE_THROTTLE_RATES": json.dumps({"twostep_login": "10/min"})})
    yield live
    live.stop()


@pytest.fixture(autouse=True)
def no_server_errors(request):
    """Every test ends with no new traceback in the log of the servers it used."""
    used = [name for name in ("server", "throttled_server") if name in request.fixturenames]
    servers = [request.getfixturevalue(name) for name in used]
    before = [len(live.tracebacks()) for live in servers]
    yield
    if request.node.get_closest_marker("server_errors_expected"):
        return
    for live, seen in zip(servers, before, strict=True):
        found = live.tracebacks()[seen:]
        assert not found, f"{live.log} has new tracebacks:\n" + "\n".join(found[-3:])
