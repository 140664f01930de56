"""
Passkeys through the HTTP API (docs/API.md, Passkeys): setting one up, the second step, and a
sign-in with a passkey alone, with the software authenticator of tests/authenticator.py and
the real py_webauthn; bad input at every field is a 4xx with a code; the exact queries.
"""

from __future__ import annotations

import copy
import json

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

pytest.importorskip("webauthn")
pytest.importorskip("cbor2")

from drf_twostep.methods import _webauthn  # noqa: E402
from drf_twostep.models import (  # noqa: E402
    PasskeyChallenge,
    PasskeyCredential,
    PasskeyUserHandle,
    SecurityEvent,
    TwoStepMethod,
    TwoStepProfile,
)
from tests.authenticator import SoftAuthenticator, unb64url  # noqa: E402
from tests.helpers import (  # noqa: E402
    AUTH,
    PASSWORD,
    assert_error,
    login,
    start_setup,
    token_client,
    verify,
)
from tests.test_issuers import JWT, ME, STACKS, needs_jwt, use  # noqa: E402

RP_ID = "example.com"
ORIGIN = "https://example.com"
PASSKEYS = {"WEBAUTHN_RP_ID": RP_ID, "WEBAUTHN_ORIGINS": [ORIGIN, "https://app.example.com"]}
METHODS = AUTH + "two-step/methods/"
OPTIONS = AUTH + "login/passkey/options/"
PASSWORDLESS = AUTH + "login/passkey/"


@pytest.fixture(autouse=True)
def _passkeys_on():
    with override_settings(DRF_TWOSTEP={**django_settings.DRF_TWOSTEP, **PASSKEYS}):
        yield


def add_passkey(client, authenticator=None, **create):
    """Set up and confirm a passkey with ``client``: ``(confirm response, authenticator)``."""
    authenticator = authenticator or SoftAuthenticator()
    setup = start_setup(client, kind="passkey")
    assert setup.status_code == 201, setup.content
    body = setup.json()
    credential = authenticator.create(body["public_key"], **create)
    confirmed = client.post(
        f"{METHODS}{body['id']}/confirm/", {"credential": credential}, format="json"
    )
    return confirmed, authenticator


@pytest.fixture
def with_passkey(api, user):
    """alice with a passkey (2SV on): ``(authenticator, token)``."""
    token = login(api).json()["token"]
    confirmed, authenticator = add_passkey(token_client(token))
    assert confirmed.status_code == 200, confirmed.content
    return authenticator, confirmed.json()["token"]


def challenge_for(api, username="alice"):
    """A login's ``verification_required`` answer."""
    response = login(api, username)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "verification_required", body
    return body


def passwordless_options(api):
    response = api.post(OPTIONS, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def sign_in_alone(api, authenticator, extra=None, **get):
    """``login/passkey/`` with a fresh assertion (``get``: how the authenticator makes it),
    ``extra`` in the body."""
    options = passwordless_options(api)
    credential = authenticator.get(options["public_key"], **get)
    body = {"challenge": options["challenge"], "credential": credential, **(extra or {})}
    return api.post(PASSWORDLESS, body, format="json")


def events(user):
    return list(
        SecurityEvent.objects.filter(user=user).order_by("pk").values_list("kind", flat=True)
    )


def works_past_two_step(token):
    """A protected endpoint that a credential which did not pass the second step cannot use."""
    return token_client(token).get(AUTH + "two-step/events/").status_code == 200


# -- setting a passkey up ------------------------------------------------------------------


def test_setup_answers_creation_options_with_an_opaque_user_handle(api, user):
    client = token_client(login(api).json()["token"])
    response = start_setup(client, kind="passkey", name="Laptop")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["status"], body["name"]) == ("passkey", "pending", "Laptop")
    options = body["public_key"]
    assert options["rp"] == {"id": RP_ID, "name": "Test Clinic"}
    assert options["attestation"] == "none"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -8, -257]
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["excludeCredentials"] == []
    assert len(unb64url(options["challenge"])) == 32
    handle = unb64url(options["user"]["id"])
    assert len(handle) == 64
    assert handle not in (str(user.pk).encode(), b"alice")
    assert options["user"]["id"] == PasskeyUserHandle.objects.get(user=user).handle


