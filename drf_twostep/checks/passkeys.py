"""The checks of the passkey settings: the package, the relying party and its origins."""

import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..settings import DEFAULTS, SETTINGS_NAME

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
    from ..methods import _webauthn

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
