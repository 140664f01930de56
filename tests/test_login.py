"""
Signing in: ``POST login/``, ``POST login/verify/`` and ``POST logout/`` of API.md, row by row.
"""

from __future__ import annotations

import base64
import re
import string

import pytest
from django.contrib.auth import get_user_model, user_logged_in
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from rest_framework.authtoken.models import Token

from drf_twostep.models import (
    LoginChallenge,
    OrganizationPolicy,
    RecoveryCode,
    SecurityEvent,
    TwoStepProfile,
)
from drf_twostep.settings import DEFAULTS
from tests.helpers import AUTH, PASSWORD, assert_error, enable_totp, login, token_client, verify

LOGIN = AUTH + "login/"
VERIFY = AUTH + "login/verify/"
LOGOUT = AUTH + "logout/"
ME = "/api/me/"
RECOVERY_CODE_FORMAT = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4})+$")
URLSAFE = set(string.ascii_letters + string.digits + "-_")


# -- helpers -------------------------------------------------------------------------------


def start(api, username="alice", password=PASSWORD) -> str:
    """A fresh login for a user with 2SV on; returns the challenge."""
    response = login(api, username, password)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "verification_required", body
    return body["challenge"]


def wrong_code(two_step_user) -> str:
    """A well-formed code that no step near the current time produces."""
    near = {two_step_user.code(offset) for offset in range(-3, 4)}
    candidate = int(two_step_user.code())
    while f"{candidate:06d}" in near:
        candidate = (candidate + 1) % 10**6
    return f"{candidate:06d}"


def twostep_settings(**values):
    return {"ISSUER_NAME": "Test Clinic", **values}


def retry_after(response) -> int:
    assert "Retry-After" in response.headers, response.headers
    value = int(response.headers["Retry-After"])
    assert value > 0
    return value


def profile_of(user) -> TwoStepProfile:
    return TwoStepProfile.objects.get(user=user)


def database_rows():
    """Every row of every table, as text."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                yield table, repr(row)


class EmailBackend(ModelBackend):
    """An authentication backend that takes the email address as the username."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        try:
            user = get_user_model().objects.get(email__iexact=username)
        except get_user_model().DoesNotExist:
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


EMAIL_BACKEND = f"{__name__}.EmailBackend"


# -- POST login/ ---------------------------------------------------------------------------


def test_wrong_password_is_invalid_credentials(api, user):
    response = login(api, "alice", "not the password")
    body = assert_error(response, 400, "invalid_credentials")
    assert "token" not in body and "challenge" not in body


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(api, user):
    wrong_password = login(api, "alice", "not the password")
    unknown_user = login(api, "nobody", PASSWORD)
    assert_error(unknown_user, 400, "invalid_credentials")
    assert unknown_user.status_code == wrong_password.status_code
    assert unknown_user.json() == wrong_password.json()


def test_user_without_two_step_is_authenticated_with_a_working_token(api, user):
    response = login(api)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"status", "token", "two_step"}
    assert body["status"] == "authenticated"
    assert body["token"] == Token.objects.get(user=user).key
    two_step = body["two_step"]
    assert two_step["enabled"] is False
    assert two_step["required"] is False
    assert two_step["methods"] == []
    assert two_step["default_method"] is None
    assert two_step["recovery_codes"]["remaining"] == 0
    assert two_step["server_time"]
    me = token_client(body["token"]).get(ME)
    assert me.status_code == 200
    assert me.json() == {"username": "alice"}


def test_user_with_two_step_gets_a_challenge_and_no_credential(api, user_with_totp):
    tokens_before = set(Token.objects.values_list("key", flat=True))
    response = login(api)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"status", "challenge", "expires_in", "methods", "default_method"}
    assert body["status"] == "verification_required"
    assert body["expires_in"] == 300
    assert body["default_method"] == user_with_totp.method_id
    [method] = body["methods"]
    assert method["id"] == user_with_totp.method_id
    assert method["kind"] == "authenticator_app"
    assert method["status"] == "active"
    assert method["is_default"] is True
    assert not {"secret", "setup_key", "otpauth_uri", "qr_code"} & set(method)
    # No credential anywhere in the answer, and none minted.
    assert set(Token.objects.values_list("key", flat=True)) == tokens_before
    assert not any(key in response.content.decode() for key in tokens_before)


