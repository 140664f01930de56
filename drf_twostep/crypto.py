"""
Secrets at rest and keyed hashes.

Method secrets are encrypted with Fernet (``cryptography``) under ``ENCRYPTION_KEYS``; the
first key encrypts and every key decrypts (``MultiFernet``), so rotation is: put the new key
first, run ``twostep_rotate_key``, then drop the old key. Recovery codes, challenges and
credential markers are stored only as HMAC-SHA256 digests under keys derived the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .settings import twostep_settings

__all__ = [
    "InvalidToken",
    "encrypt",
    "decrypt",
    "rotate",
    "is_current",
    "keyed_digests",
    "keyed_digest",
    "matches_keyed_digest",
]


def _derive(material: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"drf-twostep", info=info).derive(
        material
    )


def _key_materials() -> list[bytes]:
    keys = twostep_settings.ENCRYPTION_KEYS
    if keys is None:
        keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if isinstance(keys, (str, bytes)):
        keys = [keys]
    materials = [key.encode() if isinstance(key, str) else bytes(key) for key in keys if key]
    if not materials:
        raise ImproperlyConfigured("DRF_TWOSTEP['ENCRYPTION_KEYS'] must name at least one key.")
    return materials


def _fernet_key(material: bytes) -> bytes:
    """A real Fernet key is used as it is; anything else is stretched with HKDF."""
    try:
        if len(base64.urlsafe_b64decode(material)) == 32 and len(material) == 44:
            return material
    except (binascii.Error, ValueError):
        pass
    return base64.urlsafe_b64encode(_derive(material, b"encryption"))


@lru_cache(maxsize=1)
def _cipher(materials: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(material)) for material in materials])


@lru_cache(maxsize=1)
def _newest(material: bytes) -> Fernet:
    return Fernet(_fernet_key(material))


@lru_cache(maxsize=1)
def _hash_keys(materials: tuple[bytes, ...]) -> tuple[bytes, ...]:
    return tuple(_derive(material, b"keyed-hash") for material in materials)


def encrypt(plaintext: str) -> str:
    return _cipher(tuple(_key_materials())).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt with any configured key; raises ``InvalidToken`` if none fits."""
    return _cipher(tuple(_key_materials())).decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """Re-encrypt a stored value under the first (newest) key."""
    return _cipher(tuple(_key_materials())).rotate(token.encode()).decode()


def is_current(token: str) -> bool:
    """Whether ``token`` decrypts under the first (newest) key alone."""
    try:
        _newest(_key_materials()[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def keyed_digests(value: str) -> list[str]:
    """HMAC-SHA256 of ``value`` under every configured key, newest first (for look-ups)."""
    data = value.encode()
    return [
        hmac.new(key, data, hashlib.sha256).hexdigest()
        for key in _hash_keys(tuple(_key_materials()))
    ]


def keyed_digest(value: str) -> str:
    """HMAC-SHA256 of ``value`` under the newest key (for storing)."""
    return keyed_digests(value)[0]


def matches_keyed_digest(value: str, stored: str, length: int | None = None) -> bool:
    """
    Whether ``stored`` is the HMAC of ``value`` (its first ``length`` characters) under any
    configured key, so that what was stored before a key rotation still matches while the
    old key is listed. Every key is compared, whichever matches.
    """
    matched = False
    for candidate in keyed_digests(value):
        matched |= constant_time_equals(stored, candidate[:length] if length else candidate)
    return matched


def digest(value: str) -> str:
    """Unkeyed SHA-256, for values that already carry 256 random bits (challenges)."""
    return hashlib.sha256(value.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