def test_confirm_turns_two_step_on_with_recovery_codes_and_a_verified_token(api, user):
    client = token_client(login(api).json()["token"])
    confirmed, authenticator = add_passkey(client)
    assert confirmed.status_code == 200, confirmed.content
    body = confirmed.json()
    assert body["method"]["kind"] == "passkey" and body["method"]["status"] == "active"
    assert body["method"]["is_default"] is True
    assert len(body["recovery_codes"]) == 1
    assert works_past_two_step(body["token"])
    stored = PasskeyCredential.objects.get()
    assert unb64url(stored.credential_id) == authenticator.credential_id
    assert stored.transports == ["internal", "hybrid"]
    assert TwoStepProfile.objects.get(user=user).enabled
    # The password-only sign-in that the setup was made with, then the setup's.
    assert events(user) == ["signed_in", "method_added", "two_step_enabled"]


def test_a_second_passkey_excludes_the_first_and_is_not_made_the_default(api, with_passkey):
    authenticator, token = with_passkey
    client = token_client(token)
    options = start_setup(client, kind="passkey").json()["public_key"]
    assert [c["id"] for c in options["excludeCredentials"]] == [
        PasskeyCredential.objects.get().credential_id
    ]
    confirmed, _ = add_passkey(client)
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["method"]["is_default"] is False
    assert confirmed.json()["token"] is None


def test_the_same_credential_cannot_be_registered_twice(api, with_passkey):
    authenticator, token = with_passkey
    confirmed, _ = add_passkey(token_client(token), authenticator)
    assert_error(confirmed, 400, "invalid_passkey")