def test_challenge_carries_at_least_128_bits(api, user_with_totp):
    challenge = start(api)
    assert set(challenge) <= URLSAFE
    # urlsafe base64 carries 6 bits per character.
    assert len(challenge) * 6 >= 128
    raw = base64.urlsafe_b64decode(challenge + "=" * (-len(challenge) % 4))
    assert len(raw) >= 16
    assert start(api) != challenge


def test_challenge_lifetime_follows_the_setting(api, user_with_totp, settings, clock):
    settings.DRF_TWOSTEP = twostep_settings(CHALLENGE_LIFETIME=120)
    response = login(api)
    assert response.json()["expires_in"] == 120
    clock.shift(120)
    assert_error(
        verify(api, response.json()["challenge"], code=user_with_totp.code()),
        400,
        "challenge_expired",
    )


def test_challenge_is_stored_only_as_a_digest(api, user_with_totp):
    challenge = start(api)
    row = LoginChallenge.objects.get(user=user_with_totp.user, completed_at=None)
    assert row.digest != challenge
    assert re.fullmatch(r"[0-9a-f]{64}", row.digest)
    leaks = [table for table, text in database_rows() if challenge in text]
    assert leaks == []


def test_challenge_remembers_the_authentication_backend(api, user_with_totp):
    start(api)
    row = LoginChallenge.objects.get(user=user_with_totp.user, completed_at=None)
    assert row.backend == "django.contrib.auth.backends.ModelBackend"


def test_login_completes_with_the_backend_that_accepted_the_password(api, user_with_totp, settings):
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", EMAIL_BACKEND]
    challenge = start(api, "alice@example.com")
    row = LoginChallenge.objects.get(user=user_with_totp.user, completed_at=None)
    assert row.backend == EMAIL_BACKEND

    seen = []

    def receiver(sender, request, user, **kwargs):
        seen.append(getattr(user, "backend", None))

    user_logged_in.connect(receiver)
    try:
        response = verify(api, challenge, code=user_with_totp.code())
    finally:
        user_logged_in.disconnect(receiver)
    assert response.status_code == 200, response.content
    assert seen == [EMAIL_BACKEND]


def test_user_whose_organization_requires_two_step_gets_setup_required(api, user):
    clinic = Group.objects.create(name="Demo Clinic")
    user.groups.add(clinic)
    OrganizationPolicy.objects.create(organization=clinic, required=True)
    response = login(api)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"status", "token", "two_step"}
    assert body["status"] == "setup_required"
    assert body["token"] == Token.objects.get(user=user).key
    assert body["two_step"]["enabled"] is False
    assert body["two_step"]["required"] is True
    assert body["two_step"]["required_by"] == [{"id": str(clinic.pk), "name": "Demo Clinic"}]
    client = token_client(body["token"])
    assert client.get(AUTH + "two-step/").status_code == 200
    assert_error(client.get(ME), 403, "two_step_setup_required")


def test_organization_without_a_requirement_does_not_change_login(api, user):
    clinic = Group.objects.create(name="Demo Clinic")
    user.groups.add(clinic)
    OrganizationPolicy.objects.create(organization=clinic, required=False)
    body = login(api).json()
    assert body["status"] == "authenticated"
    assert token_client(body["token"]).get(ME).status_code == 200


# -- POST login/verify/: codes -------------------------------------------------------------


def test_right_code_authenticates_with_a_token_that_works(api, user_with_totp):
    response = verify(api, start(api), code=user_with_totp.code())
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"status", "token", "two_step"}
    assert body["status"] == "authenticated"
    assert body["two_step"]["enabled"] is True
    assert body["two_step"]["default_method"] == user_with_totp.method_id
    me = token_client(body["token"]).get(ME)
    assert me.status_code == 200
    assert me.json() == {"username": "alice"}


def test_right_code_for_a_named_method_authenticates(api, user_with_totp):
    response = verify(api, start(api), code=user_with_totp.code(), method=user_with_totp.method_id)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "authenticated"


