"""
A software WebAuthn authenticator and client for the tests: real keys (``cryptography``),
a real CBOR attestation object (``cbor2``) with ``none`` attestation, authenticator data as
the spec lays it out, ``clientDataJSON`` as a browser writes it, and the JSON that
``PublicKeyCredential.toJSON()`` returns. What it makes is verified by the package's real
code; every keyword argument of ``create`` and ``get`` is a way to get something wrong.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
DEFAULT = object()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _credential(credential_id: bytes, **response) -> dict:
    """What ``PublicKeyCredential.toJSON()`` returns for a platform authenticator."""
    return {
        "id": b64url(credential_id),
        "rawId": b64url(credential_id),
        "type": "public-key",
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {},
        "response": response,
    }


class Key:
    """A credential key pair of one COSE algorithm: ES256 (-7), EdDSA (-8) or RS256 (-257)."""

    def __init__(self, alg: int = -7):
        self.alg = alg
        if alg == -7:
            self.private = ec.generate_private_key(ec.SECP256R1())
        elif alg == -8:
            self.private = ed25519.Ed25519PrivateKey.generate()
        elif alg == -257:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise ValueError(alg)

    def cose(self) -> bytes:
        """The public key as a COSE_Key (RFC 9053), CBOR-encoded."""
        public = self.private.public_key()
        if self.alg == -7:
            numbers = public.public_numbers()
            key = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big")}
            key[-3] = numbers.y.to_bytes(32, "big")
        elif self.alg == -8:
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            key = {1: 1, 3: -8, -1: 6, -2: raw}
        else:
            numbers = public.public_numbers()
            key = {1: 3, 3: -257, -1: numbers.n.to_bytes(256, "big"), -2: b"\x01\x00\x01"}
        return cbor2.dumps(key)

    def spki(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> bytes:
        if self.alg == -7:
            return self.private.sign(data, ec.ECDSA(hashes.SHA256()))
        if self.alg == -8:
            return self.private.sign(data)
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())


class SoftAuthenticator:
    """
    One credential on one authenticator. ``counter`` None is an authenticator that never
    counts (a synced passkey: sign count always 0); a number is where its count starts, and
    each ``get`` adds one. ``backup_eligible`` / ``backed_up`` are the BE and BS flags.
    """

    def __init__(
        self,
        *,
        rp_id="example.com",
        origin="https://example.com",
        alg=-7,
        counter=None,
        backup_eligible=True,
        backed_up=True,
        aaguid=bytes(16),
        credential_id=None,
        transports=("internal", "hybrid"),
    ):
        self.rp_id = rp_id
        self.origin = origin
        self.key = Key(alg)
        self.counter = counter
        self.backup_eligible = backup_eligible
        self.backed_up = backed_up
        self.aaguid = aaguid
        self.credential_id = os.urandom(32) if credential_id is None else credential_id
        self.transports = list(transports)
        self.user_handle = None  # set by create() from the options' user.id

    # -- the parts ------------------------------------------------------------------------

    def client_data(self, kind, challenge, origin, cross_origin=False, **extra) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin}
        data["crossOrigin"] = cross_origin
        data.update(extra)
        return json.dumps(data, separators=(",", ":")).encode()

    def authenticator_data(self, rp_id, flags, count, attested=b"") -> bytes:
        rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
        return rp_id_hash + bytes([flags]) + struct.pack(">I", count) + attested

    def _flags(self, up, uv, be, bs) -> int:
        flags = (UP if up else 0) | (UV if uv else 0)
        be = self.backup_eligible if be is None else be
        bs = self.backed_up if bs is None else bs
        return flags | (BE if be else 0) | (BS if bs else 0)

    def _next_count(self) -> int:
        if self.counter is None:
            return 0
        self.counter += 1
        return self.counter

    # -- navigator.credentials.create() ---------------------------------------------------

    def create(
        self,
        options,
        *,
        origin=None,
        rp_id=None,
        challenge=None,
        kind="webauthn.create",
        up=True,
        uv=True,
        be=None,
        bs=None,
        sign_count=None,
        credential_id=None,
        attested_credential_id=None,
        fmt="none",
        att_stmt=None,
        cross_origin=False,
        cose=None,
    ) -> dict:
        """The registration credential for creation ``options`` (their JSON form); ``cose``
        replaces the encoded public key."""
        self.user_handle = unb64url(options["user"]["id"])
        credential_id = self.credential_id if credential_id is None else credential_id
        attested_id = credential_id if attested_credential_id is None else attested_credential_id
        attested = self.aaguid + struct.pack(">H", len(attested_id)) + attested_id
        attested += self.key.cose() if cose is None else cose
        count = (self.counter or 0) if sign_count is None else sign_count
        auth_data = self.authenticator_data(
            rp_id or self.rp_id, self._flags(up, uv, be, bs) | AT, count, attested
        )
        attestation = cbor2.dumps(
            {"fmt": fmt, "attStmt": {} if att_stmt is None else att_stmt, "authData": auth_data}
        )
        client_data = self.client_data(
            kind, challenge or options["challenge"], origin or self.origin, cross_origin
        )
        return _credential(
            credential_id,
            clientDataJSON=b64url(client_data),
            attestationObject=b64url(attestation),
            authenticatorData=b64url(auth_data),
            transports=list(self.transports),
            publicKeyAlgorithm=self.key.alg,
            publicKey=b64url(self.key.spki()),
        )

    # -- navigator.credentials.get() ------------------------------------------------------

    def get(
        self,
        options,
        *,
        origin=None,
        rp_id=None,
        challenge=None,
        kind="webauthn.get",
        up=True,
        uv=True,
        be=None,
        bs=None,
        sign_count=None,
        user_handle=DEFAULT,
        credential_id=None,
        tamper=False,
        cross_origin=False,
        key=None,
    ) -> dict:
        """The authentication credential (assertion) for request ``options``. ``user_handle``
        None leaves it out, as a non-discoverable credential does; ``tamper`` flips a bit of
        the signed data after signing; ``key`` signs with another key."""
        count = self._next_count() if sign_count is None else sign_count
        auth_data = self.authenticator_data(rp_id or self.rp_id, self._flags(up, uv, be, bs), count)
        client_data = self.client_data(
            kind, challenge or options["challenge"], origin or self.origin, cross_origin
        )
        signature = (key or self.key).sign(auth_data + hashlib.sha256(client_data).digest())
        if tamper:
            auth_data = auth_data[:-1] + bytes([auth_data[-1] ^ 1])
        handle = self.user_handle if user_handle is DEFAULT else user_handle
        credential_id = self.credential_id if credential_id is None else credential_id
        return _credential(
            credential_id,
            clientDataJSON=b64url(client_data),
            authenticatorData=b64url(auth_data),
            signature=b64url(signature),
            userHandle=None if handle is None else b64url(handle),
        )
