"""System checks for the ``DRF_TWOSTEP`` settings."""

import ipaddress
import re
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

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


def _from_urlconf(walk) -> list:
    """What ``walk`` yields from the project's URL patterns; nothing from a broken URLconf
    (Django's own check reports it)."""
    from django.urls import get_resolver

    try:
        return list(walk(get_resolver().url_patterns))
    except Exception:  # noqa: BLE001
        return []


def _routed_views(patterns, prefix=""):
    """``(route, view class)`` for every class-based view the URL patterns reach."""
    from django.urls import URLPattern, URLResolver

    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routed_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "cls", None) or getattr(
                entry.callback, "view_class", None
            )
            if view_class is not None:
                yield prefix + str(entry.pattern), view_class


@register(Tags.security, Tags.urls, "drf_twostep")
def check_password_only_token_views(app_configs=None, **kwargs):
    """
    DRF's ``obtain_auth_token`` hands out the user's one ``Token`` for a password alone. With the
    default issuer that is the same token that passed the second step, so routing both would let
    a password stand in for the second step.
    """

    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    issuer = user_settings.get("TOKEN_ISSUER") if isinstance(user_settings, dict) else None
    if issuer not in (None, DEFAULTS["TOKEN_ISSUER"]) or not apps.is_installed(
        "rest_framework.authtoken"
    ):
        return []
    from rest_framework.authtoken.views import ObtainAuthToken

    routes = _from_urlconf(_routed_views)
    return [
        Error(
            f"DRF's password-only ObtainAuthToken is routed at {route!r}.",
            hint=(
                "It returns the token that drf_twostep's login marked as having passed the "
                "second step, for a password alone. Remove the route and sign in through "
                "drf_twostep's login/ and login/verify/."
            ),
            obj=view_class,
            id="drf_twostep.E009",
        )
        for route, view_class in routes
        if issubclass(view_class, ObtainAuthToken)
    ]


# Cache backends that keep their data inside one process.
_PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.security, Tags.caches, "drf_twostep", deploy=True)
def check_throttle_cache(app_configs=None, **kwargs):
    """
    drf_twostep.W001 (``check --deploy``, DEBUG off): the throttles count requests in Django's
    default cache. A per-process cache gives every worker process its own count (LocMemCache),
    or keeps none (DummyCache), so the rate limits do not hold.
    """
    if settings.DEBUG:
        return []
    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    rates = user_settings.get("THROTTLE_RATES", {}) if isinstance(user_settings, dict) else {}
    if isinstance(rates, dict) and not any({**DEFAULTS["THROTTLE_RATES"], **rates}.values()):
        return []  # no throttle is on
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend not in _PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            f"drf_twostep's throttles count requests in the default cache, {backend}, which "
            "each process keeps to itself: with several worker processes or servers the "
            "rate limits do not hold.",
            hint=(
                "Make CACHES['default'] a cache that all processes share (Redis, Memcached, "
                "the database cache)."
            ),
            id="drf_twostep.W001",
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


# Redis backends, and the OPTIONS key of each that bounds a read (a socket timeout).
_REDIS_SOCKET_TIMEOUT = {
    "django.core.cache.backends.redis.RedisCache": "socket_timeout",
    "django_redis.cache.RedisCache": "SOCKET_TIMEOUT",
}


@register(Tags.caches, "drf_twostep")
def check_redis_timeouts(app_configs=None, **kwargs):
    """
    drf_twostep.W005: a Redis cache the package uses (the default cache, where the throttles
    count, and ENFORCEMENT_CACHE) without a socket timeout. Without one, a Redis that hangs
    (paused, or a network that drops packets) holds every throttled or cached request for as
    long as the operating system waits, instead of the package's fail mode after a moment.
    """
    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    aliases = {"default"}
    if isinstance(user_settings, dict) and user_settings.get("ENFORCEMENT_CACHE"):
        aliases.add(user_settings["ENFORCEMENT_CACHE"])
    warnings = []
    for alias in sorted(aliases):
        cache = settings.CACHES.get(alias) or {}
        option = _REDIS_SOCKET_TIMEOUT.get(cache.get("BACKEND", ""))
        if option is None or (cache.get("OPTIONS") or {}).get(option):
            continue
        connect = option.replace("socket_", "socket_connect_").replace("SOCKET_", "SOCKET_CONNECT_")
        warnings.append(
            Warning(
                f"CACHES[{alias!r}] is a Redis cache without OPTIONS[{option!r}]: while Redis "
                "hangs, every request that uses it waits without a bound.",
                hint=f"Set OPTIONS {{{option!r}: 0.25, {connect!r}: 0.25}} (seconds), or what "
                "your network needs.",
                id="drf_twostep.W005",
            )
        )
    return warnings


PASSKEY_METHOD = "drf_twostep.methods.passkey.PasskeyMethod"
ANDROID_ORIGIN = "android:apk-key-hash:"


