"""
The ``DRF_TWOSTEP`` settings dict, read through ``twostep_settings``.

Projects configure the package with one dict in their Django settings::

    DRF_TWOSTEP = {
        "ISSUER_NAME": "Demo Clinic",
        "TOTP_WINDOW": 1,
    }

Values are looked up lazily on first access and cached; the cache is cleared whenever
``DRF_TWOSTEP`` changes (``override_settings`` in tests included), so nothing here is ever
frozen at import time. Unknown keys are reported by the ``drf_twostep.E001`` system check.
"""

from __future__ import annotations

from importlib.util import find_spec

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

SETTINGS_NAME = "DRF_TWOSTEP"

DEFAULTS = {
    # Name shown in authenticator apps (the otpauth label prefix and `issuer` parameter)
    # and printed on the recovery-code PDF. None falls back to the current Site's name when
    # django.contrib.sites is installed, else to "Django".
    "ISSUER_NAME": None,
    # TOTP parameters for new authenticator-app methods. SHA1 / 6 digits / 30 s is what every
    # common app supports; other values break some apps.
    "TOTP_ALGORITHM": "SHA1",
    "TOTP_DIGITS": 6,
    "TOTP_PERIOD": 30,
    # Time steps accepted either side of the server's current step (RFC 6238 section 5.2).
    "TOTP_WINDOW": 1,
    # Bytes of secret for new authenticator-app methods (20 bytes = 160 bits).
    "TOTP_SECRET_BYTES": 20,
    # Seconds a login challenge stays valid between the password and the code.
    "CHALLENGE_LIFETIME": 300,
    # Seconds a method that was set up but never confirmed stays usable for confirmation.
    "PENDING_METHOD_LIFETIME": 900,
    # How many recovery codes a user holds.
    "RECOVERY_CODE_COUNT": 1,
    # Wrong codes accepted for one login challenge before it is refused.
    "MAX_ATTEMPTS_PER_CHALLENGE": 5,
    # Consecutive wrong codes for one user (across challenges and clients) before a lockout.
    "LOCKOUT_THRESHOLD": 5,
    # First lockout in seconds; every further failure doubles it, up to LOCKOUT_MAX_SECONDS.
    "LOCKOUT_BASE_SECONDS": 60,
    "LOCKOUT_MAX_SECONDS": 3600,
    # Keys that encrypt method secrets at rest: a list of Fernet keys (urlsafe base64, 32 bytes)
    # or of any strings, which are stretched with HKDF. The first key encrypts; all decrypt, so
    # an old key can stay at the end of the list after a rotation. None derives one key from
    # SECRET_KEY and one from each of SECRET_KEY_FALLBACKS.
    "ENCRYPTION_KEYS": None,
    # Import string of the class that hands out credentials after a completed login, and
    # revokes them: drf_twostep.issuers.AuthTokenIssuer (DRF's Token), SimpleJWTIssuer (Simple
    # JWT, pip install "drf-twostep[jwt]"), KnoxIssuer (django-rest-knox, "drf-twostep[knox]")
    # or SessionIssuer (Django sessions). Pair it with its authentication class: see
    # docs/issuers.md.
    "TOKEN_ISSUER": "drf_twostep.issuers.AuthTokenIssuer",
    # Import string of the adapter: the project's hooks (issuer name, notifications, ...).
    "ADAPTER": "drf_twostep.adapter.DefaultTwoStepAdapter",
    # Import strings of the method kinds on offer. Each names a BaseMethod subclass. Remove
    # the SMS or email entry to stop offering that kind; organizations can also disallow kinds.
    # Passkeys are listed when their extra is installed, and offered once WEBAUTHN_RP_ID and
    # WEBAUTHN_ORIGINS are set.
    "METHOD_CLASSES": [
        "drf_twostep.methods.totp.AuthenticatorAppMethod",
        "drf_twostep.methods.sms.SmsMethod",
        "drf_twostep.methods.email.EmailMethod",
        *(["drf_twostep.methods.passkey.PasskeyMethod"] if find_spec("webauthn") else []),
    ],
    # Digits of the codes sent by SMS and email (6 to 10).
    "DELIVERED_CODE_DIGITS": 6,
    # Seconds a code sent by SMS or email stays valid.
    "DELIVERED_CODE_LIFETIME": 600,
    # Import string of the SMS backend, like EMAIL_BACKEND: ...console.SmsBackend prints
    # messages, ...locmem.SmsBackend keeps them in drf_twostep.sms.outbox (tests), and
    # ...http.SmsBackend POSTs them to SMS_HTTP_URL.
    "SMS_BACKEND": "drf_twostep.sms.backends.console.SmsBackend",
    # The HTTP SMS backend: the provider's URL, the JSON body (strings in it may use {to},
    # {message} and {sender}), the value of the Authorization header (None: no header), the
    # sender name or number, and the timeout in seconds.
    "SMS_HTTP_URL": None,
    "SMS_HTTP_BODY": {"to": "{to}", "from": "{sender}", "text": "{message}"},
    "SMS_HTTP_AUTH_HEADER": None,
    "SMS_SENDER": "",
    "SMS_HTTP_TIMEOUT": 10,
    # Passkeys (WebAuthn; pip install "drf-twostep[passkeys]", docs/passkeys.md): the relying
    # party ID, a domain such as "example.com" that passkeys are bound to for good, and the
    # origins they may be used from: each "https://" the RP ID or a subdomain of it, with a
    # port if not 443 ("http://localhost:8000" in development), or an Android app's
    # "android:apk-key-hash:<hash>". The RP name shown is ISSUER_NAME. Until both are set the
    # passkey kind is unavailable, and outside DEBUG that is a system check error.
    "WEBAUTHN_RP_ID": None,
    "WEBAUTHN_ORIGINS": [],
    # DRF throttle rates by scope, read at request time.
    "THROTTLE_RATES": {
        "twostep_login": "20/min",
        "twostep_verify": "20/min",
        "twostep_setup": "20/min",
        "twostep_send_code": "5/min",
        # Codes sent by SMS or email, per user and per phone number or address.
        "twostep_deliver_user": "10/hour",
        "twostep_deliver_destination": "10/hour",
    },
    # What the throttles do when the cache they count in (CACHES["default"]) fails: False
    # refuses the requests they limit with 503 service_unavailable and Retry-After; True lets
    # them through, so that during the outage only the lockout in the database (wrong codes
    # per user, LOCKOUT_THRESHOLD) limits guessing, and sign-ins and code sending are not limited.
    "THROTTLE_FAIL_OPEN": False,
    # The model whose instances can require 2SV of their members ("app_label.ModelName").
    # Like AUTH_USER_MODEL, choose it before the first migrate: the policy table points at it.
    "ORGANIZATION_MODEL": "auth.Group",
    # Alias of a cache shared by all processes (e.g. Redis) that keeps a copy of each user's
    # enforcement state, for the authentication classes that would otherwise read it with a
    # query of its own (Simple JWT, knox, sessions). TwoStepTokenAuthentication never uses it:
    # the state comes in the token's query. None: no cache. A failing cache is skipped.
    "ENFORCEMENT_CACHE": None,
    # Seconds a cached enforcement state lives. Every change the package makes or sees
    # (methods, memberships, policies) invalidates it at once.
    "ENFORCEMENT_CACHE_TIMEOUT": 300,
    # Require 2SV of staff users and superusers whatever their organizations say (OWASP: MFA for
    # privileged users). They are sent to set it up at their next request, with no grace period.
    "REQUIRED_FOR_STAFF": False,
    # The Django admin's login asks for the second step too (drf_twostep.admin_site): the
    # default site gets it at start-up. False leaves the default site password-only, which
    # the deploy check drf_twostep.W006 reports.
    "ADMIN_TWO_STEP": True,
    # Seconds within which an organization admin must have passed a second step (the sign-in,
    # or two-step/reverify/) to change a policy or reset a member.
    "REVERIFY_MAX_AGE": 900,
    # Days a device may be remembered after a second step on it ("remember this device"):
    # login/ with its device token then skips the second step. 0 (the default) turns trusted
    # devices off; an organization's policy may lower it for its members (0 forbids).
    "REMEMBER_DEVICE_DAYS": 0,
    # When a user's password changes (any path that calls set_password() and saves), their API
    # credentials of every issuer are revoked. True keeps the one the change was made with
    # (ASVS 5.0 7.4.3); False revokes that one too.
    "PASSWORD_CHANGE_KEEPS_CURRENT_CREDENTIAL": True,
    # Send notification emails (method added or removed, recovery code used, ...).
    "NOTIFICATIONS_ENABLED": True,
    # Email a user when they sign in from a client (browser and system family, IP network)
    # they have not signed in from in 90 days. False sends no such email; the event
    # new_device_sign_in is recorded either way.
    "NEW_DEVICE_NOTIFICATIONS": True,
    # Trust the first address in X-Forwarded-For for the IP recorded on security events.
    # Only turn this on behind a proxy that sets the header.
    "TRUST_X_FORWARDED_FOR": False,
}