@pytest.mark.parametrize(
    "create",
    [
        {"origin": "https://evil.example.net"},
        {"rp_id": "evil.example.net"},
        {"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        {"kind": "webauthn.get"},
        {"up": False},
    ],
    ids=["origin", "rp-id", "challenge", "type", "no-user-presence"],
)
def test_a_registration_that_does_not_verify_is_invalid_passkey(api, user, create):
    client = token_client(login(api).json()["token"])
    confirmed, _ = add_passkey(client, **create)
    assert_error(confirmed, 400, "invalid_passkey")
    assert not PasskeyCredential.objects.exists()
    assert TwoStepMethod.objects.get().status == "pending"


def test_a_passkey_confirmed_with_a_code_and_a_code_method_with_a_credential_are_refused(api, user):
    client = token_client(login(api).json()["token"])
    passkey = start_setup(client, kind="passkey").json()
    response = client.post(f"{METHODS}{passkey['id']}/confirm/", {"code": "123456"}, format="json")
    assert_error(response, 400, "invalid_passkey")
    app = start_setup(client).json()
    credential = SoftAuthenticator().create(passkey["public_key"])
    response = client.post(
        f"{METHODS}{app['id']}/confirm/", {"credential": credential}, format="json"
    )
    assert_error(response, 400, "invalid_code")


# -- the second step -----------------------------------------------------------------------


def test_login_offers_request_options_and_an_assertion_completes_it(api, user, with_passkey):
    authenticator, _ = with_passkey
    body = challenge_for(api)
    options = body["passkey"]
    assert options["rpId"] == RP_ID and options["userVerification"] == "preferred"
    assert [c["id"] for c in options["allowCredentials"]] == [
        PasskeyCredential.objects.get().credential_id
    ]
    response = verify(api, body["challenge"], credential=authenticator.get(options))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "authenticated"
    assert works_past_two_step(response.json()["token"])
    assert events(user)[-1] == "verification_succeeded"


def test_a_passkey_is_offered_even_when_the_default_is_an_authenticator_app(api, user_with_totp):
    confirmed, authenticator = add_passkey(user_with_totp.client())
    assert confirmed.status_code == 200, confirmed.content
    body = challenge_for(api)
    assert body["default_method"] == user_with_totp.method_id
    response = verify(api, body["challenge"], credential=authenticator.get(body["passkey"]))
    assert response.status_code == 200, response.content


def test_a_user_without_a_passkey_gets_no_request_options(api, user_with_totp):
    assert "passkey" not in challenge_for(api)


def test_an_assertion_works_once(api, with_passkey):
    authenticator, _ = with_passkey
    body = challenge_for(api)
    credential = authenticator.get(body["passkey"])
    assert verify(api, body["challenge"], credential=credential).status_code == 200
    assert_error(verify(api, body["challenge"], credential=credential), 400, "invalid_challenge")
    again = challenge_for(api)
    assert_error(verify(api, again["challenge"], credential=credential), 400, "invalid_passkey")


@pytest.mark.parametrize(
    "get",
    [
        {"origin": "https://evil.example.net"},
        {"rp_id": "evil.example.net"},
        {"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        {"tamper": True},
        {"kind": "webauthn.create"},
        {"up": False},
    ],
    ids=["origin", "rp-id", "challenge", "signature", "type", "no-user-presence"],
)
def test_an_assertion_that_does_not_verify_counts_like_a_wrong_code(api, user, with_passkey, get):
    authenticator, _ = with_passkey
    body = challenge_for(api)
    response = verify(api, body["challenge"], credential=authenticator.get(body["passkey"], **get))
    assert_error(response, 400, "invalid_passkey")
    assert TwoStepProfile.objects.get(user=user).failed_attempts == 1
    assert events(user)[-1] == "verification_failed"
    # The challenge stays usable for a good assertion.
    good = verify(api, body["challenge"], credential=authenticator.get(body["passkey"]))
    assert good.status_code == 200, good.content


def test_another_users_passkey_is_refused(api, user, other_user, with_passkey):
    token = login(api, "bob").json()["token"]
    confirmed, bobs = add_passkey(token_client(token))
    assert confirmed.status_code == 200
    body = challenge_for(api)  # alice
    response = verify(api, body["challenge"], credential=bobs.get(body["passkey"]))
    assert_error(response, 400, "invalid_passkey")


def test_a_sign_count_that_goes_back_is_refused_and_recorded(api, user):
    client = token_client(login(api).json()["token"])
    confirmed, authenticator = add_passkey(client, SoftAuthenticator(counter=10))
    assert confirmed.status_code == 200
    body = challenge_for(api)
    first = verify(api, body["challenge"], credential=authenticator.get(body["passkey"]))
    assert first.status_code == 200, first.content
    body = challenge_for(api)
    copy_ = authenticator.get(body["passkey"], sign_count=5)
    assert_error(verify(api, body["challenge"], credential=copy_), 400, "invalid_passkey")
    assert events(user)[-1] == "passkey_clone_suspected"


def test_failed_assertions_lock_the_user_out_as_codes_do(api, user, with_passkey, settings):
    authenticator, _ = with_passkey
    for _ in range(5):
        body = challenge_for(api)
        bad = authenticator.get(body["passkey"], tamper=True)
        assert_error(verify(api, body["challenge"], credential=bad), 400, "invalid_passkey")
    body = challenge_for(api)
    good = authenticator.get(body["passkey"])
    assert_error(verify(api, body["challenge"], credential=good), 429, "too_many_attempts")
    assert "locked_out" in events(user)


# -- a passkey alone -----------------------------------------------------------------------


def test_passwordless_options_ask_for_any_passkey_with_user_verification(api, db):
    options = passwordless_options(api)
    assert options["expires_in"] == 300
    assert options["public_key"]["allowCredentials"] == []
    assert options["public_key"]["userVerification"] == "required"
    assert options["public_key"]["challenge"] == options["challenge"]
    assert PasskeyChallenge.objects.filter(method=None, login_challenge=None).count() == 1


def test_a_passkey_alone_signs_in_past_the_second_step(api, user, with_passkey):
    authenticator, _ = with_passkey
    response = sign_in_alone(api, authenticator)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "authenticated" and body["two_step"]["enabled"] is True
    assert works_past_two_step(body["token"])
    assert events(user)[-1] == "verification_succeeded"
    assert TwoStepProfile.objects.get(user=user).last_verified_at is not None


def remember_alone(api, authenticator, remember_device):
    response = sign_in_alone(api, authenticator, {"remember_device": remember_device})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_passkey_alone_remembers_the_device_as_login_verify_does(api, user, with_passkey):
    from datetime import timedelta

    from rest_framework.fields import DateTimeField

    from drf_twostep.models import TrustedDevice

    authenticator, _ = with_passkey
    # Trusted devices off (the default): both null, nothing stored.
    body = remember_alone(api, authenticator, True)
    assert (body["device_token"], body["device_expires_at"]) == (None, None)
    assert not TrustedDevice.objects.exists()
    allowed = {**django_settings.DRF_TWOSTEP, **PASSKEYS, "REMEMBER_DEVICE_DAYS": 30}
    with override_settings(DRF_TWOSTEP=allowed):
        assert "device_token" not in remember_alone(api, authenticator, False)
        body = remember_alone(api, authenticator, True)
        device = TrustedDevice.objects.get(user=user)
        assert len(body["device_token"]) >= 43 and device.digest != body["device_token"]
        expected = DateTimeField().to_representation(device.expires_at)
        assert body["device_expires_at"] == expected
        assert device.expires_at == device.created_at + timedelta(days=30)
        # The token then skips the second step at login/.
        skipped = api.post(
            AUTH + "login/",
            {"username": "alice", "password": PASSWORD, "device_token": body["device_token"]},
            format="json",
        )
        assert skipped.json()["status"] == "authenticated"
        assert works_past_two_step(skipped.json()["token"])
        assert events(user)[-1] == "trusted_device_used"


def test_a_refused_passkey_alone_remembers_nothing(api, user, with_passkey):
    from drf_twostep.models import TrustedDevice

    authenticator, _ = with_passkey
    allowed = {**django_settings.DRF_TWOSTEP, **PASSKEYS, "REMEMBER_DEVICE_DAYS": 30}
    with override_settings(DRF_TWOSTEP=allowed):
        refused = sign_in_alone(api, authenticator, {"remember_device": True}, uv=False)
        assert_error(refused, 400, "invalid_passkey")
    assert not TrustedDevice.objects.exists()


@pytest.mark.parametrize("value", ["yes please", 2, [], {}])
def test_remember_device_must_be_a_boolean(api, with_passkey, value):
    authenticator, _ = with_passkey
    response = sign_in_alone(api, authenticator, {"remember_device": value})
    assert_error(response, 400, "invalid")
    assert "remember_device" in response.json()


@pytest.mark.django_db(transaction=True)
def test_a_passkey_alone_from_a_new_client_is_told(api, user, with_passkey):
    from django.core import mail

    authenticator, _ = with_passkey
    mail.outbox.clear()
    # The client of the sign-in that set the passkey up: known.
    assert sign_in_alone(api, authenticator).status_code == 200
    assert "new_device_sign_in" not in events(user) and mail.outbox == []
    elsewhere = APIClient(HTTP_USER_AGENT="curl/8.5.0", REMOTE_ADDR="203.0.113.5")
    assert sign_in_alone(elsewhere, authenticator).status_code == 200
    assert events(user)[-2:] == ["verification_succeeded", "new_device_sign_in"]
    assert [m.subject for m in mail.outbox] == ["New sign-in to Test Clinic from curl"]


def test_without_user_verification_or_unknown_the_answer_is_the_same(api, with_passkey):
    authenticator, _ = with_passkey
    no_uv = sign_in_alone(api, authenticator, uv=False)
    unknown = sign_in_alone(api, SoftAuthenticator())
    assert_error(no_uv, 400, "invalid_passkey")
    assert (no_uv.status_code, no_uv.json()) == (unknown.status_code, unknown.json())


def test_a_passkey_alone_needs_its_user_handle(api, with_passkey):
    authenticator, _ = with_passkey
    assert_error(sign_in_alone(api, authenticator, user_handle=None), 400, "invalid_passkey")
    wrong = sign_in_alone(api, authenticator, user_handle=b"x" * 64)
    assert_error(wrong, 400, "invalid_passkey")


def test_a_passwordless_assertion_works_once(api, with_passkey):
    authenticator, _ = with_passkey
    options = passwordless_options(api)
    body = {
        "challenge": options["challenge"],
        "credential": authenticator.get(options["public_key"]),
    }
    assert api.post(PASSWORDLESS, body, format="json").status_code == 200
    assert_error(api.post(PASSWORDLESS, body, format="json"), 400, "invalid_passkey")


def test_a_deactivated_user_cannot_sign_in_with_a_passkey(api, user, with_passkey):
    authenticator, _ = with_passkey
    user.is_active = False
    user.save()
    assert_error(sign_in_alone(api, authenticator), 400, "invalid_passkey")


def test_passwordless_failures_lock_the_user_out(api, user, with_passkey):
    authenticator, _ = with_passkey
    for _ in range(5):
        assert_error(sign_in_alone(api, authenticator, tamper=True), 400, "invalid_passkey")
    assert_error(sign_in_alone(api, authenticator), 429, "too_many_attempts")
    assert "locked_out" in events(user)


def test_passwordless_endpoints_are_throttled_like_login(api, db, settings):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "THROTTLE_RATES": {
            **django_settings.DRF_TWOSTEP.get("THROTTLE_RATES", {}),
            "twostep_login": "2/min",
        },
    }
    assert api.post(OPTIONS, format="json").status_code == 200
    assert api.post(OPTIONS, format="json").status_code == 200
    assert_error(api.post(OPTIONS, format="json"), 429, "throttled")
    assert_error(api.post(PASSWORDLESS, {}, format="json"), 429, "throttled")


def test_a_passkey_alone_meets_an_organization_that_requires_passkeys(api, user, with_passkey):
    from django.contrib.auth.models import Group

    from drf_twostep.models import OrganizationPolicy

    authenticator, _ = with_passkey
    clinic = Group.objects.create(name="Clinic")
    user.groups.add(clinic)
    OrganizationPolicy.objects.create(
        organization=clinic, required=True, grace_period_days=0, allowed_methods=["passkey"]
    )
    response = sign_in_alone(api, authenticator)
    assert response.status_code == 200, response.content
    assert works_past_two_step(response.json()["token"])


# -- unavailable ---------------------------------------------------------------------------


def test_without_the_relying_party_the_kind_is_not_allowed(api, user):
    client = token_client(login(api).json()["token"])
    unset = {k: v for k, v in django_settings.DRF_TWOSTEP.items() if k not in PASSKEYS}
    with override_settings(DRF_TWOSTEP=unset):
        assert_error(start_setup(client, kind="passkey"), 400, "method_not_allowed")
        assert_error(api.post(OPTIONS, format="json"), 400, "method_not_allowed")
        body = {"challenge": "x", "credential": {}}
        assert_error(api.post(PASSWORDLESS, body, format="json"), 400, "method_not_allowed")


def test_without_the_extra_the_kind_is_not_allowed(api, user, monkeypatch):
    monkeypatch.setattr(_webauthn, "webauthn", None)  # as when the import failed
    client = token_client(login(api).json()["token"])
    assert_error(start_setup(client, kind="passkey"), 400, "method_not_allowed")
    assert_error(api.post(OPTIONS, format="json"), 400, "method_not_allowed")


# -- bad input -----------------------------------------------------------------------------

JUNK = [None, 0, 1.5, True, "", "x", "{}", "=", "a" * 70000, [], [{}], {}, {"type": "public-key"}]
REMOVE = object()

# The fields a credential is verified by (others, such as authenticatorAttachment, are read
# by nobody): each replaced by each junk value, or removed, must fail.
REGISTRATION_FIELDS = [
    ("id",),
    ("rawId",),
    ("type",),
    ("response",),
    ("response", "clientDataJSON"),
    ("response", "attestationObject"),
]
ASSERTION_FIELDS = [
    ("id",),
    ("rawId",),
    ("type",),
    ("response",),
    ("response", "clientDataJSON"),
    ("response", "authenticatorData"),
    ("response", "signature"),
]


def mutated(credential, path, junk):
    """``credential`` with the field at ``path`` replaced by ``junk`` (or removed)."""
    result = copy.deepcopy(credential)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    if junk is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = junk
    return result


CASES = [(path, junk) for path in ASSERTION_FIELDS for junk in [*JUNK, REMOVE]]


def _afresh():
    """Failures count toward the lockout and the throttles: each case starts afresh."""
    TwoStepProfile.objects.update(failed_attempts=0, locked_until=None)
    cache.clear()


def test_every_field_of_an_assertion_malformed_is_invalid_passkey(api, with_passkey):
    authenticator, _ = with_passkey
    for path, junk in CASES:
        _afresh()
        body = challenge_for(api)
        bad = mutated(authenticator.get(body["passkey"]), path, junk)
        assert_error(verify(api, body["challenge"], credential=bad), 400, "invalid_passkey")


def test_every_field_of_a_passwordless_assertion_malformed_is_invalid_passkey(api, with_passkey):
    authenticator, _ = with_passkey
    handle = [(("response", "userHandle"), junk) for junk in [*JUNK, REMOVE]]
    for path, junk in [*CASES, *handle]:
        _afresh()
        options = passwordless_options(api)
        bad = mutated(authenticator.get(options["public_key"]), path, junk)
        body = {"challenge": options["challenge"], "credential": bad}
        assert_error(api.post(PASSWORDLESS, body, format="json"), 400, "invalid_passkey")


def test_every_field_of_a_registration_malformed_is_invalid_passkey(api, user):
    client = token_client(login(api).json()["token"])
    setup = start_setup(client, kind="passkey").json()
    credential = SoftAuthenticator().create(setup["public_key"])
    cases = [mutated(credential, path, junk) for path in REGISTRATION_FIELDS for junk in JUNK]
    for bad in [*cases, *JUNK]:
        cache.clear()
        url = f"{METHODS}{setup['id']}/confirm/"
        assert_error(client.post(url, {"credential": bad}, format="json"), 400, "invalid_passkey")
    # None of them used the challenge up.
    confirmed = client.post(url, {"credential": credential}, format="json")
    assert confirmed.status_code == 200, confirmed.content


@pytest.mark.parametrize(
    "body",
    [{}, {"challenge": 1}, {"challenge": None, "credential": {}}, {"credential": {}}, []],
    ids=["empty", "challenge-number", "challenge-null", "no-challenge", "list"],
)
def test_a_malformed_passwordless_body_is_a_400_with_a_code(api, db, body):
    response = api.post(PASSWORDLESS, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid", "invalid_passkey")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        max_leaves=10,
    )
)
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_json_as_the_credential_is_never_a_server_error(api, db, value):
    cache.clear()
    response = api.post(PASSWORDLESS, {"challenge": "abc", "credential": value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid_passkey", "invalid")


def test_a_credential_as_a_json_string_is_accepted(api, with_passkey):
    authenticator, _ = with_passkey
    options = passwordless_options(api)
    credential = json.dumps(authenticator.get(options["public_key"]))
    body = {"challenge": options["challenge"], "credential": credential}
    assert api.post(PASSWORDLESS, body, format="json").status_code == 200


# -- every issuer --------------------------------------------------------------------------


@pytest.fixture(params=STACKS)
def stack(request, settings, monkeypatch):
    use(request.param, settings, monkeypatch)
    return request.param


def test_every_issuer_counts_a_passkey_as_the_second_step(user, stack):
    api = APIClient()
    client = stack.client(api, login(api).json())
    confirmed, authenticator = add_passkey(client)
    assert confirmed.status_code == 200, confirmed.content
    assert stack.client(client, confirmed.json()).get(ME).status_code == 200

    api = APIClient()
    started = challenge_for(api)
    assert "token" not in started
    verified = verify(api, started["challenge"], credential=authenticator.get(started["passkey"]))
    assert verified.status_code == 200, verified.content
    assert stack.client(api, verified.json()).get(ME).status_code == 200

    api = APIClient()
    alone = sign_in_alone(api, authenticator)
    assert alone.status_code == 200, alone.content
    assert stack.client(api, alone.json()).get(ME).status_code == 200
    if stack is JWT:
        assert claims(verified.json()["token"])["amr"] == ["pwd", "swk"]
        assert claims(alone.json()["token"])["amr"] == ["swk", "mfa"]
        assert claims(alone.json()["refresh"])["amr"] == ["swk", "mfa"]


@needs_jwt
def test_a_device_bound_passkey_is_a_hardware_key_in_the_jwt(user, settings, monkeypatch):
    use(JWT, settings, monkeypatch)
    api = APIClient()
    client = JWT.client(api, login(api).json())
    device_bound = SoftAuthenticator(backup_eligible=False, backed_up=False)
    confirmed, _ = add_passkey(client, device_bound)
    assert confirmed.status_code == 200, confirmed.content
    alone = sign_in_alone(APIClient(), device_bound)
    assert claims(alone.json()["token"])["amr"] == ["hwk", "mfa"]
    started = challenge_for(api)
    verified = verify(api, started["challenge"], credential=device_bound.get(started["passkey"]))
    assert claims(verified.json()["token"])["amr"] == ["pwd", "hwk"]


def claims(token):
    from rest_framework_simplejwt.tokens import UntypedToken

    return UntypedToken(token).payload


# -- what each costs -----------------------------------------------------------------------


def test_the_queries_of_each_passkey_request(api, with_passkey, django_assert_num_queries):
    authenticator, token = with_passkey
    # The password, the profile, the challenge, the methods; the passkeys and their
    # ceremony challenge.
    with django_assert_num_queries(6):
        started = login(api).json()
    credential = authenticator.get(started["passkey"])
    # Savepoint; the locked challenge, profile and methods (with the status object's recovery
    # codes and policies); the ceremony challenge found and deleted; the sign count, last use,
    # completion; the token, profile, event, last_login; release.
    with django_assert_num_queries(13):
        assert verify(api, started["challenge"], credential=credential).status_code == 200
    # Savepoint, the ceremony challenge, release.
    with django_assert_num_queries(3):
        options = passwordless_options(api)
    credential = authenticator.get(options["public_key"])
    body = {"challenge": options["challenge"], "credential": credential}
    # As the second step, less the login challenge (found, completed) and with the method's
    # user loaded with it; whether the client is known rides on the profile's lock.
    with django_assert_num_queries(16):
        assert api.post(PASSWORDLESS, body, format="json").status_code == 200