def test_successful_verification_is_recorded(api, user_with_totp):
    verify(api, start(api), code=user_with_totp.code())
    event = SecurityEvent.objects.filter(user=user_with_totp.user).first()
    assert event.kind == "verification_succeeded"
    assert event.method_id == user_with_totp.method_id


def test_wrong_code_is_invalid_code_and_mentions_the_clock(api, user_with_totp):
    response = verify(api, start(api), code=wrong_code(user_with_totp))
    body = assert_error(response, 400, "invalid_code")
    assert "clock" in body["detail"].lower()
    assert "token" not in body
    assert (
        SecurityEvent.objects.filter(user=user_with_totp.user, kind="verification_failed").count()
        == 1
    )


def test_replayed_code_is_rejected(api, user_with_totp):
    code = user_with_totp.code()
    assert verify(api, start(api), code=code).status_code == 200
    assert_error(verify(api, start(api), code=code), 400, "code_already_used")


def test_code_of_an_older_step_after_a_newer_one_is_rejected(api, user_with_totp):
    assert verify(api, start(api), code=user_with_totp.code(+1)).status_code == 200
    assert_error(verify(api, start(api), code=user_with_totp.code()), 400, "code_already_used")


def test_code_of_a_newer_step_after_an_older_one_is_accepted(api, user_with_totp):
    assert verify(api, start(api), code=user_with_totp.code()).status_code == 200
    assert verify(api, start(api), code=user_with_totp.code(+1)).status_code == 200


@pytest.mark.parametrize("separator", [" ", "-"])
def test_code_with_a_space_or_dash_is_accepted(api, user_with_totp, separator):
    code = user_with_totp.code()
    response = verify(api, start(api), code=code[:3] + separator + code[3:])
    assert response.status_code == 200, response.content


def test_code_with_several_spaces_and_dashes_is_accepted(api, user_with_totp):
    code = user_with_totp.code()
    response = verify(api, start(api), code=f" {code[:2]}-{code[2:4]} {code[4:]} ")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "code",
    [
        "abcdef",
        "12345a",
        "123.456",
        "１２３４５６",
        "",
        "   ",
        "--",
        "+123456",
        "1e5678",
        True,
        12.5,
        [],
        {},
    ],
    ids=repr,
)
def test_code_that_is_not_digits_is_invalid_code(api, user_with_totp, code):
    assert_error(verify(api, start(api), code=code), 400, "invalid_code")


def test_code_of_the_right_digits_with_a_letter_is_invalid_code(api, user_with_totp):
    code = user_with_totp.code()
    assert_error(verify(api, start(api), code=code[:5] + "x"), 400, "invalid_code")


def test_missing_code_is_invalid_code(api, user_with_totp):
    response = api.post(VERIFY, {"challenge": start(api)}, format="json")
    assert_error(response, 400, "invalid_code")


def test_null_code_is_invalid_code(api, user_with_totp):
    assert_error(verify(api, start(api), code=None), 400, "invalid_code")


# -- the time window -----------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_code_within_one_step_of_the_server_time_is_accepted(api, user_with_totp, clock, offset):
    # Move past the step whose code confirmed the method, so that T-1 has never been used.
    clock.shift(30)
    response = verify(api, start(api), code=user_with_totp.code(offset))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("offset", [-2, 2])
def test_code_two_steps_from_the_server_time_is_rejected(api, user_with_totp, clock, offset):
    clock.shift(60)
    assert_error(verify(api, start(api), code=user_with_totp.code(offset)), 400, "invalid_code")


def test_window_follows_the_setting(api, user_with_totp, settings):
    settings.DRF_TWOSTEP = twostep_settings(TOTP_WINDOW=0)
    assert_error(verify(api, start(api), code=user_with_totp.code(+1)), 400, "invalid_code")
    assert verify(api, start(api), code=user_with_totp.code()).status_code == 200


# -- POST login/verify/: challenges --------------------------------------------------------


def test_unknown_challenge_is_invalid_challenge(api, user_with_totp):
    response = verify(api, "x" * 43, code=user_with_totp.code())
    assert_error(response, 400, "invalid_challenge")


