"""
WebAuthn JSON (passkeys): the standard JSON forms of WebAuthn Level 3, described for the
schema (base64url strings without padding). Credentials reach the passkey method as they came,
which refuses anything malformed as ``invalid_passkey``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..exceptions import InvalidPasskey


class _WebAuthnSchema(serializers.Serializer):
    """Describes a WebAuthn JSON structure in the schema; never validates or renders."""


class PublicKeyCredentialRpEntity(_WebAuthnSchema):
    id = serializers.CharField(help_text=_("The relying party ID (WEBAUTHN_RP_ID)."))
    name = serializers.CharField()


class PublicKeyCredentialUserEntity(_WebAuthnSchema):
    id = serializers.CharField(help_text=_("The user handle: opaque random bytes, base64url."))
    name = serializers.CharField()
    displayName = serializers.CharField()  # noqa: N815 - WebAuthn's name


class PublicKeyCredentialParameters(_WebAuthnSchema):
    type = serializers.CharField()
    alg = serializers.IntegerField(help_text=_("COSE algorithm: -7 ES256, -8 EdDSA, -257 RS256."))


class PublicKeyCredentialDescriptor(_WebAuthnSchema):
    type = serializers.CharField()
    id = serializers.CharField(help_text=_("A credential id, base64url."))
    transports = serializers.ListField(child=serializers.CharField(), required=False)


class AuthenticatorSelection(_WebAuthnSchema):
    residentKey = serializers.CharField()  # noqa: N815
    requireResidentKey = serializers.BooleanField()  # noqa: N815
    userVerification = serializers.CharField()  # noqa: N815


class PublicKeyCredentialCreationOptionsJSON(_WebAuthnSchema):
    rp = PublicKeyCredentialRpEntity()
    user = PublicKeyCredentialUserEntity()
    challenge = serializers.CharField()
    pubKeyCredParams = PublicKeyCredentialParameters(many=True)  # noqa: N815
    timeout = serializers.IntegerField(help_text=_("Milliseconds."))
    excludeCredentials = PublicKeyCredentialDescriptor(many=True)  # noqa: N815
    authenticatorSelection = AuthenticatorSelection()  # noqa: N815
    attestation = serializers.CharField()


class PublicKeyCredentialRequestOptionsJSON(_WebAuthnSchema):
    challenge = serializers.CharField()
    timeout = serializers.IntegerField(help_text=_("Milliseconds."))
    rpId = serializers.CharField()  # noqa: N815
    allowCredentials = PublicKeyCredentialDescriptor(many=True)  # noqa: N815
    userVerification = serializers.CharField()  # noqa: N815


class AuthenticatorAttestationResponseJSON(_WebAuthnSchema):
    clientDataJSON = serializers.CharField()  # noqa: N815
    attestationObject = serializers.CharField()  # noqa: N815
    transports = serializers.ListField(child=serializers.CharField(), required=False)


class AuthenticatorAssertionResponseJSON(_WebAuthnSchema):
    clientDataJSON = serializers.CharField()  # noqa: N815
    authenticatorData = serializers.CharField()  # noqa: N815
    signature = serializers.CharField()
    userHandle = serializers.CharField(required=False, allow_null=True)  # noqa: N815


class RegistrationResponseJSON(_WebAuthnSchema):
    id = serializers.CharField()
    rawId = serializers.CharField()  # noqa: N815
    type = serializers.CharField(help_text=_("`public-key`."))
    response = AuthenticatorAttestationResponseJSON()
    authenticatorAttachment = serializers.CharField(required=False)  # noqa: N815
    clientExtensionResults = serializers.DictField(required=False)  # noqa: N815


class AuthenticationResponseJSON(_WebAuthnSchema):
    id = serializers.CharField()
    rawId = serializers.CharField()  # noqa: N815
    type = serializers.CharField(help_text=_("`public-key`."))
    response = AuthenticatorAssertionResponseJSON()
    authenticatorAttachment = serializers.CharField(required=False)  # noqa: N815
    clientExtensionResults = serializers.DictField(required=False)  # noqa: N815


class _CredentialField(serializers.Field):
    """A credential as ``PublicKeyCredential.toJSON()`` returns it (an object, or a JSON
    string of one), passed on as it came; a missing or null one is ``invalid_passkey``."""

    def run_validation(self, data=serializers.empty):
        if data is None or (data is serializers.empty and self.required):
            raise InvalidPasskey()
        return super().run_validation(data)

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(RegistrationResponseJSON)
class RegistrationCredentialField(_CredentialField):
    pass


@extend_schema_field(AuthenticationResponseJSON)
class AuthenticationCredentialField(_CredentialField):
    pass


@extend_schema_field(PublicKeyCredentialCreationOptionsJSON)
class CreationOptionsField(serializers.DictField):
    pass


@extend_schema_field(PublicKeyCredentialRequestOptionsJSON)
class RequestOptionsField(serializers.DictField):
    pass
