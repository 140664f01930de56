"""
What passkeys ask of py_webauthn (the ``webauthn`` package, ``pip install
"drf-twostep[passkeys]"``): the options of each ceremony, and credentials read and verified
with every failure raised as ``InvalidPasskey``.

The package imports without it: ``installed()`` says whether it is there, and nothing below
is called when it is not. Credentials are read here rather than by the library's own JSON
parsers, which decode base64url leniently (they skip characters outside the alphabet) and let
some malformed values through as other exceptions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re

from cryptography.exceptions import InvalidSignature

from ..constants import WEBAUTHN_CREDENTIAL_ID_MAX_BYTES
from ..exceptions import InvalidPasskey
from ..settings import twostep_settings

try:
    import webauthn
    from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography
    from webauthn.helpers.cose import COSEAlgorithmIdentifier
    from webauthn.helpers.exceptions import WebAuthnException
    from webauthn.helpers.structs import (
        AttestationConveyancePreference,
        AuthenticationCredential,
        AuthenticatorAssertionResponse,
        AuthenticatorAttestationResponse,
        AuthenticatorSelectionCriteria,
        AuthenticatorTransport,
        CredentialDeviceType,
        PublicKeyCredentialDescriptor,
        PublicKeyCredentialType,
        RegistrationCredential,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )
except ImportError:  # the passkeys extra is not installed
    webauthn = None

# The algorithms offered at registration, in order of preference: ES256, EdDSA, RS256.
ALGORITHMS = (-7, -8, -257)

# Bounds on what a credential's fields may hold before anything decodes them: a JSON string
# of a whole credential, and one base64url field (attestation objects with certificate
# chains take a few kilobytes).
MAX_CREDENTIAL_JSON = 256 * 1024
MAX_FIELD = 64 * 1024
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")

# What a malformed value can raise inside the library besides its own exceptions: its COSE
# key decoder subscripts whatever the CBOR holds (TypeError, KeyError, IndexError),
# cryptography refuses bad keys (ValueError) and signatures (InvalidSignature).
_LIBRARY_ERRORS = (InvalidSignature, ValueError, TypeError, KeyError, IndexError, RecursionError)


def installed() -> bool:
    return webauthn is not None


def relying_party() -> tuple[str, list[str]]:
    """``(WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS)``; empty when unset."""
    return twostep_settings.WEBAUTHN_RP_ID or "", list(twostep_settings.WEBAUTHN_ORIGINS or [])


def encode(data: bytes) -> str:
    """base64url without padding, as WebAuthn's JSON forms use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(value, limit: int = MAX_FIELD) -> bytes:
    """Strict base64url (padding optional); ``InvalidPasskey`` for anything else."""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidPasskey()
    unpadded = value.rstrip("=")
    if len(value) - len(unpadded) > 2 or not _BASE64URL.fullmatch(unpadded):
        raise InvalidPasskey()
    try:
        return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        raise InvalidPasskey() from None


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- options ------------------------------------------------------------------------------


def _descriptors(credentials) -> list:
    """``PublicKeyCredentialDescriptor`` of ``(credential id, transports)`` pairs."""
    known = {transport.value for transport in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=decode(credential_id, limit=2 * WEBAUTHN_CREDENTIAL_ID_MAX_BYTES),
            transports=[AuthenticatorTransport(t) for t in transports if t in known] or None,
        )
        for credential_id, transports in credentials
    ]


def creation_options(*, user_handle, user_name, display_name, rp_name, challenge, timeout, exclude):
    """``PublicKeyCredentialCreationOptionsJSON``: attestation none, resident key and user
    verification preferred, ``exclude`` the ``(credential id, transports)`` not to register
    again; ``timeout`` in seconds."""
    rp_id, _ = relying_party()
    options = webauthn.generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name,
        challenge=challenge,
        timeout=int(timeout * 1000),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(exclude),
        supported_pub_key_algs=[COSEAlgorithmIdentifier(alg) for alg in ALGORITHMS],
    )
    # Through JSON: the library's dict holds its enums, the response wants plain values.
    return json.loads(webauthn.options_to_json(options))


def request_options(*, challenge, timeout, allow, user_verification_required):
    """``PublicKeyCredentialRequestOptionsJSON`` for the ``(credential id, transports)`` in
    ``allow`` (empty: any discoverable credential); ``timeout`` in seconds."""
    rp_id, _ = relying_party()
    options = webauthn.generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=int(timeout * 1000),
        allow_credentials=_descriptors(allow),
        user_verification=UserVerificationRequirement.REQUIRED
        if user_verification_required
        else UserVerificationRequirement.PREFERRED,
    )
    return json.loads(webauthn.options_to_json(options))