def test_tampered_challenge_is_invalid_challenge(api, user_with_totp):
    challenge = start(api)
    tampered = challenge[:-1] + ("A" if challenge[-1] != "A" else "B")
    assert_error(verify(api, tampered, code=user_with_totp.code()), 400, "invalid_challenge")
    # The real one still works.
    assert verify(api, challenge, code=user_with_totp.code()).status_code == 200


def test_challenge_completes_once(api, user_with_totp, clock):
    challenge = start(api)
    assert verify(api, challenge, code=user_with_totp.code()).status_code == 200
    clock.shift(30)
    assert_error(verify(api, challenge, code=user_with_totp.code()), 400, "invalid_challenge")


def test_challenge_completed_with_a_recovery_code_cannot_be_used_again(api, user_with_totp):
    challenge = start(api)
    first = verify(api, challenge, recovery_code=user_with_totp.recovery_codes[0])
    assert first.status_code == 200, first.content
    replacement = first.json()["recovery_codes"][0]
    assert_error(verify(api, challenge, recovery_code=replacement), 400, "invalid_challenge")


def test_challenge_works_until_its_lifetime_ends(api, user_with_totp, clock):
    challenge = start(api)
    clock.shift(DEFAULTS["CHALLENGE_LIFETIME"] - 1)
    assert verify(api, challenge, code=user_with_totp.code()).status_code == 200


def test_challenge_older_than_its_lifetime_is_expired(api, user_with_totp, clock):
    challenge = start(api)
    clock.shift(DEFAULTS["CHALLENGE_LIFETIME"])
    body = assert_error(
        verify(api, challenge, code=user_with_totp.code()), 400, "challenge_expired"
    )
    assert "token" not in body


# -- POST login/verify/: recovery codes ----------------------------------------------------


def test_recovery_code_signs_in_and_issues_one_replacement(api, user_with_totp):
    [old] = user_with_totp.recovery_codes
    response = verify(api, start(api), recovery_code=old)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "authenticated"
    assert token_client(body["token"]).get(ME).status_code == 200
    [replacement] = body["recovery_codes"]
    assert RECOVERY_CODE_FORMAT.match(replacement)
    assert replacement != old
    assert RecoveryCode.objects.filter(user=user_with_totp.user).count() == 1
    assert body["two_step"]["recovery_codes"]["remaining"] == 1
    assert old not in "".join(text for _, text in database_rows())
    assert replacement not in "".join(text for _, text in database_rows())


def test_used_recovery_code_no_longer_works_and_its_replacement_does(api, user_with_totp):
    [old] = user_with_totp.recovery_codes
    replacement = verify(api, start(api), recovery_code=old).json()["recovery_codes"][0]
    assert_error(verify(api, start(api), recovery_code=old), 400, "invalid_recovery_code")
    response = verify(api, start(api), recovery_code=replacement)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "spelling",
    [
        str.lower,
        lambda c: c.replace("-", ""),
        lambda c: c.replace("-", " "),
        lambda c: c.lower().replace("-", ""),
    ],
    ids=["lower", "no-dashes", "spaces", "lower-no-dashes"],
)
def test_recovery_code_is_case_and_dash_insensitive(api, user_with_totp, spelling):
    [code] = user_with_totp.recovery_codes
    response = verify(api, start(api), recovery_code=spelling(code))
    assert response.status_code == 200, response.content


