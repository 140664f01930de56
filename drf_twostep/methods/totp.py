"""Authenticator apps: TOTP (RFC 6238) on ``pyotp``."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pyotp
import qrcode
import qrcode.image.svg
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import crypto
from ..adapter import get_adapter
from ..constants import MethodKind
from ..exceptions import CodeAlreadyUsed, InvalidCode
from ..models import TwoStepMethod
from ..settings import twostep_settings
from .base import BaseMethod

_HASH_FUNCTIONS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


class _TOTP(pyotp.TOTP):
    """pyotp's TOTP, with the base32 secret decoded once: pyotp decodes it again for every
    code, and a check asks for a code at every step of the window."""

    def byte_secret(self) -> bytes:
        key = self.__dict__.get("_byte_secret")
        if key is None:
            key = self._byte_secret = super().byte_secret()
        return key


# The parameters of a stored URI that verification needs. build_otpauth_uri writes them
# unescaped (base32, digits and a hash name), so they are read without unquoting.
_PARAMETERS = frozenset({"secret", "algorithm", "digits", "period"})


def parse_otpauth_uri(uri: str) -> pyotp.TOTP:
    """
    The TOTP generator of a stored URI. URIs as ``build_otpauth_uri`` writes them are read
    directly (``pyotp.parse_uri`` costs more than the code check it precedes); anything else
    goes to ``pyotp.parse_uri``.
    """
    scheme, _, rest = uri.partition("://")
    kind, _, rest = rest.partition("/")
    _, _, query = rest.partition("?")
    params = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name in _PARAMETERS:
            if name in params:
                break
            params[name] = value
    else:
        if (
            scheme == "otpauth"
            and kind == "totp"
            and len(params) == len(_PARAMETERS)
            and params["algorithm"] in _HASH_FUNCTIONS
            and params["digits"].isdigit()
            and params["period"].isdigit()
            and "%" not in params["secret"]
        ):
            return _TOTP(
                params["secret"],
                digits=int(params["digits"]),
                digest=_HASH_FUNCTIONS[params["algorithm"]],
                interval=int(params["period"]),
            )
    return pyotp.parse_uri(uri)


def build_otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """
    The Key Uri Format URI for a new secret: label ``Issuer:account``, an ``issuer``
    parameter equal to the prefix, and the algorithm, digits and period spelled out.
    """
    algorithm = twostep_settings.TOTP_ALGORITHM.upper()
    digits = twostep_settings.TOTP_DIGITS
    period = twostep_settings.TOTP_PERIOD
    totp = pyotp.TOTP(secret, digits=digits, digest=_HASH_FUNCTIONS[algorithm], interval=period)
    uri = totp.provisioning_uri(name=account, issuer_name=issuer)
    # pyotp leaves out parameters at their defaults; spell them out for apps that guess.
    parts = urlsplit(uri)
    query = dict(parse_qsl(parts.query))
    query.setdefault("algorithm", algorithm)
    query.setdefault("digits", str(digits))
    query.setdefault("period", str(period))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def qr_code_data_uri(text: str) -> str:
    """An SVG QR code of exactly ``text``, as a ``data:`` URI."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def group(text: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(text[i : i + size] for i in range(0, len(text), size))


class AuthenticatorAppMethod(BaseMethod):
    """An authenticator app holding a TOTP secret. The secret is stored encrypted."""

    kind = MethodKind.AUTHENTICATOR_APP.value
    verbose_name = _("Authenticator app")

    @classmethod
    def begin_setup(cls, instance, data):
        # 8 bits per byte, 5 bits per base32 character: 20 bytes -> 32 characters.
        secret = pyotp.random_base32(length=twostep_settings.TOTP_SECRET_BYTES * 8 // 5)
        adapter = get_adapter()
        uri = build_otpauth_uri(
            secret, adapter.get_account_name(instance.user), adapter.get_issuer_name()
        )
        instance.secret = crypto.encrypt(uri)
        return {"setup_key": group(secret), "otpauth_uri": uri, "qr_code": qr_code_data_uri(uri)}

    def totp(self) -> pyotp.TOTP:
        """
        The method's TOTP generator, with the parameters it was set up with. Decrypting and
        parsing cost more than a check: the generator is kept on this handler (not on the
        row, which may be pickled into a cache) with the stored value it came from, and made
        again if that value changes.
        """
        stored = self.instance.secret
        cached = getattr(self, "_totp", None)
        if cached is None or cached[0] != stored:
            cached = self._totp = (stored, parse_otpauth_uri(crypto.decrypt(stored)))
        return cached[1]

    def matching_step(self, code: str, now: float | None = None) -> int | None:
        """The time step within the window whose code equals ``code``, or None."""
        totp = self.totp()
        current = int((time.time() if now is None else now) // totp.interval)
        window = twostep_settings.TOTP_WINDOW
        matched = None
        # Compare against every step in the window so timing does not tell which one matched.
        for step in range(current - window, current + window + 1):
            if pyotp.utils.strings_equal(totp.generate_otp(step), code) and matched is None:
                matched = step
        return matched

    def verify(self, code, challenge=None):
        step = self.matching_step(code)
        if step is None:
            raise InvalidCode()
        # The conditional update is the replay guard: it succeeds for exactly one caller per
        # step, and refuses steps older than the last accepted one, on every database.
        now = timezone.now()
        accepted = (
            TwoStepMethod.objects.filter(pk=self.instance.pk)
            .filter(Q(last_used_step__isnull=True) | Q(last_used_step__lt=step))
            .update(last_used_step=step, last_used_at=now)
        )
        if not accepted:
            raise CodeAlreadyUsed()
        self.instance.last_used_step = step
        self.instance.last_used_at = now
