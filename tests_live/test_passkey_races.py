"""
Passkeys across worker processes on a real database: the same assertion posted 10 times at
once, as the second step of one login and as a sign-in with the passkey alone, is accepted
exactly once (py_webauthn would accept it every time: the single use is the package's).
"""

from __future__ import annotations

import os

import pytest
from live import PASSWORD, VERIFY, Race, call, make_user, signed_in

from drf_twostep.methods import _webauthn
from drf_twostep.models import PasskeyChallenge, SecurityEvent, TwoStepProfile
from drf_twostep.settings import twostep_settings

pytest.importorskip("webauthn")
from tests.authenticator import SoftAuthenticator  # noqa: E402 (needs cbor2, from webauthn)

ROUNDS = int(os.environ.get("LIVE_PASSKEY_ROUNDS", "20"))
COPIES = 10
PASSWORDLESS = "/api/auth/login/passkey/"


def passkey_user(base):
    """A fresh user whose only method is a passkey, set up through the API."""
    user, _, _ = make_user("passkey")
    token = signed_in(base, user)
    authenticator = SoftAuthenticator(
        rp_id=twostep_settings.WEBAUTHN_RP_ID, origin=twostep_settings.WEBAUTHN_ORIGINS[0]
    )
    setup = call(
        base,
        "POST",
        "/api/auth/two-step/methods/",
        {"kind": "passkey", "password": PASSWORD},
        token,
    )
    assert setup.status == 201, setup
    credential = authenticator.create(setup.body["public_key"])
    confirm = f"/api/auth/two-step/methods/{setup.body['id']}/confirm/"
    confirmed = call(base, "POST", confirm, {"credential": credential}, token)
    assert confirmed.status == 200, confirmed
    return user, authenticator


def events(user, kind) -> int:
    return SecurityEvent.objects.filter(user=user, kind=kind).count()


def test_one_assertion_posted_10_times_as_the_second_step_signs_in_once(server):
    race = Race(f"one passkey assertion as the second step x{COPIES}", ROUNDS)
    for _ in range(ROUNDS):
        user, authenticator = passkey_user(server.url)
        started = call(
            server.url,
            "POST",
            "/api/auth/login/",
            {"username": user.username, "password": PASSWORD},
        )
        assert started.body["status"] == "verification_required", started
        credential = authenticator.get(started.body["passkey"])
        body = {"challenge": started.body["challenge"], "credential": credential}
        answers, outcomes = race.fire(server.url, [("POST", VERIFY, body)] * COPIES)
        # The login challenge's row lock orders them: the first completes it.
        assert outcomes == {"200": 1, "400 invalid_challenge": COPIES - 1}, outcomes
        assert events(user, "verification_succeeded") == 1
        [winner] = [a for a in answers if a.status == 200]
        assert call(server.url, "GET", "/api/me/", token=winner.body["token"]).status == 200
    race.report()


def test_one_assertion_posted_10_times_alone_signs_in_once(server):
    race = Race(f"one passkey assertion alone x{COPIES}", ROUNDS)
    for _ in range(ROUNDS):
        user, authenticator = passkey_user(server.url)
        options = call(server.url, "POST", "/api/auth/login/passkey/options/")
        assert options.status == 200, options
        credential = authenticator.get(options.body["public_key"])
        body = {"challenge": options.body["challenge"], "credential": credential}
        answers, outcomes = race.fire(server.url, [("POST", PASSWORDLESS, body)] * COPIES)
        # The ceremony challenge is deleted by the one that verifies: the rest find none.
        assert outcomes == {"200": 1, "400 invalid_passkey": COPIES - 1}, outcomes
        assert events(user, "verification_succeeded") == 1
        assert events(user, "verification_failed") == COPIES - 1
        assert TwoStepProfile.objects.get(user=user).failed_attempts == COPIES - 1
        # Used up: the ceremony's challenge is gone.
        digest = _webauthn.digest(_webauthn.decode(options.body["challenge"]))
        assert not PasskeyChallenge.objects.filter(digest=digest).exists()
        [winner] = [a for a in answers if a.status == 200]
        assert call(server.url, "GET", "/api/me/", token=winner.body["token"]).status == 200
    race.report()
