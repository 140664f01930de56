"""Helpers shared by the tests: drive the real HTTP API, derive codes with pyotp."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pyotp
from rest_framework.test import APIClient

AUTH = "/api/auth/"
PASSWORD = "correct horse battery staple"


def run_concurrently(n: int, fn) -> list:
    """Call ``fn(i)`` for i in 0..n-1 in ``n`` threads released at once; their results in
    order. An exception in a thread is raised here."""
    start = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def run(i):
        start.wait()
        try:
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - raised again below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def assert_error(response, status, code):
    """An error body of the contract: the status, ``code`` and a non-empty ``detail``."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    return body


def totp_from_uri(uri: str) -> pyotp.TOTP:
    return pyotp.parse_uri(uri)


def secret_of(uri: str) -> str:
    return parse_qs(urlsplit(uri).query)["secret"][0]


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@dataclass
class TwoStepUser:
    user: object
    totp: pyotp.TOTP
    method_id: int
    token: str
    recovery_codes: list = field(default_factory=list)

    def code(self, offset_steps: int = 0) -> str:
        return self.totp.at(time.time() + offset_steps * self.totp.interval)

    def client(self) -> APIClient:
        return token_client(self.token)


def login(api, username="alice", password=PASSWORD):
    return api.post(AUTH + "login/", {"username": username, "password": password}, format="json")


def start_setup(client, password=PASSWORD, **extra):
    body = {"kind": "authenticator_app", "password": password, **extra}
    return client.post(AUTH + "two-step/methods/", body, format="json")


def enable_totp(api, user, clock) -> TwoStepUser:
    """Sign in with the password, set up and confirm an authenticator app, move past the step."""
    token = login(api, user.get_username()).json()["token"]
    client = token_client(token)
    setup = start_setup(client).json()
    totp = totp_from_uri(setup["otpauth_uri"])
    confirmed = client.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/", {"code": totp.now()}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    body = confirmed.json()
    # The confirmation used this step's code; later logins need the next one.
    clock.shift(totp.interval)
    return TwoStepUser(user, totp, setup["id"], body["token"], body["recovery_codes"])


def verify(api, challenge, **body):
    return api.post(AUTH + "login/verify/", {"challenge": challenge, **body}, format="json")


def _outer_from(words) -> str:
    """The table after the outermost FROM of a SELECT's words (not a subquery's)."""
    depth = 0
    for index, word in enumerate(words):
        if word.upper() == "FROM" and depth == 0:
            return words[index + 1]
        depth += word.count("(") - word.count(")")
    return ""


def statements(captured) -> list[str]:
    """The statements of a ``CaptureQueriesContext`` as ``VERB table`` (``BEGIN``, ``COMMIT``,
    ``SAVEPOINT`` and ``RELEASE`` alone), to assert a flow's statements exactly."""
    out = []
    for query in captured.captured_queries:
        words = query["sql"].replace('"', "").replace("`", "").split()
        verb = words[0].upper()
        if verb == "SELECT":
            table = _outer_from(words)
        elif verb == "INSERT":
            table = words[2]
        elif verb == "UPDATE":
            table = words[1]
        elif verb == "DELETE":
            table = words[2]
        else:
            out.append(verb)
            continue
        out.append(f"{verb} {table}")
    return out
