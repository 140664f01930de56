"""The checks of the ``DRF_TWOSTEP`` settings, of the issuer and of the exception handler."""

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..settings import DEFAULTS, IMPORT_STRINGS, REMOVED_SETTINGS, SETTINGS_NAME, perform_import


@register(Tags.security, "drf_twostep")
def check_settings(app_configs=None, **kwargs):
    errors = []
    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    if not isinstance(user_settings, dict):
        return [Error(f"{SETTINGS_NAME} must be a dict.", id="drf_twostep.E000")]
    for key in user_settings:
        if key in REMOVED_SETTINGS:
            errors.append(
                Error(
                    f"{SETTINGS_NAME}[{key!r}] was removed.",
                    hint=REMOVED_SETTINGS[key],
                    id="drf_twostep.E004",
                )
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
    errors += _issuer_errors(issuer)
    digits = user_settings.get("TOTP_DIGITS", DEFAULTS["TOTP_DIGITS"])
    period = user_settings.get("TOTP_PERIOD", DEFAULTS["TOTP_PERIOD"])
    algorithm = str(user_settings.get("TOTP_ALGORITHM", DEFAULTS["TOTP_ALGORITHM"])).upper()
    if not (isinstance(digits, int) and 6 <= digits <= 10):
        errors.append(Error("TOTP_DIGITS must be between 6 and 10.", id="drf_twostep.E005"))
    if not (isinstance(period, int) and 0 < period <= 120):
        errors.append(
            Error("TOTP_PERIOD must be between 1 and 120 seconds.", id="drf_twostep.E006")
        )
    if algorithm not in ("SHA1", "SHA256", "SHA512"):
        errors.append(
            Error("TOTP_ALGORITHM must be SHA1, SHA256 or SHA512.", id="drf_twostep.E007")
        )
    delivered = user_settings.get("DELIVERED_CODE_DIGITS", DEFAULTS["DELIVERED_CODE_DIGITS"])
    if not (isinstance(delivered, int) and 6 <= delivered <= 10):
        errors.append(
            Error("DELIVERED_CODE_DIGITS must be between 6 and 10.", id="drf_twostep.E011")
        )
    backend = user_settings.get("SMS_BACKEND", DEFAULTS["SMS_BACKEND"])
    if backend == "drf_twostep.sms.backends.http.SmsBackend" and not user_settings.get(
        "SMS_HTTP_URL"
    ):
        errors.append(
            Error(
                "The HTTP SMS backend needs DRF_TWOSTEP['SMS_HTTP_URL'].",
                hint="Set it to the provider's endpoint, or choose another SMS_BACKEND.",
                id="drf_twostep.E010",
            )
        )
    secret_bytes = user_settings.get("TOTP_SECRET_BYTES", DEFAULTS["TOTP_SECRET_BYTES"])
    if not (isinstance(secret_bytes, int) and secret_bytes >= 20 and secret_bytes % 5 == 0):
        errors.append(
            Error(
                "TOTP_SECRET_BYTES must be a multiple of 5 and at least 20.", id="drf_twostep.E008"
            )
        )
    return errors


def _issuer_errors(path):
    """drf_twostep.E012: the configured issuer lacks a package or an app it needs."""
    try:
        issuer = perform_import(path, "TOKEN_ISSUER")
    except ImportError:
        return []  # drf_twostep.E002
    check = getattr(issuer, "check", None)
    problems = check() if callable(check) else []
    return [
        Error(
            f"{SETTINGS_NAME}['TOKEN_ISSUER'] is {getattr(issuer, '__name__', issuer)}, and "
            f"{problem}.",
            hint="Install what it needs (docs/issuers.md), or choose another TOKEN_ISSUER.",
            id="drf_twostep.E012",
        )
        for problem in problems
    ]


@register(Tags.security, "drf_twostep")
def check_issuer_is_enforced(app_configs=None, **kwargs):
    """
    drf_twostep.W002: no default authentication class accepts the configured issuer's
    credentials with 2SV enforced. Then they work nowhere, or (with the base class, such as
    Simple JWT's own JWTAuthentication) without the second step.
    """
    from django.utils.module_loading import import_string
    from rest_framework.settings import api_settings

    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    if not isinstance(user_settings, dict):
        return []
    try:
        issuer = perform_import(
            user_settings.get("TOKEN_ISSUER", DEFAULTS["TOKEN_ISSUER"]), "TOKEN_ISSUER"
        )
        required = import_string(issuer.authentication_class)
        configured = api_settings.DEFAULT_AUTHENTICATION_CLASSES
    except (ImportError, AttributeError, TypeError):
        return []  # drf_twostep.E002, E012, or an issuer that names no class
    if any(issubclass(cls, required) for cls in configured):
        return []
    return [
        Warning(
            f"No class in REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'] enforces 2SV on the "
            f"credentials of {issuer.__name__}.",
            hint=f"Add {issuer.authentication_class} (docs/issuers.md), or set it on every "
            "view that should accept these credentials.",
            id="drf_twostep.W002",
        )
    ]


@register(Tags.compatibility, "drf_twostep")
def check_exception_handler(app_configs=None, **kwargs):
    """
    drf_twostep.W004: the package's authentication classes are the project's defaults but the
    project's views answer with DRF's own exception handler, whose bodies have ``detail`` only:
    the enforcement answers there (``two_step_setup_required`` ...) then carry no ``code``, and
    ``reverification_required`` no ``max_age``. The package's own views keep the contract.
    """
    from rest_framework.settings import api_settings
    from rest_framework.views import exception_handler as drf_handler

    if api_settings.EXCEPTION_HANDLER is not drf_handler:
        return []
    classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES
    if not any(cls.__module__.startswith("drf_twostep.") for cls in classes):
        return []
    return [
        Warning(
            "REST_FRAMEWORK['EXCEPTION_HANDLER'] is DRF's: the 2-Step Verification answers "
            "on your own views will have a 'detail' but no 'code'.",
            hint="Set it to 'drf_twostep.exceptions.exception_handler' (it runs DRF's).",
            id="drf_twostep.W004",
        )
    ]
