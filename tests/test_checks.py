"""System checks on the DRF_TWOSTEP settings (``manage.py check``)."""

from __future__ import annotations

import importlib.util

import pytest
from django.conf import settings
from django.core.checks import Error, Warning, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

ISSUER = "Test Clinic"


def twostep_errors(**values):
    """The ids of the package's check messages for DRF_TWOSTEP = {ISSUER_NAME, **values}."""
    with override_settings(DRF_TWOSTEP={"ISSUER_NAME": ISSUER, **values}):
        return ids(run_checks())


def ids(messages):
    return [m.id for m in messages if m.id and m.id.startswith("drf_twostep.")]


def test_the_test_settings_pass_the_checks():
    assert ids(run_checks()) == []
    call_command("check", "--fail-level", "ERROR")


def test_settings_that_are_not_a_dict_are_an_error():
    with override_settings(DRF_TWOSTEP=["ISSUER_NAME"]):
        assert ids(run_checks()) == ["drf_twostep.E000"]


def test_an_unknown_setting_is_an_error_that_lists_the_known_ones():
    with override_settings(DRF_TWOSTEP={"ISSUER_NAME": ISSUER, "TOTP_DIGIT": 6}):
        messages = [m for m in run_checks() if m.id == "drf_twostep.E001"]
    assert len(messages) == 1
    assert isinstance(messages[0], Error)
    assert "TOTP_DIGIT" in messages[0].msg
    assert "TOTP_DIGITS" in messages[0].hint


def test_an_unknown_setting_fails_manage_py_check():
    with override_settings(DRF_TWOSTEP={"ISSUER_NAME": ISSUER, "NOT_A_SETTING": True}):
        with pytest.raises(SystemCheckError, match="NOT_A_SETTING"):
            call_command("check")


@pytest.mark.parametrize(
    "key, value",
    [
        ("ADAPTER", "tests.nowhere.Adapter"),
        ("TOKEN_ISSUER", "drf_twostep.issuers.NoSuchIssuer"),
        (
            "METHOD_CLASSES",
            [
                "drf_twostep.methods.totp.AuthenticatorAppMethod",
                "drf_twostep.methods.pigeon.Pigeon",
            ],
        ),
    ],
)
def test_an_import_string_that_does_not_import_is_an_error(key, value):
    assert "drf_twostep.E002" in twostep_errors(**{key: value})


@pytest.mark.parametrize(
    "values",
    [
        {"ADAPTER": "drf_twostep.adapter.DefaultTwoStepAdapter"},
        {"METHOD_CLASSES": ["drf_twostep.methods.totp.AuthenticatorAppMethod"]},
        {"TOTP_DIGITS": 8, "TOTP_PERIOD": 60, "TOTP_ALGORITHM": "sha256", "TOTP_SECRET_BYTES": 40},
        {
            "TOTP_DIGITS": 10,
            "TOTP_PERIOD": 120,
            "TOTP_ALGORITHM": "SHA512",
            "TOTP_SECRET_BYTES": 20,
        },
    ],
)
def test_valid_values_pass(values):
    assert twostep_errors(**values) == []


def test_the_default_issuer_needs_authtoken_installed():
    apps_without_authtoken = [a for a in settings.INSTALLED_APPS if a != "rest_framework.authtoken"]
    with override_settings(INSTALLED_APPS=apps_without_authtoken):
        with override_settings(DRF_TWOSTEP={"ISSUER_NAME": ISSUER}):
            assert ids(run_checks()) == ["drf_twostep.E003"]
        other_issuer = {"ISSUER_NAME": ISSUER, "TOKEN_ISSUER": "tests.test_checks.NullIssuer"}
        with override_settings(DRF_TWOSTEP=other_issuer):
            assert ids(run_checks()) == []


class NullIssuer:
    """A token issuer that needs no app (only its import matters here)."""


@pytest.mark.parametrize("digits", [5, 11, "6", None, 6.0])
def test_totp_digits_outside_6_to_10_is_an_error(digits):
    assert twostep_errors(TOTP_DIGITS=digits) == ["drf_twostep.E005"]


