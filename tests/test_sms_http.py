"""
The HTTP SMS backend against a real HTTP server on loopback, started by the tests: what it
sends, and what the API answers when the provider fails, refuses or hangs.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from drf_twostep.models import DeliveredCode, SecurityEvent, TwoStepMethod
from tests.helpers import AUTH, assert_error, login, start_setup, token_client, verify

PHONE = "+14155552671"


class Provider:
    """A local SMS provider: records each request; answers ``status`` after ``delay`` s."""

    def __init__(self):
        self.requests = []
        self.status = 201
        self.delay = 0.0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                provider.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                time.sleep(provider.delay)
                self.send_response(provider.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "msg-1"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def code(self) -> str:
        return re.search(r"\b(\d{6})\b", self.requests[-1]["body"]["content"]).group(1)


@pytest.fixture
def provider(settings):
    provider = Provider()
    provider.thread.start()
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "SMS_BACKEND": "drf_twostep.sms.backends.http.SmsBackend",
        "SMS_HTTP_URL": provider.url,
        "SMS_HTTP_AUTH_HEADER": "Bearer provider-test-token",
        "SMS_HTTP_BODY": {
            "recipient": "{to}",
            "content": "{message}",
            "options": {"sender": "{sender}", "unicode": False, "tags": ["2sv"]},
        },
        "SMS_SENDER": "TestClinic",
        "SMS_HTTP_TIMEOUT": 1,
    }
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


@pytest.fixture
def alice(api, user):
    return token_client(login(api).json()["token"])


def test_the_provider_gets_a_json_post_with_the_auth_header(alice, provider):
    response = start_setup(alice, kind="sms", phone_number=PHONE)
    assert response.status_code == 201, response.content
    [request] = provider.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer provider-test-token"
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["body"]
    assert body["recipient"] == PHONE
    assert body["options"] == {"sender": "TestClinic", "unicode": False, "tags": ["2sv"]}
    assert "is your Test Clinic verification code" in body["content"]
    confirmed = alice.post(
        f"{AUTH}two-step/methods/{response.json()['id']}/confirm/",
        {"code": provider.code()},
        format="json",
    )
    assert confirmed.status_code == 200, confirmed.content


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_a_provider_error_is_a_503_and_nothing_is_left_set_up(alice, provider, status):
    provider.status = status
    response = start_setup(alice, kind="sms", phone_number=PHONE)
    assert_error(response, 503, "delivery_failed")
    assert len(provider.requests) == 1
    assert not TwoStepMethod.objects.exists() and not DeliveredCode.objects.exists()


def test_an_unreachable_provider_is_a_503(alice, provider, settings):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "SMS_HTTP_URL": f"http://127.0.0.1:{port}/"}
    assert_error(start_setup(alice, kind="sms", phone_number=PHONE), 503, "delivery_failed")
    assert not TwoStepMethod.objects.exists()


def test_a_provider_that_hangs_is_a_503_after_the_timeout(alice, provider):
    provider.delay = 2.5
    started = time.monotonic()
    assert_error(start_setup(alice, kind="sms", phone_number=PHONE), 503, "delivery_failed")
    assert time.monotonic() - started < 2.5
    assert not TwoStepMethod.objects.exists()


def test_a_failed_resend_keeps_the_previous_code_and_is_recorded(api, alice, provider):
    setup = start_setup(alice, kind="sms", phone_number=PHONE).json()
    alice.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/", {"code": provider.code()}, format="json"
    )
    challenge = login(api).json()["challenge"]  # sends the login code
    code = provider.code()
    provider.status = 500
    response = api.post(
        AUTH + "login/send-code/", {"challenge": challenge, "method": setup["id"]}, format="json"
    )
    assert_error(response, 503, "delivery_failed")
    assert SecurityEvent.objects.filter(kind="delivery_failed").count() == 1
    assert verify(api, challenge, code=code).status_code == 200


def test_a_failed_send_at_login_start_still_starts_the_login(api, alice, provider):
    setup = start_setup(alice, kind="sms", phone_number=PHONE).json()
    alice.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/", {"code": provider.code()}, format="json"
    )
    provider.status = 500
    body = login(api).json()
    assert body["status"] == "verification_required"
    provider.status = 201
    response = api.post(
        AUTH + "login/send-code/",
        {"challenge": body["challenge"], "method": setup["id"]},
        format="json",
    )
    assert response.status_code == 202
    assert verify(api, body["challenge"], code=provider.code()).status_code == 200