# -- reading credentials ------------------------------------------------------------------


def _object(credential) -> tuple[dict, bytes, dict]:
    """The credential as a dict (or a JSON string of one): ``(credential, raw id, response)``."""
    if isinstance(credential, str):
        if len(credential) > MAX_CREDENTIAL_JSON:
            raise InvalidPasskey()
        try:
            credential = json.loads(credential)
        except (ValueError, RecursionError):
            raise InvalidPasskey() from None
    if not isinstance(credential, dict) or credential.get("type") != "public-key":
        raise InvalidPasskey()
    raw_id = decode(credential.get("rawId"), limit=2 * WEBAUTHN_CREDENTIAL_ID_MAX_BYTES)
    if not raw_id or len(raw_id) > WEBAUTHN_CREDENTIAL_ID_MAX_BYTES:
        raise InvalidPasskey()
    if credential.get("id") != encode(raw_id):
        raise InvalidPasskey()
    response = credential.get("response")
    if not isinstance(response, dict):
        raise InvalidPasskey()
    return credential, raw_id, response


def parse_registration(credential) -> RegistrationCredential:
    """A registration credential (``PublicKeyCredential.toJSON()`` of ``create()``)."""
    credential, raw_id, response = _object(credential)
    transports = response.get("transports", [])
    if not isinstance(transports, list):
        raise InvalidPasskey()
    known = {transport.value for transport in AuthenticatorTransport}
    return RegistrationCredential(
        id=credential["id"],
        raw_id=raw_id,
        response=AuthenticatorAttestationResponse(
            client_data_json=decode(response.get("clientDataJSON")),
            attestation_object=decode(response.get("attestationObject")),
            transports=[
                AuthenticatorTransport(t) for t in transports if isinstance(t, str) and t in known
            ],
        ),
        type=PublicKeyCredentialType.PUBLIC_KEY,
    )


def parse_authentication(credential) -> AuthenticationCredential:
    """An authentication credential (``PublicKeyCredential.toJSON()`` of ``get()``)."""
    credential, raw_id, response = _object(credential)
    user_handle = response.get("userHandle")
    return AuthenticationCredential(
        id=credential["id"],
        raw_id=raw_id,
        response=AuthenticatorAssertionResponse(
            client_data_json=decode(response.get("clientDataJSON")),
            authenticator_data=decode(response.get("authenticatorData")),
            signature=decode(response.get("signature")),
            user_handle=None if user_handle is None else decode(user_handle),
        ),
        type=PublicKeyCredentialType.PUBLIC_KEY,
    )


def client_challenge(parsed) -> bytes:
    """The challenge that ``clientDataJSON`` says was signed (strict base64url)."""
    try:
        client_data = json.loads(parsed.response.client_data_json)
    except (ValueError, RecursionError):
        raise InvalidPasskey() from None
    if not isinstance(client_data, dict):
        raise InvalidPasskey()
    return decode(client_data.get("challenge"))


# -- verifying ----------------------------------------------------------------------------


def verify_registration(parsed, challenge: bytes):
    """py_webauthn's ``VerifiedRegistration``: the challenge, an origin of
    ``WEBAUTHN_ORIGINS``, the RP ID hash, user presence, an offered algorithm, and the
    attestation statement of whatever format the authenticator chose."""
    rp_id, origins = relying_party()
    try:
        verified = webauthn.verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origins,
            supported_pub_key_algs=[COSEAlgorithmIdentifier(alg) for alg in ALGORITHMS],
        )
        # The library stores any key it can decode; one that cryptography cannot load (a
        # point off the curve) would fail every sign-in, so it is refused now.
        key = decode_credential_public_key(verified.credential_public_key)
        decoded_public_key_to_cryptography(key)
    except (WebAuthnException, *_LIBRARY_ERRORS):
        raise InvalidPasskey() from None
    return verified


def verify_authentication(parsed, challenge: bytes, public_key: bytes, *, require_uv: bool):
    """py_webauthn's ``VerifiedAuthentication`` of an assertion by ``public_key``: the
    challenge, an origin, the RP ID hash, user presence (and verification if
    ``require_uv``), and the signature. The sign count is not checked here: given a stored
    count of 0 the library accepts any, so that the caller can tell a count that went
    backwards (a possible clone) from a bad signature, which the library reports alike."""
    rp_id, origins = relying_party()
    try:
        return webauthn.verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origins,
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=require_uv,
        )
    except (WebAuthnException, *_LIBRARY_ERRORS):
        raise InvalidPasskey() from None


def backup_eligible(verified) -> bool:
    return verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
