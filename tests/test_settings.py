"""
The ``DRF_TWOSTEP`` settings dict: defaults, overrides seen at once, import strings, and the
effect of each setting on the HTTP behaviour it governs.
"""

from __future__ import annotations

from importlib.util import find_spec
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from cryptography.fernet import InvalidToken
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from drf_twostep import crypto
from drf_twostep.adapter import DefaultTwoStepAdapter
from drf_twostep.methods.email import EmailMethod
from drf_twostep.methods.passkey import PasskeyMethod
from drf_twostep.methods.sms import SmsMethod
from drf_twostep.methods.totp import AuthenticatorAppMethod
from drf_twostep.models import TwoStepMethod
from drf_twostep.settings import DEFAULTS, twostep_settings
from drf_twostep.sms.backends.console import SmsBackend as ConsoleSmsBackend
from tests.helpers import AUTH, login, secret_of, start_setup, token_client, totp_from_uri, verify

ISSUER = "Test Clinic"


def twostep(**values):
    """override_settings for DRF_TWOSTEP, keeping the test project's issuer name."""
    return override_settings(DRF_TWOSTEP={"ISSUER_NAME": ISSUER, **values})


def confirm(client, method_id, code):
    return client.post(
        f"{AUTH}two-step/methods/{method_id}/confirm/", {"code": code}, format="json"
    )


def uri_params(uri):
    return {key: values[0] for key, values in parse_qs(urlsplit(uri).query).items()}


@pytest.fixture
def alice(api, user, clock):
    return token_client(login(api).json()["token"])


class ClinicAdapter(DefaultTwoStepAdapter):
    def get_issuer_name(self):
        return "Adapter Clinic"


# -- reading the settings -------------------------------------------------------------------


def test_unset_settings_have_their_defaults():
    for key, default in DEFAULTS.items():
        if key in ("ISSUER_NAME", "TOKEN_ISSUER", "ADAPTER", "METHOD_CLASSES", "SMS_BACKEND"):
            continue
        assert getattr(twostep_settings, key) == default, key
    assert twostep_settings.ISSUER_NAME == ISSUER


def test_import_strings_are_imported():
    assert twostep_settings.ADAPTER is DefaultTwoStepAdapter
    # Passkeys are listed by default when their extra (webauthn) is installed.
    passkey = [PasskeyMethod] if find_spec("webauthn") else []
    assert twostep_settings.METHOD_CLASSES == [
        AuthenticatorAppMethod,
        SmsMethod,
        EmailMethod,
        *passkey,
    ]
    with twostep():
        assert twostep_settings.SMS_BACKEND is ConsoleSmsBackend
    with twostep(ADAPTER="tests.test_settings.ClinicAdapter"):
        assert twostep_settings.ADAPTER is ClinicAdapter
    assert twostep_settings.ADAPTER is DefaultTwoStepAdapter


def test_a_bad_import_string_names_the_setting():
    with twostep(ADAPTER="tests.no_such_module.Adapter"):
        with pytest.raises(ImportError, match="ADAPTER"):
            _ = twostep_settings.ADAPTER


def test_an_unknown_setting_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NO_SUCH_SETTING"):
        _ = twostep_settings.NO_SUCH_SETTING


def test_overrides_are_seen_at_once_and_undone_after():
    before = twostep_settings.TOTP_WINDOW
    with twostep(TOTP_WINDOW=before + 2):
        assert twostep_settings.TOTP_WINDOW == before + 2
    assert twostep_settings.TOTP_WINDOW == before


def test_throttle_rates_are_merged_over_the_defaults():
    with twostep(THROTTLE_RATES={"twostep_login": "1/min"}):
        rates = twostep_settings.THROTTLE_RATES
    assert rates["twostep_login"] == "1/min"
    for scope, rate in DEFAULTS["THROTTLE_RATES"].items():
        if scope != "twostep_login":
            assert rates[scope] == rate


def test_settings_can_be_missing_altogether(alice):
    with override_settings(DRF_TWOSTEP=None):
        assert twostep_settings.TOTP_DIGITS == DEFAULTS["TOTP_DIGITS"]
        assert start_setup(alice).status_code == 201