def test_recovery_code_use_is_recorded_and_notified(
    api, user_with_totp, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = verify(api, start(api), recovery_code=user_with_totp.recovery_codes[0])
    assert response.status_code == 200, response.content
    events = SecurityEvent.objects.filter(user=user_with_totp.user, kind="recovery_code_used")
    assert events.count() == 1
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "recovery code" in message.subject.lower()


@pytest.mark.parametrize(
    "recovery_code",
    ["AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", "AAAA-BBBB", "not a code", "0000-1111-8888-9999-0000-1111"],
)
def test_wrong_recovery_code_is_invalid_recovery_code(api, user_with_totp, recovery_code):
    response = verify(api, start(api), recovery_code=recovery_code)
    body = assert_error(response, 400, "invalid_recovery_code")
    assert "token" not in body
    assert RecoveryCode.objects.filter(user=user_with_totp.user).count() == 1


def test_recovery_code_of_another_user_is_rejected(api, user_with_totp, other_user, clock):
    bob = enable_totp(api, other_user, clock)
    response = verify(api, start(api), recovery_code=bob.recovery_codes[0])
    assert_error(response, 400, "invalid_recovery_code")
    # Bob's code is untouched.
    assert verify(api, start(api, "bob"), recovery_code=bob.recovery_codes[0]).status_code == 200


def test_wrong_recovery_codes_count_toward_the_lockout(api, user_with_totp):
    challenge = start(api)
    for _ in range(DEFAULTS["LOCKOUT_THRESHOLD"]):
        verify(api, challenge, recovery_code="AAAA-BBBB-CCCC-DDDD-EEEE-FFFF")
    response = verify(api, start(api), recovery_code=user_with_totp.recovery_codes[0])
    assert_error(response, 429, "too_many_attempts")


# -- lockout -------------------------------------------------------------------------------


def test_wrong_codes_count_on_the_challenge_and_the_user(api, user_with_totp):
    challenge = start(api)
    for _ in range(2):
        assert_error(verify(api, challenge, code=wrong_code(user_with_totp)), 400, "invalid_code")
    row = LoginChallenge.objects.get(user=user_with_totp.user, completed_at=None)
    assert row.failed_attempts == 2
    assert profile_of(user_with_totp.user).failed_attempts == 2


def test_new_login_does_not_reset_the_user_count(api, user_with_totp):
    threshold = DEFAULTS["LOCKOUT_THRESHOLD"]
    for _ in range(threshold - 1):
        assert_error(verify(api, start(api), code=wrong_code(user_with_totp)), 400, "invalid_code")
    assert profile_of(user_with_totp.user).failed_attempts == threshold - 1
    # The failure that reaches the threshold is still answered as a wrong code...
    assert_error(verify(api, start(api), code=wrong_code(user_with_totp)), 400, "invalid_code")
    # ...and from then on even the right code is refused, on any new login.
    response = verify(api, start(api), code=user_with_totp.code())
    assert_error(response, 429, "too_many_attempts")
    assert retry_after(response) == DEFAULTS["LOCKOUT_BASE_SECONDS"]
    assert SecurityEvent.objects.filter(user=user_with_totp.user, kind="locked_out").count() == 1


def test_after_the_threshold_even_the_right_code_is_too_many_attempts(api, user_with_totp):
    challenge = start(api)
    for _ in range(DEFAULTS["LOCKOUT_THRESHOLD"]):
        verify(api, challenge, code=wrong_code(user_with_totp))
    for attempt in (challenge, start(api)):
        response = verify(api, attempt, code=user_with_totp.code())
        body = assert_error(response, 429, "too_many_attempts")
        assert "token" not in body
        assert 0 < retry_after(response) <= DEFAULTS["LOCKOUT_BASE_SECONDS"]


def test_lockout_threshold_follows_the_setting(api, user_with_totp, settings):
    settings.DRF_TWOSTEP = twostep_settings(LOCKOUT_THRESHOLD=2)
    challenge = start(api)
    assert_error(verify(api, challenge, code=wrong_code(user_with_totp)), 400, "invalid_code")
    assert verify(api, challenge, code=wrong_code(user_with_totp)).status_code == 400
    assert_error(verify(api, challenge, code=user_with_totp.code()), 429, "too_many_attempts")


def test_right_code_works_after_the_lock_expires_and_resets_the_count(api, user_with_totp, clock):
    for _ in range(DEFAULTS["LOCKOUT_THRESHOLD"]):
        verify(api, start(api), code=wrong_code(user_with_totp))
    locked = verify(api, start(api), code=user_with_totp.code())
    wait = retry_after(locked)
    clock.shift(wait - 1)
    assert_error(verify(api, start(api), code=user_with_totp.code()), 429, "too_many_attempts")
    clock.shift(1)
    response = verify(api, start(api), code=user_with_totp.code())
    assert response.status_code == 200, response.content
    profile = profile_of(user_with_totp.user)
    assert profile.failed_attempts == 0
    assert profile.locked_until is None
    # With the count reset, one wrong code no longer locks.
    assert_error(verify(api, start(api), code=wrong_code(user_with_totp)), 400, "invalid_code")
    clock.shift(30)
    assert verify(api, start(api), code=user_with_totp.code()).status_code == 200


def lock_and_wait(api, two_step_user) -> int:
    """A wrong code, then the right one; returns the Retry-After of the lock."""
    assert_error(verify(api, start(api), code=wrong_code(two_step_user)), 400, "invalid_code")
    return retry_after(assert_locked(verify(api, start(api), code=two_step_user.code())))


def assert_locked(response):
    assert_error(response, 429, "too_many_attempts")
    return response


def test_lockout_backoff_grows_after_each_further_failure(api, user_with_totp, clock):
    for _ in range(DEFAULTS["LOCKOUT_THRESHOLD"] - 1):
        verify(api, start(api), code=wrong_code(user_with_totp))
    waits = []
    for _ in range(4):
        waits.append(lock_and_wait(api, user_with_totp))
        clock.shift(waits[-1])
    assert waits == sorted(waits)
    assert len(set(waits)) == len(waits)
    assert waits[0] == DEFAULTS["LOCKOUT_BASE_SECONDS"]
    assert waits[1] == 2 * waits[0]


def test_lockout_backoff_stops_at_the_maximum(api, user_with_totp, clock, settings):
    settings.DRF_TWOSTEP = twostep_settings(
        LOCKOUT_THRESHOLD=1, LOCKOUT_BASE_SECONDS=60, LOCKOUT_MAX_SECONDS=150
    )
    waits = []
    for _ in range(4):
        waits.append(lock_and_wait(api, user_with_totp))
        clock.shift(waits[-1])
    assert waits == [60, 120, 150, 150]


def test_challenge_refuses_codes_after_its_own_limit(api, user_with_totp, settings):
    settings.DRF_TWOSTEP = twostep_settings(MAX_ATTEMPTS_PER_CHALLENGE=3, LOCKOUT_THRESHOLD=100)
    challenge = start(api)
    for _ in range(3):
        assert_error(verify(api, challenge, code=wrong_code(user_with_totp)), 400, "invalid_code")
    response = verify(api, challenge, code=user_with_totp.code())
    body = assert_error(response, 429, "too_many_attempts")
    assert "token" not in body
    retry_after(response)
    # The user is not locked: a new login with the right code goes through.
    assert profile_of(user_with_totp.user).locked_until is None
    assert verify(api, start(api), code=user_with_totp.code()).status_code == 200


def test_challenge_limit_applies_by_default(api, user_with_totp, settings):
    settings.DRF_TWOSTEP = twostep_settings(LOCKOUT_THRESHOLD=100)
    challenge = start(api)
    for _ in range(DEFAULTS["MAX_ATTEMPTS_PER_CHALLENGE"]):
        assert_error(verify(api, challenge, code=wrong_code(user_with_totp)), 400, "invalid_code")
    assert_error(verify(api, challenge, code=user_with_totp.code()), 429, "too_many_attempts")


def test_lockout_of_one_user_does_not_affect_another(api, user_with_totp, other_user, clock):
    bob = enable_totp(api, other_user, clock)
    for _ in range(DEFAULTS["LOCKOUT_THRESHOLD"]):
        verify(api, start(api), code=wrong_code(user_with_totp))
    assert_error(verify(api, start(api), code=user_with_totp.code()), 429, "too_many_attempts")
    assert verify(api, start(api, "bob"), code=bob.code()).status_code == 200


# -- throttling ----------------------------------------------------------------------------


def test_login_is_throttled_at_the_configured_rate(api, user, settings):
    settings.DRF_TWOSTEP = twostep_settings(THROTTLE_RATES={"twostep_login": "2/min"})
    assert login(api).status_code == 200
    assert login(api, "alice", "wrong").status_code == 400
    response = login(api)
    assert_error(response, 429, "throttled")
    retry_after(response)


def test_login_throttle_rate_is_read_at_request_time(api, user, settings):
    for _ in range(3):
        assert login(api).status_code == 200
    settings.DRF_TWOSTEP = twostep_settings(THROTTLE_RATES={"twostep_login": "3/min"})
    assert_error(login(api), 429, "throttled")
    settings.DRF_TWOSTEP = twostep_settings(THROTTLE_RATES={"twostep_login": "5/min"})
    assert login(api).status_code == 200


def test_login_throttle_frees_up_after_its_period(api, user, settings, clock):
    settings.DRF_TWOSTEP = twostep_settings(THROTTLE_RATES={"twostep_login": "1/min"})
    assert login(api).status_code == 200
    wait = retry_after(assert_error_response(login(api), 429, "throttled"))
    clock.shift(wait)
    assert login(api).status_code == 200


def assert_error_response(response, status, code):
    assert_error(response, status, code)
    return response


def test_verify_is_throttled_at_the_configured_rate(api, user_with_totp, settings):
    challenge = start(api)
    settings.DRF_TWOSTEP = twostep_settings(THROTTLE_RATES={"twostep_verify": "2/min"})
    assert_error(verify(api, "x" * 43, code="123456"), 400, "invalid_challenge")
    assert_error(verify(api, "y" * 43, code="123456"), 400, "invalid_challenge")
    response = verify(api, challenge, code=user_with_totp.code())
    assert_error(response, 429, "throttled")
    retry_after(response)
    # Throttled requests do not touch the challenge: it still works once the rate allows.
    settings.DRF_TWOSTEP = twostep_settings()
    assert verify(api, challenge, code=user_with_totp.code()).status_code == 200


# -- POST logout/ --------------------------------------------------------------------------


def test_logout_revokes_the_token(api, user):
    token = login(api).json()["token"]
    client = token_client(token)
    response = client.post(LOGOUT)
    assert response.status_code == 204
    assert not response.content
    assert client.get(ME).status_code == 401
    assert not Token.objects.filter(key=token).exists()


def test_logout_revokes_a_token_issued_after_the_second_step(api, user_with_totp):
    token = verify(api, start(api), code=user_with_totp.code()).json()["token"]
    client = token_client(token)
    assert client.get(ME).status_code == 200
    assert client.post(LOGOUT).status_code == 204
    assert client.get(ME).status_code == 401


def test_logout_without_a_credential_is_refused(api, db):
    response = api.post(LOGOUT)
    assert response.status_code == 401
    assert {"detail", "code"} <= set(response.json())


# -- malformed requests --------------------------------------------------------------------


@pytest.mark.parametrize("path", [LOGIN, VERIFY])
@pytest.mark.parametrize(
    "payload",
    ['{"username": "alice", "password": ', "not json", "[1, 2", '{"a": NaN'],
    ids=["truncated", "text", "array", "nan"],
)
def test_malformed_json_is_a_400_with_detail_and_code(api, user_with_totp, path, payload):
    response = api.post(path, payload, content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"]
    assert body["code"] == "invalid"


@pytest.mark.parametrize("path", [LOGIN, VERIFY])
@pytest.mark.parametrize(
    "payload", ["[]", '"text"', "42", "null"], ids=["list", "string", "number", "null"]
)
def test_json_that_is_not_an_object_is_a_400(api, user_with_totp, path, payload):
    response = api.post(path, payload, content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"]
    assert body["code"] == "invalid"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "alice"},
        {"password": PASSWORD},
        {"username": ["alice"], "password": PASSWORD},
        {"username": {"a": 1}, "password": PASSWORD},
        {"username": "alice", "password": None},
        {"username": "alice", "password": ["x"]},
        {"username": "a" * 10_000, "password": PASSWORD},
    ],
    ids=[
        "empty",
        "no-password",
        "no-username",
        "list",
        "object",
        "null-password",
        "list-password",
        "huge",
    ],
)
def test_login_with_wrong_fields_is_invalid(api, user, body):
    response = api.post(LOGIN, body, format="json")
    assert_error(response, 400, "invalid")


