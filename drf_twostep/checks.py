"""System checks for the ``DRF_TWOSTEP`` settings."""

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, register

from .settings import DEFAULTS, IMPORT_STRINGS, REMOVED_SETTINGS, SETTINGS_NAME, perform_import


@register(Tags.security, "drf_twostep")
def check_settings(app_configs=None, **kwargs):
    errors = []
    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    if not isinstance(user_settings, dict):
        return [Error(f"{SETTINGS_NAME} must be a dict.", id="drf_twostep.E000")]
    for key in user_settings:
        if key in REMOVED_SETTINGS:
            errors.append(
                Error(f"{SETTINGS_NAME}[{key!r}] was removed.", hint=REMOVED_SETTINGS[key], id="drf_twostep.E004")
            )
        elif key not in DEFAULTS:
            errors.append(
                Error(
                    f"Unknown setting {SETTINGS_NAME}[{key!r}].",
                    hint="Known settings: " + ", ".join(sorted(DEFAULTS)),
                    id="drf_twostep.E001",
                )
            )
    for key in IMPORT_STRINGS:
        if key in user_settings:
            try:
                perform_import(user_settings[key], key)
            except ImportError as exc:
                errors.append(Error(str(exc), id="drf_twostep.E002"))
    issuer = user_settings.get("TOKEN_ISSUER", DEFAULTS["TOKEN_ISSUER"])
    if issuer == DEFAULTS["TOKEN_ISSUER"] and not apps.is_installed("rest_framework.authtoken"):
        errors.append(
            Error(
                "The default TOKEN_ISSUER needs 'rest_framework.authtoken' in INSTALLED_APPS.",
                hint="Add it, or set DRF_TWOSTEP['TOKEN_ISSUER'] to another issuer.",
                id="drf_twostep.E003",
            )
        )
    digits = user_settings.get("TOTP_DIGITS", DEFAULTS["TOTP_DIGITS"])
    period = user_settings.get("TOTP_PERIOD", DEFAULTS["TOTP_PERIOD"])
    algorithm = str(user_settings.get("TOTP_ALGORITHM", DEFAULTS["TOTP_ALGORITHM"])).upper()
    if not (isinstance(digits, int) and 6 <= digits <= 10):
        errors.append(Error("TOTP_DIGITS must be between 6 and 10.", id="drf_twostep.E005"))
    if not (isinstance(period, int) and 0 < period <= 120):
        errors.append(Error("TOTP_PERIOD must be between 1 and 120 seconds.", id="drf_twostep.E006"))
    if algorithm not in ("SHA1", "SHA256", "SHA512"):
        errors.append(Error("TOTP_ALGORITHM must be SHA1, SHA256 or SHA512.", id="drf_twostep.E007"))
    secret_bytes = user_settings.get("TOTP_SECRET_BYTES", DEFAULTS["TOTP_SECRET_BYTES"])
    if not (isinstance(secret_bytes, int) and secret_bytes >= 20 and secret_bytes % 5 == 0):
        errors.append(
            Error("TOTP_SECRET_BYTES must be a multiple of 5 and at least 20.", id="drf_twostep.E008")
        )
    return errors
