"""
SMS and email methods (API.md: methods, ``login/send-code/``): setup with a destination, codes
that are random, hashed, bound, expiring and single use, resend, rate limits and lockout.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from drf_twostep import sms
from drf_twostep.models import DeliveredCode, OrganizationPolicy, SecurityEvent, TwoStepMethod
from tests.helpers import (
    AUTH,
    PASSWORD,
    assert_error,
    enable_totp,
    login,
    start_setup,
    token_client,
    verify,
)

PHONE = "+14155552671"
SMS = "sms"
EMAIL = "email"


def last_code(outbox=None) -> str:
    """The code in the newest SMS (default) or email."""
    if outbox is None:
        text = sms.outbox[-1].body
    else:
        text = outbox[-1].body
    return re.search(r"\b(\d{6})\b", text).group(1)


def confirm(client, method_id, code):
    return client.post(
        f"{AUTH}two-step/methods/{method_id}/confirm/", {"code": code}, format="json"
    )


def send_code(api, challenge, method_id):
    return api.post(
        AUTH + "login/send-code/", {"challenge": challenge, "method": method_id}, format="json"
    )


@pytest.fixture
def alice(api, user):
    """alice signed in with the password, 2SV still off."""
    return token_client(login(api).json()["token"])


@pytest.fixture
def sms_user(api, user, alice, clock):
    """alice with an SMS method confirmed (her first, so 2SV is on); returns the method id."""
    setup = start_setup(alice, kind=SMS, phone_number=PHONE)
    assert setup.status_code == 201, setup.content
    confirmed = confirm(alice, setup.json()["id"], last_code())
    assert confirmed.status_code == 200, confirmed.content
    sms.outbox.clear()
    return setup.json()["id"]


# -- setting up ------------------------------------------------------------------------------


def test_sms_setup_sends_a_code_at_once_and_shows_no_secret(alice, user):
    response = start_setup(alice, kind=SMS, phone_number=PHONE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == SMS and body["status"] == "pending"
    assert body["expires_in"] == 600
    assert not {"setup_key", "otpauth_uri", "qr_code"} & set(body)
    assert body["name"] == "SMS to number ending 2671"
    assert [m.to for m in sms.outbox] == [PHONE]
    assert "Test Clinic" in sms.outbox[0].body
    method = TwoStepMethod.objects.get(pk=body["id"])
    assert method.destination == PHONE and method.secret == ""


def test_sms_setup_confirmed_turns_two_step_on(alice, user):
    setup = start_setup(alice, kind=SMS, phone_number=PHONE).json()
    response = confirm(alice, setup["id"], last_code())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["method"]["status"] == "active" and body["method"]["is_default"] is True
    assert len(body["recovery_codes"]) == 1 and body["token"]
    assert not DeliveredCode.objects.exists()  # used codes are deleted


@pytest.mark.parametrize(
    "phone",
    ["", "4155552671", "+1415555267", "+999123456789", "+1 415 CALL ME", "++14155552671", None],
)
def test_bad_phone_numbers_are_a_400_and_nothing_is_sent(alice, user, phone):
    body = {"kind": SMS, "password": PASSWORD}
    if phone is not None:
        body["phone_number"] = phone
    response = alice.post(AUTH + "two-step/methods/", body, format="json")
    error = assert_error(response, 400, "invalid")
    assert "international format" in str(error["phone_number"])
    assert not TwoStepMethod.objects.exists() and sms.outbox == []


def test_phone_numbers_are_stored_in_e164(alice):
    response = start_setup(alice, kind=SMS, phone_number=" +1 (415) 555-2671 ")
    assert response.status_code == 201, response.content
    assert TwoStepMethod.objects.get().destination == PHONE
    assert sms.outbox[-1].to == PHONE


def test_email_setup_defaults_to_the_account_address(alice, user):
    mail.outbox.clear()
    response = start_setup(alice, kind=EMAIL)
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Email to a…@example.com"
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert confirm(alice, response.json()["id"], last_code(mail.outbox)).status_code == 200


def test_email_setup_to_another_address(alice):
    mail.outbox.clear()
    response = start_setup(alice, kind=EMAIL, email="alice.work@example.org")
    assert response.status_code == 201, response.content
    assert mail.outbox[-1].to == ["alice.work@example.org"]


def test_email_setup_needs_an_address(alice, user):
    user.email = ""
    user.save()
    assert_error(start_setup(alice, kind=EMAIL), 400, "invalid")
    error = assert_error(start_setup(alice, kind=EMAIL, email="not-an-address"), 400, "invalid")
    assert "email" in error
    assert not TwoStepMethod.objects.exists()


def test_wrong_password_sends_nothing(alice):
    response = start_setup(alice, password="wrong", kind=SMS, phone_number=PHONE)
    assert_error(response, 400, "password_incorrect")
    assert sms.outbox == []


def test_starting_setup_again_replaces_the_pending_method_and_its_code(alice):
    first = start_setup(alice, kind=SMS, phone_number=PHONE).json()
    first_code = last_code()
    second = start_setup(alice, kind=SMS, phone_number=PHONE).json()
    assert_error(confirm(alice, first["id"], first_code), 404, "not_found")
    assert confirm(alice, second["id"], last_code()).status_code == 200


def test_a_setup_code_expires(alice, clock):
    setup = start_setup(alice, kind=SMS, phone_number=PHONE).json()
    code = last_code()
    clock.shift(600)
    assert_error(confirm(alice, setup["id"], code), 400, "invalid_code")


def test_a_pending_method_expires_after_fifteen_minutes(alice, clock, user):
    setup = start_setup(alice, kind=SMS, phone_number=PHONE).json()
    clock.shift(15 * 60)
    assert_error(confirm(alice, setup["id"], last_code()), 404, "not_found")
    assert alice.get(AUTH + "two-step/").json()["enabled"] is False


def test_a_setup_code_stops_working_after_too_many_wrong_tries(alice):
    setup = start_setup(alice, kind=SMS, phone_number=PHONE).json()
    code = last_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert_error(confirm(alice, setup["id"], wrong), 400, "invalid_code")
    assert_error(confirm(alice, setup["id"], code), 400, "invalid_code")


def test_codes_are_stored_only_as_keyed_digests(alice):
    start_setup(alice, kind=SMS, phone_number=PHONE)
    code = last_code()
    row = DeliveredCode.objects.values().get()
    assert code not in " ".join(str(value) for value in row.values())
    assert len(row["digest"]) == 64


def test_codes_are_random_six_digits(alice, settings):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "THROTTLE_RATES": {
            "twostep_deliver_user": "100/hour",
            "twostep_deliver_destination": "100/hour",
            "twostep_setup": "100/min",
        },
    }
    codes = set()
    for _ in range(12):
        start_setup(alice, kind=SMS, phone_number=PHONE)
        codes.add(last_code())
    assert len(codes) >= 11  # 12 draws from a million collide with probability < 1e-4
    assert all(len(code) == 6 and code.isdigit() for code in codes)


def test_an_organization_can_disallow_sms(alice, user):
    clinic = Group.objects.create(name="Clinic")
    user.groups.add(clinic)
    policy = OrganizationPolicy(organization=clinic)
    policy.allowed_methods = ["authenticator_app", "email"]
    policy.save()
    assert_error(start_setup(alice, kind=SMS, phone_number=PHONE), 400, "method_not_allowed")
    assert sms.outbox == []
    assert start_setup(alice, kind=EMAIL).status_code == 201


# -- signing in ------------------------------------------------------------------------------


def test_login_with_an_sms_default_sends_the_code_at_once(api, sms_user):
    body = login(api).json()
    assert body["status"] == "verification_required"
    assert body["default_method"] == sms_user
    assert [m["kind"] for m in body["methods"]] == [SMS]
    assert len(sms.outbox) == 1
    response = verify(api, body["challenge"], code=last_code())
    assert response.status_code == 200, response.content
    assert SecurityEvent.objects.filter(kind="code_sent").count() == 2  # setup and login


def test_resend_invalidates_the_previous_code(api, sms_user):
    challenge = login(api).json()["challenge"]
    first = last_code()
    response = send_code(api, challenge, sms_user)
    assert response.status_code == 202, response.content
    assert response.json()["expires_in"] == 600 and response.json()["detail"]
    second = last_code()
    if first != second:
        assert_error(verify(api, challenge, code=first), 400, "invalid_code")
    assert verify(api, challenge, code=second).status_code == 200


def test_a_code_for_one_challenge_is_refused_on_another(api, sms_user):
    first = login(api).json()["challenge"]
    code_for_first = last_code()
    second = login(api).json()["challenge"]
    code_for_second = last_code()
    if code_for_first != code_for_second:
        assert_error(verify(api, second, code=code_for_first), 400, "invalid_code")
    assert verify(api, first, code=code_for_first).status_code == 200


def test_a_login_code_expires(api, sms_user, clock):
    challenge = login(api).json()["challenge"]
    code = last_code()
    clock.shift(299)
    send = last_code()
    assert send == code
    clock.shift(1)  # the challenge itself lives 300 s
    assert_error(verify(api, challenge, code=code), 400, "challenge_expired")


def test_a_login_code_older_than_its_lifetime_is_refused(api, sms_user, clock, settings):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "DELIVERED_CODE_LIFETIME": 60,
        "CHALLENGE_LIFETIME": 300,
    }
    challenge = login(api).json()["challenge"]
    code = last_code()
    clock.shift(60)
    assert_error(verify(api, challenge, code=code), 400, "invalid_code")
    send_code(api, challenge, sms_user)
    assert verify(api, challenge, code=last_code()).status_code == 200


def test_a_login_code_works_once(api, sms_user):
    challenge = login(api).json()["challenge"]
    code = last_code()
    assert verify(api, challenge, code=code).status_code == 200
    assert_error(verify(api, challenge, code=code), 400, "invalid_challenge")


def test_send_code_for_an_authenticator_app_is_method_does_not_send(api, user_with_totp):
    challenge = login(api).json()["challenge"]
    response = send_code(api, challenge, user_with_totp.method_id)
    assert_error(response, 400, "method_does_not_send")
    assert sms.outbox == []


def test_send_code_checks_the_challenge_and_the_method(api, sms_user, other_user, clock):
    assert_error(send_code(api, "x" * 43, sms_user), 400, "invalid_challenge")
    challenge = login(api).json()["challenge"]
    assert_error(send_code(api, challenge, 999999), 404, "not_found")
    bob = enable_totp(api, other_user, clock)
    assert_error(send_code(api, challenge, bob.method_id), 404, "not_found")
    clock.shift(300)
    assert_error(send_code(api, challenge, sms_user), 400, "challenge_expired")


def test_verify_takes_a_method_other_than_the_default(api, user_with_totp, clock):
    client = user_with_totp.client()
    setup = start_setup(client, kind=SMS, phone_number=PHONE).json()
    assert confirm(client, setup["id"], last_code()).status_code == 200
    sms.outbox.clear()
    body = login(api).json()
    assert body["default_method"] == user_with_totp.method_id
    assert {m["kind"] for m in body["methods"]} == {"authenticator_app", SMS}
    assert sms.outbox == []  # the default is the app: nothing is sent unasked
    assert send_code(api, body["challenge"], setup["id"]).status_code == 202
    # Without `method` the default (the app) checks the code, and the SMS code is wrong there.
    sms_code = last_code()
    if sms_code != user_with_totp.code():
        assert_error(verify(api, body["challenge"], code=sms_code), 400, "invalid_code")
    response = verify(api, body["challenge"], code=sms_code, method=setup["id"])
    assert response.status_code == 200, response.content


def test_wrong_codes_of_both_kinds_count_toward_one_lockout(api, user_with_totp, clock, settings):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "LOCKOUT_THRESHOLD": 4}
    client = user_with_totp.client()
    setup = start_setup(client, kind=SMS, phone_number=PHONE).json()
    confirm(client, setup["id"], last_code())
    right_sms = None
    for attempt in range(4):
        challenge = login(api).json()["challenge"]
        if attempt % 2:
            send_code(api, challenge, setup["id"])
            right_sms = last_code()
            wrong = f"{(int(right_sms) + 1) % 10**6:06d}"
            response = verify(api, challenge, code=wrong, method=setup["id"])
        else:
            wrong = f"{(int(user_with_totp.code()) + 1) % 10**6:06d}"
            response = verify(api, challenge, code=wrong)
        assert_error(response, 400, "invalid_code")
    challenge = login(api).json()["challenge"]
    assert_error(send_code(api, challenge, setup["id"]), 429, "too_many_attempts")
    assert_error(verify(api, challenge, code=user_with_totp.code()), 429, "too_many_attempts")
    assert right_sms


# -- rate limits ------------------------------------------------------------------------------


def test_sending_is_limited_per_user(api, sms_user, settings):
    from django.core.cache import cache

    cache.clear()  # forget the setup's code
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "THROTTLE_RATES": {"twostep_deliver_user": "3/hour", "twostep_send_code": "100/min"},
    }
    challenge = login(api).json()["challenge"]  # the first send
    assert send_code(api, challenge, sms_user).status_code == 202
    assert send_code(api, challenge, sms_user).status_code == 202
    response = send_code(api, challenge, sms_user)
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 3600
    assert len(sms.outbox) == 3


def test_sending_is_limited_per_destination(api, user, other_user, settings, clock):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "THROTTLE_RATES": {"twostep_deliver_destination": "2/hour"},
    }
    alice = token_client(login(api).json()["token"])
    bob = token_client(login(api, "bob").json()["token"])
    assert start_setup(alice, kind=SMS, phone_number=PHONE).status_code == 201
    assert start_setup(bob, kind=SMS, phone_number=PHONE).status_code == 201
    response = start_setup(bob, kind=SMS, phone_number="+1 415 555 2671")
    assert_error(response, 429, "throttled")
    assert "Retry-After" in response
    assert start_setup(bob, kind=SMS, phone_number="+14155552672").status_code == 201
    assert len(sms.outbox) == 3


# -- backends ---------------------------------------------------------------------------------


def test_the_console_backend_prints_the_message(alice, settings, capsys):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "SMS_BACKEND": "drf_twostep.sms.backends.console.SmsBackend",
    }
    start_setup(alice, kind=SMS, phone_number=PHONE)
    out = capsys.readouterr().out
    assert f"SMS to {PHONE}" in out
    assert re.search(r"\b\d{6} is your Test Clinic verification code", out)
    assert sms.outbox == []


def test_email_delivery_failure_is_a_503_and_leaves_nothing_set_up(alice, settings):
    # A real SMTP connection to a port where nothing listens.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = start_setup(alice, kind=EMAIL)
    assert_error(response, 503, "delivery_failed")
    assert not TwoStepMethod.objects.exists() and not DeliveredCode.objects.exists()