@pytest.mark.parametrize("period", [0, -30, 121, "30", 30.5])
def test_totp_period_outside_1_to_120_seconds_is_an_error(period):
    assert twostep_errors(TOTP_PERIOD=period) == ["drf_twostep.E006"]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA224", "", "SHA-1"])
def test_an_unsupported_totp_algorithm_is_an_error(algorithm):
    assert twostep_errors(TOTP_ALGORITHM=algorithm) == ["drf_twostep.E007"]


@pytest.mark.parametrize("secret_bytes", [10, 16, 19, 21, 24, "20"])
def test_totp_secret_bytes_below_20_or_not_a_multiple_of_5_is_an_error(secret_bytes):
    assert twostep_errors(TOTP_SECRET_BYTES=secret_bytes) == ["drf_twostep.E008"]


def test_every_problem_is_reported_at_once():
    errors = twostep_errors(
        TOTP_DIGITS=4, TOTP_PERIOD=0, TOTP_ALGORITHM="MD5", TOTP_SECRET_BYTES=8, TYPO=1
    )
    assert sorted(errors) == [
        "drf_twostep.E001",
        "drf_twostep.E005",
        "drf_twostep.E006",
        "drf_twostep.E007",
        "drf_twostep.E008",
    ]


def test_routing_drfs_password_only_token_view_is_an_error():
    with override_settings(ROOT_URLCONF="tests.testapp.urls_obtain_token"):
        messages = [m for m in run_checks() if m.id == "drf_twostep.E009"]
        assert len(messages) == 1
        assert "api/token/" in messages[0].msg
        with pytest.raises(SystemCheckError, match="drf_twostep.E009"):
            call_command("check")
        # Another issuer has no such shared token.
        other_issuer = {"ISSUER_NAME": ISSUER, "TOKEN_ISSUER": "tests.test_checks.NullIssuer"}
        with override_settings(DRF_TWOSTEP=other_issuer):
            assert "drf_twostep.E009" not in ids(run_checks())


def test_the_http_sms_backend_needs_a_url():
    backend = "drf_twostep.sms.backends.http.SmsBackend"
    assert twostep_errors(SMS_BACKEND=backend) == ["drf_twostep.E010"]
    assert twostep_errors(SMS_BACKEND=backend, SMS_HTTP_URL="https://sms.example.com/v1") == []


@pytest.mark.parametrize("digits", [4, 5, 11, "6", None])
def test_delivered_code_digits_outside_6_to_10_are_an_error(digits):
    assert twostep_errors(DELIVERED_CODE_DIGITS=digits) == ["drf_twostep.E011"]


def deploy_ids(**overrides):
    with override_settings(**overrides):
        return ids(run_checks(include_deployment_checks=True))


LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "",
        "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
    }
}


@pytest.mark.parametrize("caches", [LOCMEM, DUMMY])
def test_throttles_on_a_per_process_cache_are_a_deploy_warning(caches):
    assert deploy_ids(DEBUG=False, CACHES=caches) == ["drf_twostep.W001"]
    with override_settings(DEBUG=False, CACHES=caches):
        [message] = [
            m for m in run_checks(include_deployment_checks=True) if m.id == "drf_twostep.W001"
        ]
    assert isinstance(message, Warning)
    assert caches["default"]["BACKEND"] in message.msg
    assert "Redis" in message.hint
    # Not among the everyday checks, and not with DEBUG on.
    with override_settings(DEBUG=False, CACHES=caches):
        assert ids(run_checks()) == []
    assert deploy_ids(DEBUG=True, CACHES=caches) == []


def test_throttles_on_a_shared_cache_or_switched_off_pass_the_deploy_checks():
    assert deploy_ids(DEBUG=False, CACHES=REDIS) == []
    from drf_twostep.settings import DEFAULTS

    no_throttles = {
        "ISSUER_NAME": ISSUER,
        "THROTTLE_RATES": dict.fromkeys(DEFAULTS["THROTTLE_RATES"]),
    }
    assert deploy_ids(DEBUG=False, CACHES=LOCMEM, DRF_TWOSTEP=no_throttles) == []


