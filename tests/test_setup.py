"""
Managing your own 2-Step Verification (API.md, "Managing your own 2-Step Verification"):
the status object, setting up and confirming an authenticator app, changing and removing
methods, the security log, notification emails, and the secret's encryption at rest.
"""

from __future__ import annotations

import base64
import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from io import StringIO
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from drf_twostep import crypto
from drf_twostep.models import RecoveryCode, SecurityEvent, TwoStepMethod
from tests.helpers import (
    AUTH,
    PASSWORD,
    login,
    secret_of,
    start_setup,
    token_client,
    totp_from_uri,
    verify,
)

STATUS_KEYS = {
    "enabled",
    "required",
    "required_by",
    "grace_period_ends_at",
    "default_method",
    "methods",
    "recovery_codes",
    "remember_device_days",
    "server_time",
}
METHOD_KEYS = {"id", "kind", "name", "status", "is_default", "created_at", "last_used_at"}
SECRET_FIELDS = ("setup_key", "otpauth_uri", "qr_code")
EVENT_KEYS = {"kind", "method", "created_at", "ip", "user_agent"}
RECOVERY_CODE = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$")
ISSUER = "Test Clinic"
PENDING_LIFETIME = 15 * 60


# -- helpers -----------------------------------------------------------------------------


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp that must carry a timezone."""
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    assert parsed.tzinfo is not None, f"{value!r} has no timezone"
    return parsed


def confirm(client, method_id, code):
    return client.post(
        f"{AUTH}two-step/methods/{method_id}/confirm/", {"code": code}, format="json"
    )


def delete(client, method_id, password=PASSWORD):
    return client.delete(
        f"{AUTH}two-step/methods/{method_id}/", {"password": password}, format="json"
    )


def patch(client, method_id, **body):
    return client.patch(f"{AUTH}two-step/methods/{method_id}/", body, format="json")


def wrong_code(totp) -> str:
    """A well-formed code that no step near now produces."""
    near = {totp.at(time.time() + k * totp.interval) for k in range(-3, 4)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in near)


def add_method(client, **extra):
    """Set up and confirm one more authenticator app; returns (method id, confirm body)."""
    setup = start_setup(client, **extra)
    assert setup.status_code == 201, setup.content
    body = setup.json()
    confirmed = confirm(client, body["id"], totp_from_uri(body["otpauth_uri"]).now())
    assert confirmed.status_code == 200, confirmed.content
    return body["id"], confirmed.json()


def defaults_of(user):
    return list(
        TwoStepMethod.objects.filter(user=user, is_default=True).values_list("pk", flat=True)
    )


@pytest.fixture
def alice(api, user, clock):
    """alice signed in with her password only (2SV off), as an APIClient."""
    response = login(api)
    assert response.json()["status"] == "authenticated"
    return token_client(response.json()["token"])


@pytest.fixture
def setup(alice):
    """A pending authenticator app of alice: the 201 body."""
    response = start_setup(alice)
    assert response.status_code == 201, response.content
    return response.json()


# -- the status object -------------------------------------------------------------------


def test_status_object_has_exactly_the_contract_fields_when_off(alice, clock):
    response = alice.get(AUTH + "two-step/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == STATUS_KEYS
    assert body["enabled"] is False
    assert body["required"] is False
    assert body["required_by"] == []
    assert body["grace_period_ends_at"] is None
    assert body["default_method"] is None
    assert body["methods"] == []
    assert body["recovery_codes"] == {"remaining": 0, "total": 0, "created_at": None}


def test_status_server_time_is_iso_8601_with_timezone_and_the_server_clock(alice, clock):
    server_time = parse_time(alice.get(AUTH + "two-step/").json()["server_time"])
    assert server_time.timestamp() == pytest.approx(time.time(), abs=1)


def test_status_object_describes_active_method_and_recovery_codes(user_with_totp):
    body = user_with_totp.client().get(AUTH + "two-step/").json()
    assert set(body) == STATUS_KEYS
    assert body["enabled"] is True
    assert body["default_method"] == user_with_totp.method_id
    assert len(body["methods"]) == 1
    method = body["methods"][0]
    assert set(method) == METHOD_KEYS
    assert method["id"] == user_with_totp.method_id
    assert method["kind"] == "authenticator_app"
    assert method["status"] == "active"
    assert method["is_default"] is True
    parse_time(method["created_at"])
    parse_time(method["last_used_at"])
    codes = body["recovery_codes"]
    assert set(codes) == {"remaining", "total", "created_at"}
    assert codes["remaining"] == codes["total"] == len(user_with_totp.recovery_codes) == 1
    parse_time(codes["created_at"])
    parse_time(body["server_time"])


def test_status_needs_authentication(api, db):
    assert api.get(AUTH + "two-step/").status_code == 401


# -- step one: POST two-step/methods/ ----------------------------------------------------


def test_setup_with_wrong_password_is_password_incorrect(alice, user):
    response = start_setup(alice, password="not my password")
    assert response.status_code == 400
    assert response.json() == {"detail": response.json()["detail"], "code": "password_incorrect"}
    assert not TwoStepMethod.objects.filter(user=user).exists()


def test_setup_without_password_is_a_field_error(alice, user):
    response = alice.post(AUTH + "two-step/methods/", {"kind": "authenticator_app"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert isinstance(body["password"], list)
    assert not TwoStepMethod.objects.filter(user=user).exists()


def test_setup_returns_a_pending_method_with_its_secret_fields(alice, user):
    response = start_setup(alice)
    assert response.status_code == 201
    body = response.json()
    assert METHOD_KEYS | set(SECRET_FIELDS) <= set(body)
    assert body["kind"] == "authenticator_app"
    assert body["status"] == "pending"
    assert body["is_default"] is False
    assert TwoStepMethod.objects.get(user=user).pk == body["id"]


def test_setup_takes_an_optional_name(alice):
    assert start_setup(alice, name="Work phone").json()["name"] == "Work phone"


def test_setup_key_is_160_bits_in_groups_of_four(setup):
    key = setup["setup_key"]
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4})*", key), key
    raw = key.replace(" ", "")
    assert len(raw) == 32
    assert len(base64.b32decode(raw)) * 8 == 160
    assert raw == secret_of(setup["otpauth_uri"])


def test_otpauth_uri_follows_the_key_uri_format(setup):
    uri = setup["otpauth_uri"]
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth"
    assert parts.netloc == "totp"
    label = parts.path[1:]
    assert label.count(":") == 1
    issuer_prefix, account = (unquote(piece) for piece in label.split(":"))
    assert issuer_prefix == ISSUER
    assert account == "alice@example.com"
    query = parse_qs(parts.query, keep_blank_values=True)
    assert all(len(values) == 1 for values in query.values())
    params = {key: values[0] for key, values in query.items()}
    assert set(params) == {"secret", "issuer", "algorithm", "digits", "period"}
    assert params["issuer"] == issuer_prefix
    assert params["algorithm"] == "SHA1"
    assert params["digits"] == "6"
    assert params["period"] == "30"
    assert "=" not in params["secret"]
    assert re.fullmatch(r"[A-Z2-7]+", params["secret"])


def test_colon_in_issuer_or_account_never_appears_unescaped_in_the_label(api, db, clock):
    get_user_model().objects.create_user("carol:x", "carol:x@example.com", PASSWORD)
    with override_settings(DRF_TWOSTEP={"ISSUER_NAME": "Acme: Labs"}):
        client = token_client(login(api, "carol:x").json()["token"])
        body = start_setup(client).json()
        uri = body["otpauth_uri"]
        label = urlsplit(uri).path[1:]
        # Exactly one separator, escaped or not: neither part may hold a colon of its own.
        assert label.count(":") == 1
        assert unquote(label).count(":") == 1
        prefix = unquote(label.split(":")[0])
        assert prefix == parse_qs(urlsplit(uri).query)["issuer"][0]
        assert ":" not in prefix
        # An app that reads the URI still gets a working generator.
        assert confirm(client, body["id"], totp_from_uri(uri).now()).status_code == 200


def test_qr_code_is_an_svg_data_uri(setup):
    prefix = "data:image/svg+xml;base64,"
    assert setup["qr_code"].startswith(prefix)
    svg = base64.b64decode(setup["qr_code"][len(prefix) :], validate=True)
    root = ET.fromstring(svg)
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")


def test_unknown_kind_is_method_not_allowed(alice, user, settings):
    settings.DRF_TWOSTEP = {
        "ISSUER_NAME": "Test Clinic",
        "METHOD_CLASSES": ["drf_twostep.methods.totp.AuthenticatorAppMethod"],
    }
    for kind in ("carrier_pigeon", "sms"):  # unknown, and known but not enabled here
        response = start_setup(alice, kind=kind)
        assert response.status_code == 400, kind
        assert response.json()["code"] == "method_not_allowed"
    assert not TwoStepMethod.objects.filter(user=user).exists()


def test_two_setups_get_different_secrets(alice, api, other_user):
    first = secret_of(start_setup(alice).json()["otpauth_uri"])
    second = secret_of(start_setup(alice).json()["otpauth_uri"])
    bob = token_client(login(api, "bob").json()["token"])
    third = secret_of(start_setup(bob).json()["otpauth_uri"])
    assert len({first, second, third}) == 3


def test_a_new_setup_replaces_an_earlier_pending_one_of_the_same_kind(alice, user):
    first = start_setup(alice).json()
    second = start_setup(alice).json()
    assert first["id"] != second["id"]
    assert [m["id"] for m in alice.get(AUTH + "two-step/methods/").json()] == [second["id"]]
    assert list(TwoStepMethod.objects.filter(user=user).values_list("pk", flat=True)) == [
        second["id"]
    ]
    response = confirm(alice, first["id"], totp_from_uri(first["otpauth_uri"]).now())
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert (
        confirm(alice, second["id"], totp_from_uri(second["otpauth_uri"]).now()).status_code == 200
    )


def test_a_new_setup_keeps_active_methods(user_with_totp):
    client = user_with_totp.client()
    start_setup(client)
    methods = client.get(AUTH + "two-step/methods/").json()
    assert [m["status"] for m in methods] == ["active", "pending"]
    assert methods[0]["id"] == user_with_totp.method_id


def test_a_pending_method_does_not_turn_two_step_on(api, alice, setup):
    body = alice.get(AUTH + "two-step/").json()
    assert body["enabled"] is False
    assert body["default_method"] is None
    assert [m["status"] for m in body["methods"]] == ["pending"]
    assert login(api).json()["status"] == "authenticated"


def test_a_pending_method_expires_after_15_minutes(alice, setup, clock):
    clock.shift(PENDING_LIFETIME)
    response = confirm(alice, setup["id"], totp_from_uri(setup["otpauth_uri"]).now())
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert alice.get(AUTH + "two-step/methods/").json() == []
    assert alice.get(AUTH + "two-step/").json()["methods"] == []


def test_a_pending_method_can_be_confirmed_until_it_expires(alice, setup, clock):
    clock.shift(PENDING_LIFETIME - 1)
    response = confirm(alice, setup["id"], totp_from_uri(setup["otpauth_uri"]).now())
    assert response.status_code == 200, response.content


def test_secret_uri_and_qr_are_never_returned_again(api, alice, setup):
    secret = secret_of(setup["otpauth_uri"])
    totp = totp_from_uri(setup["otpauth_uri"])

    def assert_hidden(response):
        text = response.content.decode()
        for needle in (
            secret,
            setup["setup_key"],
            setup["otpauth_uri"],
            setup["qr_code"],
            "otpauth",
        ):
            assert needle not in text
        for field in SECRET_FIELDS:
            assert field not in text

    assert_hidden(alice.get(AUTH + "two-step/"))
    assert_hidden(alice.get(AUTH + "two-step/methods/"))
    confirmed = confirm(alice, setup["id"], totp.now())
    assert confirmed.status_code == 200
    assert_hidden(confirmed)
    client = token_client(confirmed.json()["token"])
    assert_hidden(client.get(AUTH + "two-step/"))
    assert_hidden(client.get(AUTH + "two-step/methods/"))
    assert_hidden(patch(client, setup["id"], name="Phone"))
    assert_hidden(login(api))


# -- step two: POST two-step/methods/{id}/confirm/ ---------------------------------------


def test_confirm_with_wrong_code_is_invalid_code_and_method_stays_pending(alice, setup):
    response = confirm(alice, setup["id"], wrong_code(totp_from_uri(setup["otpauth_uri"])))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_code"
    assert "clock" in body["detail"].lower()
    assert TwoStepMethod.objects.get(pk=setup["id"]).status == "pending"
    assert alice.get(AUTH + "two-step/").json()["enabled"] is False


@pytest.mark.parametrize("code", ["12ab56", "", "１２３４５６", "1234567890123", "١٢٣٤٥٦"])
def test_confirm_with_malformed_code_is_invalid_code(alice, setup, code):
    response = confirm(alice, setup["id"], code)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert TwoStepMethod.objects.get(pk=setup["id"]).status == "pending"


@pytest.mark.parametrize("spell", [lambda c: f"{c[:3]} {c[3:]}", lambda c: f"{c[:3]}-{c[3:]}"])
def test_confirm_accepts_a_code_with_a_space_or_dash(alice, setup, spell):
    code = totp_from_uri(setup["otpauth_uri"]).now()
    assert confirm(alice, setup["id"], spell(code)).status_code == 200


def test_confirm_turns_two_step_on_with_a_recovery_code_and_a_fresh_token(api, user, clock):
    old_token = login(api).json()["token"]
    setup = start_setup(token_client(old_token)).json()
    response = confirm(
        token_client(old_token), setup["id"], totp_from_uri(setup["otpauth_uri"]).now()
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"method", "recovery_codes", "token"}
    assert set(body["method"]) == METHOD_KEYS
    assert body["method"]["id"] == setup["id"]
    assert body["method"]["status"] == "active"
    assert body["method"]["is_default"] is True
    assert len(body["recovery_codes"]) == 1
    assert RECOVERY_CODE.fullmatch(body["recovery_codes"][0])
    assert isinstance(body["token"], str) and body["token"]
    assert body["token"] != old_token
    # Every other credential is revoked; the fresh one works.
    assert token_client(old_token).get(AUTH + "two-step/").status_code == 401
    status = token_client(body["token"]).get(AUTH + "two-step/")
    assert status.status_code == 200
    assert status.json()["enabled"] is True
    assert status.json()["default_method"] == setup["id"]


def test_confirming_a_second_method_gives_no_recovery_codes_and_a_null_token(user_with_totp):
    client = user_with_totp.client()
    digests = set(RecoveryCode.objects.values_list("digest", flat=True))
    second, body = add_method(client)
    assert "recovery_codes" not in body
    assert body["token"] is None
    assert body["method"]["status"] == "active"
    assert body["method"]["is_default"] is False
    assert set(RecoveryCode.objects.values_list("digest", flat=True)) == digests
    # The caller's credential still works, and the first method is still the default.
    status = client.get(AUTH + "two-step/").json()
    assert status["default_method"] == user_with_totp.method_id
    assert {m["id"] for m in status["methods"]} == {user_with_totp.method_id, second}


def test_confirming_an_active_method_is_method_not_pending(user_with_totp):
    response = confirm(user_with_totp.client(), user_with_totp.method_id, user_with_totp.code())
    assert response.status_code == 409
    assert response.json()["code"] == "method_not_pending"


def test_the_confirmation_code_cannot_then_sign_in(api, alice, setup):
    code = totp_from_uri(setup["otpauth_uri"]).now()
    assert confirm(alice, setup["id"], code).status_code == 200
    challenge = login(api).json()["challenge"]
    response = verify(api, challenge, code=code)
    assert response.status_code == 400
    assert response.json()["code"] == "code_already_used"


def test_confirm_of_an_unknown_method_is_not_found(alice):
    response = confirm(alice, 987654, "123456")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# -- other users ---------------------------------------------------------------------------


def test_other_users_methods_are_invisible(api, user_with_totp, other_user):
    alice = user_with_totp.client()
    pending = start_setup(alice).json()
    bob = token_client(login(api, "bob").json()["token"])
    assert bob.get(AUTH + "two-step/methods/").json() == []
    assert bob.get(AUTH + "two-step/").json()["methods"] == []
    for method_id in (user_with_totp.method_id, pending["id"]):
        for response in (
            patch(bob, method_id, name="mine now"),
            delete(bob, method_id),
            confirm(bob, method_id, totp_from_uri(pending["otpauth_uri"]).now()),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"
    assert TwoStepMethod.objects.filter(user=user_with_totp.user).count() == 2
    assert TwoStepMethod.objects.get(pk=pending["id"]).status == "pending"
    assert "mine now" not in TwoStepMethod.objects.values_list("name", flat=True)


# -- PATCH two-step/methods/{id}/ ---------------------------------------------------------


def test_patch_renames_a_method(user_with_totp):
    client = user_with_totp.client()
    response = patch(client, user_with_totp.method_id, name="Phone")
    assert response.status_code == 200
    assert set(response.json()) == METHOD_KEYS
    assert response.json()["name"] == "Phone"
    assert client.get(AUTH + "two-step/methods/").json()[0]["name"] == "Phone"


def test_patch_is_default_leaves_exactly_one_default(user_with_totp):
    client = user_with_totp.client()
    second, _ = add_method(client)
    response = patch(client, second, is_default=True)
    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert defaults_of(user_with_totp.user) == [second]
    listed = {m["id"]: m["is_default"] for m in client.get(AUTH + "two-step/methods/").json()}
    assert listed == {user_with_totp.method_id: False, second: True}
    assert client.get(AUTH + "two-step/").json()["default_method"] == second
    # And back again.
    assert patch(client, user_with_totp.method_id, is_default=True).status_code == 200
    assert defaults_of(user_with_totp.user) == [user_with_totp.method_id]


def test_patch_is_default_false_is_refused(user_with_totp):
    response = patch(user_with_totp.client(), user_with_totp.method_id, is_default=False)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "is_default" in response.json()
    assert defaults_of(user_with_totp.user) == [user_with_totp.method_id]


def test_a_pending_method_cannot_become_the_default(user_with_totp):
    client = user_with_totp.client()
    pending = start_setup(client).json()
    response = patch(client, pending["id"], is_default=True)
    assert response.status_code == 409
    assert response.json()["code"] == "method_not_pending"
    assert defaults_of(user_with_totp.user) == [user_with_totp.method_id]


# -- DELETE two-step/methods/{id}/ --------------------------------------------------------


def test_delete_needs_the_password(user_with_totp):
    client = user_with_totp.client()
    response = delete(client, user_with_totp.method_id, password="wrong")
    assert response.status_code == 400
    assert response.json()["code"] == "password_incorrect"
    missing = client.delete(
        f"{AUTH}two-step/methods/{user_with_totp.method_id}/", {}, format="json"
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "invalid"
    assert TwoStepMethod.objects.filter(pk=user_with_totp.method_id).exists()
    assert client.get(AUTH + "two-step/").json()["enabled"] is True


def test_deleting_the_last_active_method_turns_two_step_off(api, user_with_totp):
    client = user_with_totp.client()
    assert RecoveryCode.objects.filter(user=user_with_totp.user).exists()
    response = delete(client, user_with_totp.method_id)
    assert response.status_code == 204
    status = client.get(AUTH + "two-step/").json()
    assert status["enabled"] is False
    assert status["methods"] == []
    assert status["default_method"] is None
    assert status["recovery_codes"]["remaining"] == 0
    assert not RecoveryCode.objects.filter(user=user_with_totp.user).exists()
    # The next sign-in needs the password only.
    assert login(api).json()["status"] == "authenticated"


def test_deleting_one_of_two_methods_keeps_two_step_on(user_with_totp):
    client = user_with_totp.client()
    second, _ = add_method(client)
    assert delete(client, second).status_code == 204
    status = client.get(AUTH + "two-step/").json()
    assert status["enabled"] is True
    assert status["default_method"] == user_with_totp.method_id
    assert status["recovery_codes"]["remaining"] == 1


def test_deleting_the_default_makes_the_oldest_remaining_active_method_default(
    user_with_totp, clock
):
    client = user_with_totp.client()
    clock.shift(60)
    second, _ = add_method(client)
    clock.shift(60)
    third, _ = add_method(client)
    assert patch(client, third, is_default=True).status_code == 200
    assert delete(client, third).status_code == 204
    assert defaults_of(user_with_totp.user) == [user_with_totp.method_id]
    assert client.get(AUTH + "two-step/").json()["default_method"] == user_with_totp.method_id


def test_deleting_the_first_default_passes_it_to_the_next_oldest(user_with_totp, clock):
    client = user_with_totp.client()
    clock.shift(60)
    second, _ = add_method(client)
    clock.shift(60)
    add_method(client)
    assert delete(client, user_with_totp.method_id).status_code == 204
    assert defaults_of(user_with_totp.user) == [second]


def test_deleting_a_pending_method_leaves_two_step_as_it_was(user_with_totp):
    client = user_with_totp.client()
    pending = start_setup(client).json()
    assert delete(client, pending["id"]).status_code == 204
    assert not TwoStepMethod.objects.filter(pk=pending["id"]).exists()
    status = client.get(AUTH + "two-step/").json()
    assert status["enabled"] is True
    assert status["default_method"] == user_with_totp.method_id


# -- security events -------------------------------------------------------------------------


def events(client, **params):
    response = client.get(AUTH + "two-step/events/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_setting_up_records_method_added_and_two_step_enabled(api, user, clock):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Token " + login(api).json()["token"], HTTP_USER_AGENT="Tests/1.0"
    )
    method_id, body = add_method(client)
    client = token_client(body["token"])
    page = events(client)
    assert set(page) == {"count", "next", "previous", "results"}
    kinds = [e["kind"] for e in page["results"]]
    # The setup's events, then the password-only sign-in that the setup was made with.
    assert kinds == ["two_step_enabled", "method_added", "signed_in"]
    for event in page["results"][:2]:
        assert set(event) == EVENT_KEYS
        assert event["method"] == method_id
        assert event["ip"] == "127.0.0.1"
        assert event["user_agent"] == "Tests/1.0"
        parse_time(event["created_at"])


def test_events_are_newest_first(api, user_with_totp, clock):
    client = user_with_totp.client()
    clock.shift(60)
    challenge = login(api).json()["challenge"]
    assert verify(api, challenge, code=wrong_code(user_with_totp.totp)).status_code == 400
    clock.shift(60)
    second, _ = add_method(client)
    clock.shift(60)
    assert delete(client, second).status_code == 204
    results = events(client)["results"]
    assert [e["kind"] for e in results] == [
        "method_removed",
        "method_added",
        "verification_failed",
        "two_step_enabled",
        "method_added",
        "signed_in",
    ]
    times = [parse_time(e["created_at"]) for e in results]
    assert times == sorted(times, reverse=True)
    assert results[0]["method"] == second


def test_events_are_paginated(user_with_totp, clock):
    client = user_with_totp.client()
    for _ in range(3):
        clock.shift(1)
        patch(client, user_with_totp.method_id, name="x")  # no event
        add_method(client)
    everything = events(client)
    total = everything["count"]
    assert total == len(everything["results"]) >= 5
    first = events(client, page_size=2)
    assert first["count"] == total
    assert len(first["results"]) == 2
    assert first["previous"] is None and first["next"]
    second = events(client, page_size=2, page=2)
    assert [e["created_at"] for e in first["results"] + second["results"]] == [
        e["created_at"] for e in everything["results"][:4]
    ]


def test_events_show_only_the_callers_own(api, user_with_totp, other_user):
    bob = token_client(login(api, "bob").json()["token"])
    assert SecurityEvent.objects.filter(user=user_with_totp.user).exists()
    page = events(bob)
    # Only bob's own sign-in.
    assert page["count"] == 1
    assert [e["kind"] for e in page["results"]] == ["signed_in"]


def test_deleting_the_last_method_records_method_removed_and_two_step_disabled(
    user_with_totp, clock
):
    client = user_with_totp.client()
    clock.shift(60)
    assert delete(client, user_with_totp.method_id).status_code == 204
    results = events(client)["results"]
    assert [e["kind"] for e in results[:2]] == ["two_step_disabled", "method_removed"]
    assert results[1]["method"] == user_with_totp.method_id


# -- notification emails ------------------------------------------------------------------


def test_adding_a_method_emails_the_user(alice, setup, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            confirm(alice, setup["id"], totp_from_uri(setup["otpauth_uri"]).now()).status_code
            == 200
        )
    added = [m for m in mail.outbox if "added" in m.subject]
    assert len(added) == 1
    assert added[0].to == ["alice@example.com"]
    assert ISSUER in added[0].subject
    assert "127.0.0.1" in added[0].body


def test_removing_a_method_emails_the_user(user_with_totp, django_capture_on_commit_callbacks):
    client = user_with_totp.client()
    second, _ = add_method(client)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert delete(client, second).status_code == 204
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "removed" in mail.outbox[0].subject
    assert ISSUER in mail.outbox[0].subject


def test_removing_the_last_method_emails_that_two_step_is_off(
    user_with_totp, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert delete(user_with_totp.client(), user_with_totp.method_id).status_code == 204
    subjects = [m.subject for m in mail.outbox]
    assert any("removed" in s for s in subjects)
    assert any("turned off" in s for s in subjects)
    assert all(m.to == ["alice@example.com"] for m in mail.outbox)


def test_a_failed_setup_sends_no_email(alice, setup, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        confirm(alice, setup["id"], wrong_code(totp_from_uri(setup["otpauth_uri"])))
        start_setup(alice, password="wrong")
    assert mail.outbox == []


# -- the secret at rest ------------------------------------------------------------------------


def keys_setting(*keys):
    return override_settings(DRF_TWOSTEP={"ISSUER_NAME": ISSUER, "ENCRYPTION_KEYS": list(keys)})


def stored_secret(method_id) -> str:
    return TwoStepMethod.objects.filter(pk=method_id).values_list("secret", flat=True).get()


def test_the_secret_is_encrypted_at_rest(setup):
    secret = secret_of(setup["otpauth_uri"])
    stored = stored_secret(setup["id"])
    assert stored
    for needle in (secret, secret.lower(), setup["setup_key"], "otpauth", ISSUER):
        assert needle not in stored
    # It is the secret, encrypted: the configured key opens it.
    assert secret in crypto.decrypt(stored)


def test_a_key_rotation_keeps_secrets_working(api, user, clock):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with keys_setting(old):
        client = token_client(login(api).json()["token"])
        setup = start_setup(client).json()
    totp = totp_from_uri(setup["otpauth_uri"])
    encrypted_under_old = stored_secret(setup["id"])

    with keys_setting(new, old):
        # The old key still decrypts: the method can be confirmed.
        assert confirm(client, setup["id"], totp.now()).status_code == 200
        out = StringIO()
        call_command("twostep_rotate_key", stdout=out)
        assert "1" in out.getvalue()
    rotated = stored_secret(setup["id"])
    assert rotated != encrypted_under_old
    assert secret_of(setup["otpauth_uri"]) not in rotated

    clock.shift(totp.interval)
    with keys_setting(new):
        # Only the new key: the re-encrypted secret still signs in.
        assert secret_of(setup["otpauth_uri"]) in crypto.decrypt(rotated)
        challenge = login(api).json()["challenge"]
        response = verify(api, challenge, code=totp.now())
        assert response.status_code == 200, response.content
        with pytest.raises(InvalidToken):
            crypto.decrypt(encrypted_under_old)
    with keys_setting(old), pytest.raises(InvalidToken):
        crypto.decrypt(rotated)


def test_the_secret_does_not_decrypt_under_a_wrong_key(setup):
    stored = stored_secret(setup["id"])
    with keys_setting(Fernet.generate_key().decode()), pytest.raises(InvalidToken):
        crypto.decrypt(stored)
    with keys_setting("some other passphrase"), pytest.raises(InvalidToken):
        crypto.decrypt(stored)


def test_emails_and_logs_never_carry_the_secret_or_codes(
    api, user, clock, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level("DEBUG")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client = token_client(login(api).json()["token"])
        setup = start_setup(client).json()
        totp = totp_from_uri(setup["otpauth_uri"])
        code = totp.now()
        confirm(client, setup["id"], wrong_code(totp))
        body = confirm(client, setup["id"], code).json()
        client = token_client(body["token"])
        clock.shift(totp.interval)
        challenge = login(api).json()["challenge"]
        verify(api, challenge, code=totp.now())
        challenge = login(api).json()["challenge"]
        verify(api, challenge, recovery_code=body["recovery_codes"][0])
        delete(client, setup["id"])
    assert len(mail.outbox) >= 3
    secret = secret_of(setup["otpauth_uri"])
    needles = [
        secret,
        setup["setup_key"],
        code,
        body["recovery_codes"][0],
        body["token"],
        challenge,
    ]
    texts = [m.subject + m.body for m in mail.outbox] + [
        record.getMessage() for record in caplog.records
    ]
    for text in texts:
        for needle in needles:
            assert needle not in text


# -- throttling of the password check ---------------------------------------------------------


def _throttled(response):
    assert response.status_code == 429, response.content
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_wrong_setup_passwords_are_throttled(alice, user):
    with override_settings(
        DRF_TWOSTEP={"ISSUER_NAME": ISSUER, "THROTTLE_RATES": {"twostep_setup": "3/min"}}
    ):
        for _ in range(3):
            assert start_setup(alice, password="guess").json()["code"] == "password_incorrect"
        _throttled(start_setup(alice))
    assert not TwoStepMethod.objects.filter(user=user).exists()


def test_wrong_delete_passwords_are_throttled(user_with_totp, clock):
    client = user_with_totp.client()
    clock.shift(60)  # past the minute in which the method was set up
    with override_settings(
        DRF_TWOSTEP={"ISSUER_NAME": ISSUER, "THROTTLE_RATES": {"twostep_setup": "3/min"}}
    ):
        for _ in range(3):
            assert (
                delete(client, user_with_totp.method_id, "guess").json()["code"]
                == "password_incorrect"
            )
        _throttled(delete(client, user_with_totp.method_id))
    assert TwoStepMethod.objects.filter(pk=user_with_totp.method_id).exists()