# -- what each setting changes ----------------------------------------------------------------


def test_issuer_name_defaults_to_django_without_the_sites_framework(alice):
    with override_settings(DRF_TWOSTEP={}):
        uri = start_setup(alice).json()["otpauth_uri"]
    assert uri_params(uri)["issuer"] == "Django"
    assert urlsplit(uri).path.startswith("/Django:")


def test_the_adapter_names_the_issuer(alice):
    with twostep(ADAPTER="tests.test_settings.ClinicAdapter"):
        uri = start_setup(alice).json()["otpauth_uri"]
    assert uri_params(uri)["issuer"] == "Adapter Clinic"


def test_totp_parameters_shape_new_methods(alice):
    with twostep(TOTP_DIGITS=8, TOTP_PERIOD=60, TOTP_ALGORITHM="SHA256"):
        setup = start_setup(alice).json()
        params = uri_params(setup["otpauth_uri"])
        assert (params["digits"], params["period"], params["algorithm"]) == ("8", "60", "SHA256")
        totp = totp_from_uri(setup["otpauth_uri"])
        assert len(totp.now()) == 8
        # A 6-digit SHA1/30 s code from the same secret is refused.
        wrong = pyotp.TOTP(secret_of(setup["otpauth_uri"])).now()
        assert confirm(alice, setup["id"], wrong).json()["code"] == "invalid_code"
        assert confirm(alice, setup["id"], totp.now()).status_code == 200


def test_a_method_keeps_its_parameters_when_the_settings_change(api, alice, clock):
    with twostep(TOTP_DIGITS=8):
        setup = start_setup(alice).json()
    totp = totp_from_uri(setup["otpauth_uri"])
    assert confirm(alice, setup["id"], totp.now()).status_code == 200
    clock.shift(totp.interval)
    challenge = login(api).json()["challenge"]
    assert verify(api, challenge, code=totp.now()).status_code == 200


def test_totp_secret_bytes_sets_the_secret_length(alice):
    with twostep(TOTP_SECRET_BYTES=40):
        key = start_setup(alice).json()["setup_key"].replace(" ", "")
    assert len(key) * 5 == 40 * 8


def test_totp_window_zero_refuses_the_previous_steps_code(api, user_with_totp, clock):
    clock.shift(user_with_totp.totp.interval)  # the step before now is not the confirmation's
    previous = user_with_totp.code(offset_steps=-1)
    with twostep(TOTP_WINDOW=0):
        challenge = login(api).json()["challenge"]
        response = verify(api, challenge, code=previous)
        assert response.json()["code"] == "invalid_code"
    challenge = login(api).json()["challenge"]
    assert verify(api, challenge, code=previous).status_code == 200


def test_pending_method_lifetime_is_configurable(alice, clock):
    with twostep(PENDING_METHOD_LIFETIME=60):
        setup = start_setup(alice).json()
        clock.shift(60)
        response = confirm(alice, setup["id"], totp_from_uri(setup["otpauth_uri"]).now())
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_challenge_lifetime_is_configurable(api, user_with_totp, clock):
    with twostep(CHALLENGE_LIFETIME=60):
        body = login(api).json()
        assert body["expires_in"] == 60
        clock.shift(60)
        response = verify(api, body["challenge"], code=user_with_totp.code())
    assert response.status_code == 400
    assert response.json()["code"] == "challenge_expired"


def test_recovery_code_count_is_configurable(alice):
    with twostep(RECOVERY_CODE_COUNT=3):
        setup = start_setup(alice).json()
        body = confirm(alice, setup["id"], totp_from_uri(setup["otpauth_uri"]).now()).json()
        assert len(set(body["recovery_codes"])) == 3
        status = token_client(body["token"]).get(AUTH + "two-step/").json()
    assert status["recovery_codes"]["remaining"] == status["recovery_codes"]["total"] == 3