# -- passkeys -------------------------------------------------------------------------------

PASSKEYS = {
    "METHOD_CLASSES": [
        "drf_twostep.methods.totp.AuthenticatorAppMethod",
        "drf_twostep.methods.passkey.PasskeyMethod",
    ]
}
needs_webauthn = pytest.mark.skipif(
    importlib.util.find_spec("webauthn") is None,
    reason='needs "drf-twostep[passkeys]"',
)


@needs_webauthn
def test_passkeys_with_their_relying_party_pass():
    origins = ["https://example.com"]
    assert twostep_errors(**PASSKEYS, WEBAUTHN_RP_ID="example.com", WEBAUTHN_ORIGINS=origins) == []


@needs_webauthn
@pytest.mark.parametrize(
    "values",
    [{}, {"WEBAUTHN_RP_ID": "example.com"}, {"WEBAUTHN_ORIGINS": ["https://example.com"]}],
    ids=["neither", "no origins", "no RP ID"],
)
def test_passkeys_without_their_relying_party_are_an_error_outside_debug(values):
    assert set(twostep_errors(**PASSKEYS, **values)) == {"drf_twostep.E014"}
    with override_settings(DEBUG=True):
        assert set(twostep_errors(**PASSKEYS, **values)) == {"drf_twostep.W003"}


@needs_webauthn
def test_the_relying_party_alone_turns_the_checks_on():
    assert twostep_errors(WEBAUTHN_RP_ID="example.com") == ["drf_twostep.E014"]
    assert twostep_errors() == []


@needs_webauthn
def test_the_default_method_classes_list_passkeys_without_asking_for_them():
    # With webauthn installed the default METHOD_CLASSES names the kind; a project that sets
    # no relying party has not asked for passkeys: no check, and the kind is not offered.
    from drf_twostep.methods import enabled_kinds
    from drf_twostep.settings import DEFAULTS

    assert "drf_twostep.methods.passkey.PasskeyMethod" in DEFAULTS["METHOD_CLASSES"]
    assert twostep_errors() == []
    with override_settings(DRF_TWOSTEP={"ISSUER_NAME": ISSUER}):
        assert "passkey" not in enabled_kinds()
    origins = ["https://example.com"]
    with override_settings(
        DRF_TWOSTEP={"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": origins}
    ):
        assert "passkey" in enabled_kinds()


@needs_webauthn
@pytest.mark.parametrize(
    "rp_id",
    [
        "https://example.com",
        "example.com:443",
        "example.com/",
        "Example.com",
        "127.0.0.1",
        "::1",
        "-example.com",
        "example..com",
        "",
        7,
    ],
)
def test_an_rp_id_that_is_no_domain_name_is_an_error(rp_id):
    errors = twostep_errors(**PASSKEYS, WEBAUTHN_RP_ID=rp_id, WEBAUTHN_ORIGINS=["https://a.b"])
    assert "drf_twostep.E014" in errors


@needs_webauthn
@pytest.mark.parametrize(
    "origins", ["https://example.com", [], [7], None], ids=["a string", "empty", "a number", "None"]
)
def test_origins_that_are_no_list_of_strings_are_an_error(origins):
    errors = twostep_errors(**PASSKEYS, WEBAUTHN_RP_ID="example.com", WEBAUTHN_ORIGINS=origins)
    assert errors == ["drf_twostep.E014"]


@needs_webauthn
@pytest.mark.parametrize(
    "origin",
    [
        "https://example.com",
        "https://app.example.com",
        "https://a.b.example.com:8443",
        "android:apk-key-hash:2jmj7l5rSw0yVb_vlWAYkK_YBwk",
    ],
)
def test_origins_of_the_rp_id_pass(origin):
    assert twostep_errors(**PASSKEYS, WEBAUTHN_RP_ID="example.com", WEBAUTHN_ORIGINS=[origin]) == []