def test_login_field_errors_keep_drf_shape(api, user):
    body = assert_error(api.post(LOGIN, {"username": "alice"}, format="json"), 400, "invalid")
    assert isinstance(body["password"], list) and body["password"]


@pytest.mark.parametrize(
    "method",
    [2**63, 2**64, 10**30, str(10**30), -1, 0, "abc", 1.5, [1], {"id": 1}, True],
    ids=repr,
)
def test_verify_with_a_bad_method_id_is_a_400(api, user_with_totp, method):
    response = verify(api, start(api), code=user_with_totp.code(), method=method)
    assert_error(response, 400, "invalid")
    assert "method" in response.json()


def test_verify_with_another_users_method_is_not_found(api, user_with_totp, other_user, clock):
    bob = enable_totp(api, other_user, clock)
    response = verify(api, start(api), code=bob.code(), method=bob.method_id)
    assert_error(response, 404, "not_found")


def test_verify_with_an_unknown_method_is_not_found(api, user_with_totp):
    response = verify(api, start(api), code=user_with_totp.code(), method=2**63 - 1)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"code": "123456"},
        {"challenge": None, "code": "123456"},
        {"challenge": ["x"], "code": "123456"},
        {"challenge": {"a": 1}, "code": "123456"},
        {"challenge": "x" * 10_000, "code": "123456"},
        {"challenge": "CHALLENGE", "recovery_code": ["AAAA"]},
        {"challenge": "CHALLENGE", "recovery_code": "A" * 10_000},
        {"challenge": "CHALLENGE", "recovery_code": ""},
    ],
    ids=[
        "no-challenge",
        "null",
        "list",
        "object",
        "huge",
        "recovery-list",
        "recovery-huge",
        "recovery-blank",
    ],
)
def test_verify_with_wrong_types_is_a_400(api, user_with_totp, body):
    body = {k: (start(api) if v == "CHALLENGE" else v) for k, v in body.items()}
    response = api.post(VERIFY, body, format="json")
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["detail"]
    assert data["code"] in {"invalid", "invalid_challenge", "invalid_recovery_code"}


