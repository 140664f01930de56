"""
Step-up (API.md, Re-verification): ``POST two-step/reverify/`` marks the request's credential as
verified now, for every issuer; organization changes ask for a verification within
``REVERIFY_MAX_AGE``, at no query of their own.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from drf_twostep.constants import EventKind
from drf_twostep.models import SecurityEvent, TwoStepProfile
from tests import test_issuers, test_organizations
from tests.helpers import AUTH, assert_error
from tests.test_issuers import (
    KNOX,
    sign_in_with_code,
    sign_in_with_password,
    turn_two_step_on,
    use,
)
from tests.test_organizations import make_user, members_url, policy_url

# The fixtures of those modules: every issuer, and a clinic with its admin (2SV on).
stack = test_issuers.stack
clinic = test_organizations.clinic
admin = test_organizations.admin

REVERIFY = AUTH + "two-step/reverify/"
SENSITIVE = "/api/sensitive/"  # RecentlyVerified.within(60)


def reverify(client, **body):
    return client.post(REVERIFY, body, format="json")


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_reverifying_makes_an_old_credential_fresh_for_every_issuer(stack, user, clock):
    _, totp = turn_two_step_on(stack, clock)
    client, signed_in = sign_in_with_code(stack, totp)
    clock.shift(61)
    assert_error(client.get(SENSITIVE), 403, "reverification_required")

    response = reverify(client, code=totp.now())
    assert response.status_code == 200, response.content
    body = response.json()
    profile = TwoStepProfile.objects.get(user=user)
    assert body["verified_at"] == profile.last_verified_at.isoformat().replace("+00:00", "Z")
    # Issuers whose credentials carry their verification time hand out a new one.
    assert ("token" in body) == (stack.name in ("jwt", "knox"))
    fresh = stack.client(APIClient(), body) if "token" in body else client
    assert fresh.get(SENSITIVE).status_code == 200
    assert SecurityEvent.objects.filter(user=user, kind=EventKind.REVERIFIED.value).count() == 1


def test_a_knox_token_is_replaced(user, clock, settings, monkeypatch):
    pytest.importorskip("knox")
    use(KNOX, settings, monkeypatch)
    _, totp = turn_two_step_on(KNOX, clock)
    client, _ = sign_in_with_code(KNOX, totp)
    clock.shift(totp.interval)  # the sign-in used this step's code
    body = reverify(client, code=totp.now()).json()
    assert set(body) == {"verified_at", "token", "expiry"}
    assert client.get("/api/me/").status_code == 401  # the old token is gone
    assert KNOX.client(APIClient(), body).get("/api/me/").status_code == 200


def test_a_jwt_keeps_its_sign_in_and_gets_a_new_auth_time(user, clock, settings, monkeypatch):
    pytest.importorskip("rest_framework_simplejwt")
    from rest_framework_simplejwt.tokens import AccessToken

    from tests.test_issuers import JWT

    use(JWT, settings, monkeypatch)
    _, totp = turn_two_step_on(JWT, clock)
    client, signed_in = sign_in_with_code(JWT, totp)
    before = AccessToken(signed_in["token"])
    clock.shift(120)
    body = reverify(client, code=totp.now()).json()
    after = AccessToken(body["token"])
    assert after["sid"] == before["sid"]
    assert after["auth_time"] == before["auth_time"] + 120
    assert "otp" in after["amr"]
    assert body["refresh"]


def test_a_wrong_code_is_refused_and_counts_toward_the_lockout(user_with_totp, settings):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "LOCKOUT_THRESHOLD": 2}
    client = user_with_totp.client()
    assert_error(reverify(client, code=wrong(user_with_totp.code())), 400, "invalid_code")
    assert TwoStepProfile.objects.get(user=user_with_totp.user).failed_attempts == 1
    assert_error(reverify(client, code=wrong(user_with_totp.code())), 400, "invalid_code")
    # Locked, as a sign-in would be: the right code waits too.
    assert_error(reverify(client, code=user_with_totp.code()), 429, "too_many_attempts")
    kinds = set(SecurityEvent.objects.filter(user=user_with_totp.user).values_list("kind", flat=1))
    assert {"verification_failed", "locked_out"} <= kinds
    assert "reverified" not in kinds


def test_a_replayed_code_is_refused(user_with_totp):
    client = user_with_totp.client()
    code = user_with_totp.code()
    assert reverify(client, code=code).status_code == 200
    assert_error(reverify(client, code=code), 400, "code_already_used")


def test_a_recovery_code_reverifies_and_is_replaced(user_with_totp):
    client = user_with_totp.client()
    body = reverify(client, recovery_code=user_with_totp.recovery_codes[0]).json()
    assert body["recovery_codes"] and body["recovery_codes"] != user_with_totp.recovery_codes
    assert_error(
        reverify(client, recovery_code=user_with_totp.recovery_codes[0]),
        400,
        "invalid_recovery_code",
    )


def test_without_two_step_there_is_nothing_to_reverify(stack, user):
    client = sign_in_with_password(stack)
    assert_error(reverify(client, code="123456"), 409, "two_step_not_enabled")


def test_anonymous_requests_are_refused(api, db):
    assert reverify(api, code="123456").status_code in (401, 403)
    assert reverify(api, code="123456").json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({}, 400, "invalid_code"),
        ({"code": ""}, 400, "invalid_code"),
        ({"code": None}, 400, "invalid_code"),
        ({"code": "12 34"}, 400, "invalid_code"),
        ({"code": ["123456"]}, 400, "invalid_code"),
        ({"code": "x" * 100_000}, 400, "invalid_code"),
        ({"code": "123456", "method": "one"}, 400, "invalid"),
        ({"code": "123456", "method": -1}, 400, "invalid"),
        ({"code": "123456", "method": 2**63}, 400, "invalid"),
        ({"recovery_code": "x" * 65}, 400, "invalid"),
        ({"recovery_code": 12}, 400, "invalid_recovery_code"),
    ],
)
def test_bad_input_is_a_400_with_a_code(user_with_totp, body, status, code):
    assert_error(reverify(user_with_totp.client(), **body), status, code)


def test_another_users_method_is_not_found(user_with_totp, other_user, api, clock):
    from tests.helpers import enable_totp

    bob = enable_totp(api, other_user, clock)
    response = reverify(user_with_totp.client(), code=bob.code(), method=bob.method_id)
    assert_error(response, 404, "not_found")


def test_a_method_that_sends_codes_is_not_for_reverifying(user_with_totp):
    from drf_twostep.models import TwoStepMethod

    sms = TwoStepMethod.objects.create(
        user=user_with_totp.user, kind="sms", status="active", destination="+14155552671"
    )
    response = reverify(user_with_totp.client(), code="123456", method=sms.pk)
    assert_error(response, 400, "method_not_allowed")
    # Without a method, the authenticator app is the one used.
    assert reverify(user_with_totp.client(), code=user_with_totp.code()).status_code == 200


def test_reverify_is_throttled_like_the_second_step(user_with_totp, settings):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "THROTTLE_RATES": {"twostep_verify": "1/min"}}
    client = user_with_totp.client()
    reverify(client, code=wrong(user_with_totp.code()))
    assert_error(reverify(client, code=user_with_totp.code()), 429, "throttled")


# -- organization changes ------------------------------------------------------------------


def test_policy_changes_and_resets_ask_for_a_recent_verification(admin, clinic, clock):
    client = admin.client()
    member = make_user("erin", clinic)
    # The confirmation that turned 2SV on counts as a verification, for 900 s.
    assert client.patch(policy_url(clinic.pk), {"required": True}, format="json").status_code == (
        200
    )
    clock.shift(901)
    body = assert_error(
        client.patch(policy_url(clinic.pk), {"required": False}, format="json"),
        403,
        "reverification_required",
    )
    assert body["max_age"] == 900
    assert_error(
        client.put(policy_url(clinic.pk), {"required": False}, format="json"),
        403,
        "reverification_required",
    )
    reset = f"{members_url(clinic.pk)}{member.pk}/reset-two-step/"
    assert_error(client.post(reset), 403, "reverification_required")
    # Reading stays open.
    assert client.get(policy_url(clinic.pk)).json()["required"] is True

    assert reverify(client, code=admin.code()).status_code == 200
    assert (
        client.patch(policy_url(clinic.pk), {"required": False}, format="json").json()["required"]
        is False
    )
    assert client.post(reset).status_code == 204


def test_the_age_follows_the_setting(admin, clinic, clock, settings):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "REVERIFY_MAX_AGE": 60}
    clock.shift(61)
    body = assert_error(
        admin.client().patch(policy_url(clinic.pk), {"required": True}, format="json"),
        403,
        "reverification_required",
    )
    assert body["max_age"] == 60


def test_the_check_adds_no_query_to_the_refused_change(
    admin, clinic, clock, django_assert_num_queries
):
    clock.shift(901)
    client = admin.client()
    # The token with its user and 2SV state, the organization, the admin check: the time of
    # the last verification comes with the token's query.
    with django_assert_num_queries(3):
        assert_error(
            client.patch(policy_url(clinic.pk), {"required": True}, format="json"),
            403,
            "reverification_required",
        )