@needs_webauthn
def test_http_origins_pass_on_localhost_only():
    for origin in ("http://localhost:8000", "http://app.localhost"):
        errors = twostep_errors(**PASSKEYS, WEBAUTHN_RP_ID="localhost", WEBAUTHN_ORIGINS=[origin])
        assert errors == [], origin
    origins = ["http://example.com"]
    errors = twostep_errors(**PASSKEYS, WEBAUTHN_RP_ID="example.com", WEBAUTHN_ORIGINS=origins)
    assert errors == ["drf_twostep.E015"]


@needs_webauthn
@pytest.mark.parametrize(
    "origin",
    [
        "https://example.org",
        "https://notexample.com",
        "https://example.com.evil.org",
        "https://example.com/",
        "https://example.com/login",
        "https://user@example.com",
        "https://Example.com",
        "https://example.com:port",
        "ftp://example.com",
        "example.com",
        "http://127.0.0.1:8000",
        "android:apk-key-hash:",
    ],
)
def test_an_origin_that_is_not_of_the_rp_id_is_an_error(origin):
    errors = twostep_errors(
        **PASSKEYS, WEBAUTHN_RP_ID="example.com", WEBAUTHN_ORIGINS=["https://example.com", origin]
    )
    assert errors == ["drf_twostep.E015"]


def test_drfs_own_exception_handler_with_the_package_authentication_is_a_warning():
    from django.conf import settings

    drf = "rest_framework.views.exception_handler"
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": drf}):
        [message] = [m for m in run_checks() if m.id == "drf_twostep.W004"]
        assert isinstance(message, Warning)
        assert "drf_twostep.exceptions.exception_handler" in message.hint
    # Not when the project's own authentication classes come first and alone.
    plain = {
        **settings.REST_FRAMEWORK,
        "EXCEPTION_HANDLER": drf,
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    }
    with override_settings(REST_FRAMEWORK=plain):
        assert "drf_twostep.W004" not in ids(run_checks())
    # Nor with the package's handler, or a handler of the project's.
    for handler in (
        "drf_twostep.exceptions.exception_handler",
        "tests.test_errors.recording_handler",
    ):
        with override_settings(
            REST_FRAMEWORK={**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": handler}
        ):
            assert "drf_twostep.W004" not in ids(run_checks())


def redis_cache(backend, **options):
    return {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:6379/0", "OPTIONS": options}


DJANGO_REDIS = "django.core.cache.backends.redis.RedisCache"
THIRD_PARTY_REDIS = "django_redis.cache.RedisCache"


@pytest.mark.parametrize(
    ("backend", "option"), [(DJANGO_REDIS, "socket_timeout"), (THIRD_PARTY_REDIS, "SOCKET_TIMEOUT")]
)
def test_a_redis_cache_without_a_socket_timeout_is_a_warning(backend, option):
    from django.conf import settings

    from drf_twostep.checks import check_redis_timeouts

    # The check alone: Django's own cache checks would import django-redis.
    caches = {**settings.CACHES, "default": redis_cache(backend)}
    with override_settings(CACHES=caches):
        [message] = check_redis_timeouts()
    assert isinstance(message, Warning) and message.id == "drf_twostep.W005"
    assert option in message.msg and "'default'" in message.msg
    caches["default"] = redis_cache(backend, **{option: 0.25})
    with override_settings(CACHES=caches):
        assert check_redis_timeouts() == []


def test_the_enforcement_cache_is_checked_and_other_caches_are_not():
    from django.conf import settings

    caches = {
        **settings.CACHES,
        "twostep": redis_cache(DJANGO_REDIS),
        "other": redis_cache(DJANGO_REDIS),
    }
    with override_settings(CACHES=caches):
        assert "drf_twostep.W005" not in ids(run_checks())
        with override_settings(DRF_TWOSTEP={"ISSUER_NAME": ISSUER, "ENFORCEMENT_CACHE": "twostep"}):
            [message] = [m for m in run_checks() if m.id == "drf_twostep.W005"]
    assert "'twostep'" in message.msg
