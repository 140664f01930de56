"""
Trusted devices across worker processes on a real database: one device token sent to
``login/`` by 10 clients at the same moment. Forgotten (``DELETE two-step/devices/{id}/``)
before, it lets none of them in: each gets the second step, as without a token. Valid, it
lets each of them in once: 10 sign-ins, each with a working credential and its own event,
one device row whose ``last_used_at`` moved, one token row, no new-device event (the clients
are the one that remembered the device), and nothing else written twice.
"""

from __future__ import annotations

import os

from live import PASSWORD, VERIFY, Race, call, login, make_user

from drf_twostep.models import LoginChallenge, SecurityEvent, TrustedDevice, TwoStepProfile

ROUNDS = int(os.environ.get("LIVE_DEVICE_ROUNDS", "10"))
COPIES = 10
LOGIN = "/api/auth/login/"
DEVICES = "/api/auth/two-step/devices/"


def remembered(base):
    """A fresh user with 2SV on who passed a second step with ``remember_device``:
    ``(user, their token, the device token)``."""
    user, [(_method, totp)], _ = make_user("device", authenticator_apps=1)
    challenge = login(base, user).body["challenge"]
    body = {"challenge": challenge, "code": totp.now(), "remember_device": True}
    verified = call(base, "POST", VERIFY, body)
    assert verified.status == 200, verified
    assert verified.body["device_token"], "the example project allows trusted devices"
    return user, verified.body["token"], verified.body["device_token"]


def with_device(user, device_token):
    return (
        "POST",
        LOGIN,
        {"username": user.username, "password": PASSWORD, "device_token": device_token},
    )


def kinds(user) -> list[str]:
    return list(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))


def test_a_forgotten_device_token_from_10_clients_lets_none_in(server):
    race = Race(f"a forgotten device token from {COPIES} clients", ROUNDS)
    for _ in range(ROUNDS):
        user, token, device_token = remembered(server.url)
        [device] = call(server.url, "GET", DEVICES, token=token).body
        assert call(server.url, "DELETE", f"{DEVICES}{device['id']}/", token=token).status == 204
        before = kinds(user)
        answers, outcomes = race.fire(server.url, [with_device(user, device_token)] * COPIES)
        assert outcomes == {"200": COPIES}, outcomes
        # The normal second step, as a login without a token answers it.
        plain = login(server.url, user).body
        for answer in answers:
            assert answer.body["status"] == "verification_required", answer
            assert "token" not in answer.body
            assert set(answer.body) == set(plain)
            assert answer.body["methods"] == plain["methods"]
        assert len({answer.body["challenge"] for answer in answers}) == COPIES
        assert LoginChallenge.objects.filter(user=user, completed_at=None).count() == COPIES + 1
        # Nothing signed in: no event, no device, no verification.
        assert kinds(user) == before
        assert not TrustedDevice.objects.filter(user=user).exists()
    race.report()


def test_a_valid_device_token_from_10_clients_signs_each_in_once(server):
    race = Race(f"a valid device token from {COPIES} clients", ROUNDS)
    for _ in range(ROUNDS):
        user, _token, device_token = remembered(server.url)
        device = TrustedDevice.objects.get(user=user)
        assert device.last_used_at is None
        verified_before = TwoStepProfile.objects.get(user=user).last_verified_at
        answers, outcomes = race.fire(server.url, [with_device(user, device_token)] * COPIES)
        assert outcomes == {"200": COPIES}, outcomes
        for answer in answers:
            assert answer.body["status"] == "authenticated", answer
            me = call(server.url, "GET", "/api/me/", token=answer.body["token"])
            assert me.status == 200, me
        # Each sign-in recorded once, none lost; the device's client is known (the one that
        # remembered it), so no new-device event.
        events = SecurityEvent.objects.filter(user=user, kind="trusted_device_used")
        assert events.count() == COPIES
        assert len(set(events.values_list("client_key", flat=True))) == 1
        assert "new_device_sign_in" not in kinds(user)
        # One device, used; the profile's verification moved on; no challenge was made.
        device = TrustedDevice.objects.get(user=user)
        assert device.last_used_at is not None and device.last_used_at > device.created_at
        profile = TwoStepProfile.objects.get(user=user)
        assert profile.last_verified_at > verified_before
        assert profile.failed_attempts == 0 and profile.locked_until is None
        assert LoginChallenge.objects.filter(user=user, completed_at=None).count() == 0
        assert _credential_rows(user) == 1
    race.report()


def _credential_rows(user) -> int:
    """The user's stored credentials of the example project's issuer (one DRF token)."""
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(user=user).count()