def test_empty_challenge_is_refused(api, user_with_totp):
    response = verify(api, "", code=user_with_totp.code())
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"invalid", "invalid_challenge"}


@pytest.mark.parametrize("path", [LOGIN, VERIFY])
def test_get_on_a_post_endpoint_is_405_with_a_code(api, db, path):
    response = api.get(path)
    assert response.status_code == 405
    body = response.json()
    assert body["detail"]
    # Not "method_not_allowed", which the contract keeps for 2SV method kinds.
    assert body["code"] == "http_method_not_allowed"


@pytest.mark.parametrize("path", [LOGIN, VERIFY])
@pytest.mark.parametrize("verb", ["put", "patch", "delete"])
def test_other_verbs_on_login_endpoints_are_405(api, db, path, verb):
    response = getattr(api, verb)(path, {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "http_method_not_allowed"


def test_overlong_code_is_invalid_code(api, user_with_totp):
    assert_error(verify(api, start(api), code="1" * 10_000), 400, "invalid_code")


@pytest.mark.parametrize(
    "field",
    ["username", "password"],
)
def test_nul_character_in_login_is_a_400(api, user, field):
    body = {"username": "alice", "password": PASSWORD, field: "ali\x00ce"}
    response = api.post(LOGIN, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"invalid", "invalid_credentials"}


@pytest.mark.parametrize("field", ["challenge", "code", "recovery_code"])
def test_nul_character_in_verify_is_a_400(api, user_with_totp, field):
    body = {"challenge": start(api), field: "AB\x00CD"}
    if field == "challenge":
        body["code"] = user_with_totp.code()
    response = api.post(VERIFY, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {
        "invalid",
        "invalid_challenge",
        "invalid_code",
        "invalid_recovery_code",
    }


def test_user_deactivated_after_the_password_cannot_complete_the_login(api, user_with_totp):
    challenge = start(api)
    user = user_with_totp.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = verify(api, challenge, code=user_with_totp.code())
    body = assert_error(response, 400, "invalid_challenge")
    assert "token" not in body
    assert not SecurityEvent.objects.filter(user=user, kind="verification_succeeded").exists()