def test_method_classes_limit_the_kinds_on_offer(alice, user):
    with twostep(METHOD_CLASSES=[]):
        response = start_setup(alice)
    assert response.status_code == 400
    assert response.json()["code"] == "method_not_allowed"
    assert not TwoStepMethod.objects.filter(user=user).exists()


def test_notifications_can_be_turned_off(alice, django_capture_on_commit_callbacks):
    setup = start_setup(alice).json()
    mail.outbox.clear()
    with twostep(NOTIFICATIONS_ENABLED=False), django_capture_on_commit_callbacks(execute=True):
        assert (
            confirm(alice, setup["id"], totp_from_uri(setup["otpauth_uri"]).now()).status_code
            == 200
        )
    assert mail.outbox == []


@pytest.mark.parametrize("trusted, expected", [(False, "127.0.0.1"), (True, "203.0.113.9")])
def test_x_forwarded_for_is_used_only_when_trusted(alice, trusted, expected):
    setup = start_setup(alice).json()
    with twostep(TRUST_X_FORWARDED_FOR=trusted):
        response = alice.post(
            f"{AUTH}two-step/methods/{setup['id']}/confirm/",
            {"code": totp_from_uri(setup["otpauth_uri"]).now()},
            format="json",
            HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1",
        )
    client = token_client(response.json()["token"])
    results = client.get(AUTH + "two-step/events/").json()["results"]
    # The confirmation's events (not the sign-in before it, made without the header).
    ips = {event["ip"] for event in results if event["kind"] != "signed_in"}
    assert ips == {expected}


@pytest.mark.parametrize(
    "header", ["unknown", "", "  ,10.0.0.1", "not-an-ip, 203.0.113.9", "203.0.113.9:443"]
)
def test_a_forwarded_for_that_is_not_an_address_falls_back_to_the_peer(alice, header):
    setup = start_setup(alice).json()
    with twostep(TRUST_X_FORWARDED_FOR=True):
        response = alice.post(
            f"{AUTH}two-step/methods/{setup['id']}/confirm/",
            {"code": totp_from_uri(setup["otpauth_uri"]).now()},
            format="json",
            HTTP_X_FORWARDED_FOR=header,
        )
    assert response.status_code == 200
    client = token_client(response.json()["token"])
    ips = {event["ip"] for event in client.get(AUTH + "two-step/events/").json()["results"]}
    assert ips == {"127.0.0.1"}


# -- encryption keys --------------------------------------------------------------------------


def test_without_encryption_keys_the_secret_key_and_its_fallbacks_are_used(settings, alice):
    setup = start_setup(alice).json()
    stored = TwoStepMethod.objects.values_list("secret", flat=True).get(pk=setup["id"])
    old_secret_key = settings.SECRET_KEY
    with override_settings(
        SECRET_KEY="a-new-secret-key-" + "y" * 40, SECRET_KEY_FALLBACKS=[old_secret_key]
    ):
        assert secret_of(setup["otpauth_uri"]) in crypto.decrypt(stored)
    with override_settings(SECRET_KEY="a-new-secret-key-" + "y" * 40, SECRET_KEY_FALLBACKS=[]):
        with pytest.raises(InvalidToken):
            crypto.decrypt(stored)


def test_a_single_encryption_key_may_be_a_plain_string(alice):
    with twostep(ENCRYPTION_KEYS="one passphrase"):
        setup = start_setup(alice).json()
        stored = TwoStepMethod.objects.values_list("secret", flat=True).get(pk=setup["id"])
        assert secret_of(setup["otpauth_uri"]) in crypto.decrypt(stored)
    with twostep(ENCRYPTION_KEYS=["another passphrase"]), pytest.raises(InvalidToken):
        crypto.decrypt(stored)


def test_an_empty_key_list_is_refused():
    with twostep(ENCRYPTION_KEYS=[]), pytest.raises(ImproperlyConfigured):
        crypto.encrypt("anything")


def test_encryption_is_not_deterministic():
    # Fernet: a fresh IV each time, so equal secrets never give equal columns.
    assert crypto.encrypt("same") != crypto.encrypt("same")
