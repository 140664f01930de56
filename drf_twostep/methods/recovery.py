"""
Recovery codes: 120 random bits, base32 in groups of four, stored as keyed digests.

Checking a code is one indexed query on its digest, whatever the number of codes; using it
deletes the row in that same query, so exactly one caller wins a race.
"""

from __future__ import annotations

import base64
import secrets

from ..constants import RECOVERY_CODE_BYTES, RECOVERY_CODE_GROUP, RECOVERY_CODE_LENGTH
from ..crypto import keyed_digest, keyed_digests
from ..models import RecoveryCode
from ..settings import twostep_settings

_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def display(cleaned: str) -> str:
    """A normalized code as the user sees it: ``ABCD-EFGH-...``."""
    size = RECOVERY_CODE_GROUP
    return "-".join(cleaned[i : i + size] for i in range(0, len(cleaned), size))


def new_code() -> str:
    """A fresh code from the CSPRNG, in display form."""
    return display(base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode())


def normalize(code: str) -> str | None:
    """Upper-case, without spaces and dashes; None if it cannot be a recovery code."""
    # ASCII only: str.upper() would turn some other letters into ASCII ones ("ſ" into "S").
    if not isinstance(code, str) or not code.isascii():
        return None
    cleaned = code.replace("-", "").replace(" ", "").upper()
    if len(cleaned) != RECOVERY_CODE_LENGTH or not _ALPHABET.issuperset(cleaned):
        return None
    return cleaned


def _create(user, count) -> list[str]:
    codes = [new_code() for _ in range(count)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, digest=keyed_digest(normalize(code))) for code in codes
    )
    return codes


def regenerate(user) -> list[str]:
    """Replace all of the user's codes; returns the new plain codes (shown once)."""
    RecoveryCode.objects.filter(user=user).delete()
    return _create(user, twostep_settings.RECOVERY_CODE_COUNT)


def consume(user, code) -> str | None:
    """
    Use ``code`` once: on success the code is gone and a replacement is returned (plain,
    shown once); on a wrong or used code, None.
    """
    cleaned = normalize(code)
    if cleaned is None:
        return None
    deleted, _ = RecoveryCode.objects.filter(user=user, digest__in=keyed_digests(cleaned)).delete()
    if not deleted:
        return None
    return _create(user, 1)[0]


def are_current(user, codes) -> bool:
    """True when every one of ``codes`` is a current, unused code of ``user``."""
    cleaned = [normalize(code) for code in codes]
    if not cleaned or None in cleaned or len(set(cleaned)) != len(cleaned):
        return False
    digests = [d for code in cleaned for d in keyed_digests(code)]
    return RecoveryCode.objects.filter(user=user, digest__in=digests).count() == len(cleaned)
