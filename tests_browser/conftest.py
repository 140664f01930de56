"""
The browser suite: the example project served by ``manage.py runserver`` on a free port, with
its own SQLite database (migrated and seeded with ``seed_demo``), driven by Debian's Chromium
through Playwright. Screenshots of each step go to ``artifacts/screenshots/``, the server's
log to ``artifacts/browser-server.log``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.serving import runserver

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_project"
ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
# Playwright's own browser download is not used: the system's Chromium is.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def pytest_configure(config):
    if not Path(CHROMIUM).exists():
        raise pytest.UsageError(
            f"browser tests: no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
        )
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Dates on screen in one known format, whatever the machine's locale and zone.
    return {**browser_context_args, "locale": "en-US", "timezone_id": "UTC"}


# The environment the example project is served with (its database), for manage.py commands.
SERVER_ENV: dict[str, str] = {}


def manage(*args: str) -> str:
    """Run ``manage.py`` of the served example project; its output."""
    run = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=SERVER_ENV,
        check=True,
        capture_output=True,
        text=True,
    )
    return run.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def example_env(tmp_path_factory):
    """The environment of the example project's commands: its fresh SQLite database."""
    database = tmp_path_factory.mktemp("browser") / "example.sqlite3"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_DEBUG": "1",  # runserver serves the app's static files
        "PYTHONUNBUFFERED": "1",
        # The demo's passkeys: RP ID localhost, origin http://localhost:<port>.
        "PORT": str(port),
        # Every sign-in of the suite comes from 127.0.0.1, more than the default 20 a minute.
        "DEMO_THROTTLE_RATES": json.dumps(
            dict.fromkeys(["twostep_login", "twostep_verify"], "1000/min")
        ),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    for name in ("WEBAUTHN_RP_ID", "WEBAUTHN_ORIGINS"):
        env.pop(name, None)
    SERVER_ENV.update(env)
    return env


def manage_on(env, *args: str) -> subprocess.CompletedProcess:
    """Run ``manage.py`` of the example project on the browser suite's database."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=EXAMPLE, env=env, check=True, capture_output=True
    )


@pytest.fixture(scope="session")
def example_manage(example_env):
    """``example_manage("shell", "-c", code)``: a command of the example project, on the
    database the live server serves."""
    return lambda *args: manage_on(example_env, *args)


@pytest.fixture(scope="session")
def live_server(example_env):
    """The example project's URL, served from a fresh database seeded by ``seed_demo``."""
    env = example_env
    manage_on(env, "migrate", "--noinput", "-v0")
    manage_on(env, "seed_demo")
    port = int(env["PORT"])
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "browser-server.log"
    with runserver(EXAMPLE, env, port, log) as url:
        yield url


@pytest.fixture(scope="session")
def base_url(live_server):
    """``page.goto("/")`` opens the live server (pytest-playwright reads ``base_url``)."""
    return live_server


@pytest.fixture
def shot(request):
    """``shot(page, "name")`` saves a full-page screenshot, numbered in the test's order."""
    counter = iter(range(1, 100))
    test = request.node.originalname.removeprefix("test_")

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{test}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# -- passkeys ---------------------------------------------------------------------------------


@pytest.fixture
def localhost(live_server) -> str:
    """The demo's URL at localhost, where its passkeys work (their RP ID)."""
    port = urlsplit(live_server).port
    return f"http://localhost:{port}"


@pytest.fixture
def authenticator(page: Page):
    """A virtual authenticator in the page's browser: ``(CDP session, authenticator id)``."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "ctap2Version": "ctap2_1",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def credentials(authenticator) -> list:
    """The credentials the virtual authenticator holds."""
    cdp, authenticator_id = authenticator
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]


def add_first_passkey(page: Page, localhost: str, username: str, password: str) -> None:
    """Sign in to the demo at localhost with the password of ``username`` (who has no 2SV)
    and add a passkey on My Account, which turns 2SV on; ends on My Account."""
    page.goto(localhost + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"My Account: {username}")
    page.get_by_role("link", name="Add a passkey").click()
    page.get_by_label("Your password").fill(password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2-Step Verification is on")
    page.get_by_role("button", name=re.compile("^I've saved it")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"My Account: {username}")
