"""Helpers of the live suite: users made in the database, HTTP requests fired at once."""

from __future__ import annotations

import email
import re
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyotp
import requests

PASSWORD = "live-password-1"
VERIFY = "/api/auth/login/verify/"

# What the tests report, printed at the end of the run (conftest.pytest_terminal_summary).
REPORT: list[str] = []


class Race:
    """The answers of every round of one race, counted for the report."""

    def __init__(self, name, rounds):
        self.name, self.rounds = name, rounds
        self.totals, self.pids, self.started = Counter(), set(), time.monotonic()
        self.answers: list[Answer] = []

    def fire(self, base, calls) -> tuple[list[Answer], Counter]:
        """``fire(base, calls)``; the answers and their outcomes, counted."""
        answers = fire(base, calls)
        outcomes = summary(answers)
        self.totals += outcomes
        self.pids |= {answer.pid for answer in answers}
        return answers, outcomes

    def send(self, base, *args, **kwargs) -> Answer:
        """``call(base, ...)`` on its own, counted."""
        answer = call(base, *args, **kwargs)
        self.answers.append(answer)
        self.totals[answer.outcome] += 1
        self.pids.add(answer.pid)
        return answer

    def report(self) -> None:
        record(self.name, self.rounds, self.totals, self.pids, self.started)


def record(name, rounds, totals: Counter, pids: set, started: float) -> None:
    outcomes = ", ".join(f"{outcome} x{count}" for outcome, count in sorted(totals.items()))
    REPORT.append(
        f"{name}: {rounds} rounds in {time.monotonic() - started:.1f} s, "
        f"{len(pids)} workers answered; {outcomes}"
    )


@dataclass
class Answer:
    status: int
    body: dict
    pid: str

    @property
    def code(self) -> str:
        return self.body.get("code", "") if isinstance(self.body, dict) else ""

    @property
    def outcome(self) -> str:
        """``200``, or the status and the error code: ``400 code_already_used``."""
        return f"{self.status} {self.code}".strip() if self.status >= 300 else str(self.status)


def call(base, method, path, body=None, token=None, headers=None) -> Answer:
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Token {token}"
    response = requests.request(method, base + path, json=body, headers=headers, timeout=60)
    try:
        data = response.json()
    except ValueError:
        data = {}
    return Answer(response.status_code, data, response.headers.get("X-Worker-Pid", ""))


def fire(base, calls) -> list[Answer]:
    """Send every ``(method, path, body, token)`` of ``calls`` from its own thread, all
    released at the same moment; the answers in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))

    def one(args):
        barrier.wait()
        return call(base, *args)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def parallel(base, calls, width=10) -> list[Answer]:
    """Send ``calls`` from ``width`` threads, without lining them up."""
    with ThreadPoolExecutor(width) as pool:
        return list(pool.map(lambda args: call(base, *args), calls))


def summary(answers) -> Counter:
    return Counter(answer.outcome for answer in answers)


# -- users, made straight in the database ----------------------------------------------


def make_user(prefix, *, authenticator_apps=0, recovery_code=False):
    """A fresh user with ``authenticator_apps`` active TOTP methods (2SV on when > 0);
    returns ``(user, [(method, pyotp.TOTP)], recovery code or None)``."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from drf_twostep import crypto
    from drf_twostep.adapter import get_adapter
    from drf_twostep.constants import MethodKind, MethodStatus
    from drf_twostep.methods import recovery
    from drf_twostep.methods.totp import build_otpauth_uri
    from drf_twostep.models import TwoStepMethod, TwoStepProfile

    name = f"{prefix}-{secrets.token_hex(6)}"
    user = get_user_model().objects.create_user(
        username=name, password=PASSWORD, email=f"{name}@example.com"
    )
    adapter = get_adapter()
    now = timezone.now()
    methods = []
    for index in range(authenticator_apps):
        secret = pyotp.random_base32(32)
        uri = build_otpauth_uri(secret, adapter.get_account_name(user), adapter.get_issuer_name())
        method = TwoStepMethod.objects.create(
            user=user,
            kind=MethodKind.AUTHENTICATOR_APP.value,
            name=f"App {index}",
            status=MethodStatus.ACTIVE.value,
            is_default=index == 0,
            secret=crypto.encrypt(uri),
            confirmed_at=now,
        )
        methods.append((method, pyotp.TOTP(secret)))
    code = None
    if methods:
        TwoStepProfile.objects.create(user=user, enabled=True, enabled_at=now)
        if recovery_code:
            code = recovery.regenerate(user)[0]
    return user, methods, code


def login(base, user) -> Answer:
    return call(base, "POST", "/api/auth/login/", {"username": user.username, "password": PASSWORD})


def challenges(base, user, count) -> list[str]:
    """``count`` login challenges of ``user`` (2SV on)."""
    calls = [("POST", "/api/auth/login/", {"username": user.username, "password": PASSWORD})]
    answers = parallel(base, calls * count)
    assert all(a.body.get("status") == "verification_required" for a in answers), summary(answers)
    return [a.body["challenge"] for a in answers]


def signed_in(base, user, totp=None) -> str:
    """A token of ``user``: after the code of ``totp`` when 2SV is on."""
    answer = login(base, user)
    assert answer.status == 200, answer
    if answer.body["status"] != "verification_required":
        return answer.body["token"]
    verified = call(
        base,
        "POST",
        "/api/auth/login/verify/",
        {"challenge": answer.body["challenge"], "code": totp.now()},
    )
    assert verified.status == 200, verified
    return verified.body["token"]


def wrong_code(totp) -> str:
    """Six digits that no time step near now accepts."""
    now = time.time()
    near = {totp.at(now + 30 * step) for step in range(-3, 4)}
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if code not in near:
            return code


def emailed_code(mail_dir: Path, address, timeout=10.0) -> str:
    """The last code sent to ``address`` (the file email backend's messages)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for path in sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []:
            # The file backend writes each message, then a line of dashes.
            for text in re.split(r"^-{79}$", path.read_text(), flags=re.M):
                message = email.message_from_string(text.strip())
                match = re.match(r"(\d+) is your ", message.get("Subject", ""))
                if match and message.get("To") == address:
                    found.append(match.group(1))
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no code was emailed to {address}")