# Settings that hold import strings; they are imported on access.
IMPORT_STRINGS = ["TOKEN_ISSUER", "ADAPTER", "METHOD_CLASSES", "SMS_BACKEND"]

# Settings that existed once; naming one is an error that points at what replaced it.
REMOVED_SETTINGS: dict[str, str] = {}


class TwoStepSettings:
    """
    Lazy, cached view of ``settings.DRF_TWOSTEP`` merged over ``DEFAULTS``.

    Attribute access returns the user's value or the default; import strings come back as
    the imported objects. ``reload()`` forgets everything cached.
    """

    def __init__(self, defaults=None, import_strings=None):
        self.defaults = defaults or DEFAULTS
        self.import_strings = import_strings or IMPORT_STRINGS
        self._cached = set()

    @property
    def user_settings(self) -> dict:
        return getattr(settings, SETTINGS_NAME, None) or {}

    def __getattr__(self, attr):
        if attr.startswith("_") or attr not in self.defaults:
            raise AttributeError(f"Invalid {SETTINGS_NAME} setting: {attr!r}")
        value = self.user_settings.get(attr, self.defaults[attr])
        if attr == "THROTTLE_RATES":
            value = {**self.defaults[attr], **value}
        if attr in self.import_strings:
            value = perform_import(value, attr)
        self._cached.add(attr)
        setattr(self, attr, value)
        return value

    def reload(self):
        for attr in self._cached:
            self.__dict__.pop(attr, None)
        self._cached.clear()


def perform_import(value, setting_name):
    """Import a dotted path, or each path in a list; other values pass through."""
    if isinstance(value, str):
        try:
            return import_string(value)
        except ImportError as exc:
            raise ImportError(
                f"Could not import {value!r} for {SETTINGS_NAME}[{setting_name!r}]: {exc}"
            ) from exc
    if isinstance(value, (list, tuple)):
        return [perform_import(item, setting_name) for item in value]
    return value


twostep_settings = TwoStepSettings()


def reload_twostep_settings(*, setting, **kwargs):
    if setting in (SETTINGS_NAME, "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        twostep_settings.reload()


setting_changed.connect(reload_twostep_settings)