@register(Tags.security, "drf_twostep")
def check_passkeys(app_configs=None, **kwargs):
    """
    drf_twostep.E013: passkeys are asked for (the project lists the kind in METHOD_CLASSES, or
    sets WEBAUTHN_RP_ID or WEBAUTHN_ORIGINS) without the ``webauthn`` package.
    drf_twostep.E014 (W003 under DEBUG): the kind is enabled and the relying party is unset
    or malformed. drf_twostep.E015: an origin that is not a web origin of the RP ID (nor an
    Android app's), which browsers would never send.
    """
    from .methods import _webauthn

    user_settings = getattr(settings, SETTINGS_NAME, None) or {}
    if not isinstance(user_settings, dict):
        return []
    # The default METHOD_CLASSES lists the kind whenever webauthn is installed: only a
    # project that names it, or sets the relying party, has asked for passkeys.
    listed = user_settings.get("METHOD_CLASSES", [])
    listed = listed if isinstance(listed, (list, tuple)) else []
    enabled = PASSKEY_METHOD in listed
    rp_id = user_settings.get("WEBAUTHN_RP_ID", DEFAULTS["WEBAUTHN_RP_ID"])
    origins = user_settings.get("WEBAUTHN_ORIGINS", DEFAULTS["WEBAUTHN_ORIGINS"])
    if not _webauthn.installed():
        if enabled or rp_id or origins:
            return [
                Error(
                    "Passkeys need the webauthn package, which is not installed: the passkey "
                    "kind is unavailable.",
                    hint='pip install "drf-twostep[passkeys]" (docs/passkeys.md).',
                    id="drf_twostep.E013",
                )
            ]
        return []
    if not enabled and not (rp_id or origins):
        return []
    problems = []
    if not (isinstance(rp_id, str) and _is_domain(rp_id)):
        problems.append("WEBAUTHN_RP_ID must be a domain name such as 'example.com'")
    if not (
        isinstance(origins, (list, tuple))
        and origins
        and all(isinstance(origin, str) for origin in origins)
    ):
        problems.append("WEBAUTHN_ORIGINS must be a non-empty list of origins")
    if problems:
        unset = not rp_id or not origins
        make = Warning if settings.DEBUG and unset else Error
        return [
            make(
                f"{SETTINGS_NAME}: {problem}; until then the passkey kind is unavailable.",
                hint="Set the relying party of your site's passkeys (docs/passkeys.md).",
                id="drf_twostep.W003" if make is Warning else "drf_twostep.E014",
            )
            for problem in problems
        ]
    return [
        Error(
            f"{SETTINGS_NAME}['WEBAUTHN_ORIGINS'] lists {origin!r}, which is not a web origin "
            f"of the RP ID {rp_id!r}: browsers would never send it.",
            hint=(
                f"Each origin is https:// and {rp_id} or one of its subdomains, with a port "
                f"when not 443 (http:// only on localhost), or {ANDROID_ORIGIN}<hash> for an "
                "Android app."
            ),
            id="drf_twostep.E015",
        )
        for origin in origins
        if not _origin_of(origin, rp_id)
    ]


def _is_domain(name: str) -> bool:
    """A lowercase DNS name, not an IP address: what an RP ID may be."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return False
    label = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
    return len(name) <= 253 and re.fullmatch(rf"{label}(\.{label})*", name) is not None


def _origin_of(origin: str, rp_id: str) -> bool:
    """Whether ``origin`` is one that a browser or an Android app uses for ``rp_id``."""
    if origin.startswith(ANDROID_ORIGIN):
        return len(origin) > len(ANDROID_ORIGIN)
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme == "http":
        secure = host == "localhost" or host.endswith(".localhost")
    else:
        secure = parts.scheme == "https"
    return (
        secure
        # Browsers send the origin alone, in lowercase: nothing else ever matches.
        and origin == f"{parts.scheme}://{parts.netloc}".lower()
        and "@" not in parts.netloc
        and (host == rp_id or host.endswith("." + rp_id))
    )


def _admin_sites_routed(patterns):
    """The namespaces under which the URL patterns route an admin site's URLs."""
    from django.urls import URLResolver

    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin" and entry.namespace:
                yield entry.namespace
            yield from _admin_sites_routed(entry.url_patterns)


@register(Tags.security, Tags.admin, "drf_twostep", deploy=True)
def check_admin_sites(app_configs=None, **kwargs):
    """
    drf_twostep.W006 (``check --deploy``): an admin site routed in the URLconf whose login is
    the password alone (not a ``TwoStepAdminSiteMixin`` site), so a staff user with 2SV on, or
    one who must have it, opens it without a second step.
    """
    if not apps.is_installed("django.contrib.admin"):
        return []
    from django.contrib.admin.sites import all_sites

    from .admin_site import is_two_step

    routed = set(_from_urlconf(_admin_sites_routed))
    return [
        Warning(
            f"The admin site {site.name!r} ({type(site).__module__}.{type(site).__qualname__}) "
            "signs staff in with the password alone.",
            hint=(
                "Mix drf_twostep.admin_site.TwoStepAdminSiteMixin into its class, or use "
                "drf_twostep.admin_site.TwoStepAdminSite; for the default site, leave "
                "DRF_TWOSTEP['ADMIN_TWO_STEP'] on."
            ),
            obj=site,
            id="drf_twostep.W006",
        )
        for site in sorted(all_sites, key=lambda s: s.name)
        if site.name in routed and not is_two_step(site)
    ]
