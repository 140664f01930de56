"""
Serializers: input ones validate and normalise, output ones shape responses. None of them
writes to the database or issues anything.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import SkipField

from .constants import METHOD_NAME_MAX_LENGTH, ErrorCode, LoginStatus, MethodKind, MethodStatus
from .exceptions import InvalidCode, InvalidPasskey
from .models import SecurityEvent, TrustedDevice, TwoStepMethod


def normalize_code(value) -> str:
    """Digits only: spaces and dashes are dropped; anything else is ``invalid_code``."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidCode()
    cleaned = str(value).replace(" ", "").replace("-", "")
    if not (cleaned.isascii() and cleaned.isdigit()) or not 6 <= len(cleaned) <= 10:
        raise InvalidCode()
    return cleaned


class CodeField(serializers.CharField):
    """A one-time code; a malformed one raises ``InvalidCode`` (400 ``invalid_code``)."""

    def to_internal_value(self, data):
        return normalize_code(data)

    def run_validation(self, data=serializers.empty):
        # A missing, null or blank code is a wrong code, so the body never holds a "code"
        # field error beside the top-level "code" of the error.
        blank = data is None or (isinstance(data, str) and not data.strip())
        if blank or (data is serializers.empty and self.required):
            raise InvalidCode()
        return super().run_validation(data)


@extend_schema_field(
    {
        "type": "string",
        "enum": [kind.value for kind in MethodKind],
        "description": "The method kind. A project may add kinds of its own.",
    }
)
class KindField(serializers.CharField):
    """A method kind: any string, so that an unknown or disabled kind is the contract's
    ``method_not_allowed`` rather than a field error; the schema lists the built-in kinds."""


class ConstantField(serializers.CharField):
    """An output field that is always ``constant``: the ``status`` that tells the answers of
    ``login/`` apart (the schema gives it as a one-value enum, the discriminator's value)."""

    def __init__(self, constant: str, **kwargs):
        self.constant = constant
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return self.constant

    def to_representation(self, value):
        return self.constant


class ErrorCodeField(serializers.ChoiceField):
    """The ``code`` of an error body: one of the package's codes or DRF's (the schema's
    ``ErrorCode`` component)."""

    def __init__(self, **kwargs):
        super().__init__(choices=ERROR_CODES, **kwargs)


# -- WebAuthn JSON (passkeys) ----------------------------------------------------------------
# The standard JSON forms of WebAuthn Level 3, described for the schema: base64url strings
# without padding. Credentials reach the passkey method as they came, which refuses anything
# malformed as ``invalid_passkey``.


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


# -- input -----------------------------------------------------------------------------------


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, trim_whitespace=False)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )
    device_token = serializers.CharField(
        required=False,
        max_length=4096,
        help_text=_(
            "The device token of a trusted device (from login/verify/ with remember_device): "
            "with it the second step is skipped while the device is trusted."
        ),
    )


class SecondStepSerializer(serializers.Serializer):
    """A code of a method (``method``: its id, else the default), or a recovery code."""

    code = CodeField(required=False, help_text=_("The code from the method, e.g. 123456."))
    method = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    recovery_code = serializers.CharField(required=False, max_length=64)

    def validate(self, attrs):
        if not {"code", "recovery_code", "credential"} & set(attrs):
            raise InvalidCode()
        return attrs


class VerifyLoginSerializer(SecondStepSerializer):
    challenge = serializers.CharField(max_length=128)
    remember_device = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("Remember this device, where allowed: the answer carries a device token."),
    )
    credential = AuthenticationCredentialField(
        required=False,
        help_text=_("A passkey's assertion (toJSON() of navigator.credentials.get()), no code."),
    )


class ReverifySerializer(SecondStepSerializer):
    """``two-step/reverify/``: a code of an authenticator app, or a recovery code."""


class PasskeyLoginSerializer(serializers.Serializer):
    challenge = serializers.CharField(max_length=128)
    credential = AuthenticationCredentialField(
        help_text=_("The passkey's assertion (toJSON() of navigator.credentials.get())."),
    )


class SendCodeSerializer(serializers.Serializer):
    challenge = serializers.CharField(max_length=128)
    method = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )


class MethodSetupSerializer(PasswordSerializer):
    kind = KindField(max_length=32)
    name = serializers.CharField(
        max_length=METHOD_NAME_MAX_LENGTH, required=False, allow_blank=True
    )
    phone_number = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text=_("For `sms`: the mobile number in E.164 form, e.g. +14155552671."),
    )
    email = serializers.CharField(
        max_length=254,
        required=False,
        allow_blank=True,
        help_text=_("For `email`: the address codes go to; the account's address if omitted."),
    )


class ConfirmSerializer(serializers.Serializer):
    code = CodeField(required=False, help_text=_("The code from the method, e.g. 123456."))
    credential = RegistrationCredentialField(
        required=False,
        help_text=_("For `passkey`: toJSON() of navigator.credentials.create(), no code."),
    )

    def validate(self, attrs):
        if not {"code", "credential"} & set(attrs):
            raise InvalidCode()
        return attrs


class MethodUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=METHOD_NAME_MAX_LENGTH, required=False)
    is_default = serializers.BooleanField(required=False)

    def validate_is_default(self, value):
        if value is not True:
            raise serializers.ValidationError(_("Make another method the default instead."))
        return value


class RecoveryCodesPdfSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=50
    )


# -- output ------------------------------------------------------------------------------


class MethodSerializer(serializers.ModelSerializer):
    kind = KindField(read_only=True)
    status = serializers.ChoiceField(choices=[k.value for k in MethodStatus], read_only=True)

    class Meta:
        model = TwoStepMethod
        fields = ["id", "kind", "name", "status", "is_default", "created_at", "last_used_at"]
        read_only_fields = fields


class MethodSetupResponseSerializer(MethodSerializer):
    setup_key = serializers.CharField(
        required=False, help_text=_("Base32 secret in groups of four.")
    )
    otpauth_uri = serializers.CharField(required=False)
    qr_code = serializers.CharField(required=False, help_text=_("SVG data URI of otpauth_uri."))
    expires_in = serializers.IntegerField(
        required=False, help_text=_("SMS and email: seconds the code just sent stays valid.")
    )
    public_key = CreationOptionsField(
        required=False,
        help_text=_("For `passkey`: the options of navigator.credentials.create()."),
    )

    class Meta(MethodSerializer.Meta):
        fields = MethodSerializer.Meta.fields + [
            "setup_key",
            "otpauth_uri",
            "qr_code",
            "expires_in",
            "public_key",
        ]
        read_only_fields = fields


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class RecoveryCodeCountSerializer(serializers.Serializer):
    remaining = serializers.IntegerField()
    total = serializers.IntegerField()
    created_at = serializers.DateTimeField(allow_null=True)


class StatusSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    required = serializers.BooleanField()
    required_by = OrganizationRefSerializer(many=True)
    grace_period_ends_at = serializers.DateTimeField(allow_null=True)
    default_method = serializers.IntegerField(allow_null=True)
    methods = MethodSerializer(many=True)
    recovery_codes = RecoveryCodeCountSerializer()
    remember_device_days = serializers.IntegerField(
        help_text=_("Days a device may be remembered now (0: trusted devices are off).")
    )
    server_time = serializers.DateTimeField()


# Renders, after the declared fields, the fields the issuer and the adapter's
# build_credential_response put beside token (refresh, expiry, user...). A comment, not a
# docstring: drf-spectacular would describe the serializers with it.
class CredentialFieldsMixin:
    def to_representation(self, instance):
        data = super().to_representation(instance)
        data.update((key, value) for key, value in instance.items() if key not in self.fields)
        return data


TOKEN_HELP = _(
    "The credential: a DRF or knox token, or a Simple JWT access token (with `refresh` beside "
    "it); null with the session issuer. See docs/issuers.md."
)


class WhenGivenMixin:
    """A field rendered only when the answer has its key (null included), else left out."""

    def get_attribute(self, instance):
        if self.source not in instance:
            raise SkipField()
        return super().get_attribute(instance)


class DeviceTokenField(WhenGivenMixin, serializers.CharField):
    pass


class DeviceExpiryField(WhenGivenMixin, serializers.DateTimeField):
    pass


class AuthenticatedSerializer(CredentialFieldsMixin, serializers.Serializer):
    status = ConstantField(LoginStatus.AUTHENTICATED.value)
    token = serializers.CharField(allow_null=True, help_text=TOKEN_HELP)
    two_step = StatusSerializer()
    recovery_codes = serializers.ListField(child=serializers.CharField(), required=False)
    device_token = DeviceTokenField(
        required=False,
        allow_null=True,
        help_text=_(
            "With remember_device: the device token to send to login/ (shown this once), "
            "or null when this device may not be remembered."
        ),
    )
    device_expires_at = DeviceExpiryField(required=False, allow_null=True)


class SetupRequiredSerializer(AuthenticatedSerializer):
    """Signed in, but the credential works only on the setup endpoints until a method is
    confirmed (an organization requires 2SV)."""

    status = ConstantField(LoginStatus.SETUP_REQUIRED.value)


class ReverifyResponseSerializer(CredentialFieldsMixin, serializers.Serializer):
    verified_at = serializers.DateTimeField(
        help_text=_("When the credential passed this second step.")
    )
    token = serializers.CharField(
        required=False,
        help_text=_(
            "A new credential, for issuers whose credentials carry their verification time "
            "(a Simple JWT access token, with `refresh` beside it; a knox token, with "
            "`expiry`): use it from now on. Absent for DRF tokens and sessions."
        ),
    )
    recovery_codes = serializers.ListField(child=serializers.CharField(), required=False)


@extend_schema_serializer(component_name="VerificationRequired")
class ChallengeSerializer(serializers.Serializer):
    """The password was right and 2SV is on: a challenge for the second step, no credential."""

    status = ConstantField(LoginStatus.VERIFICATION_REQUIRED.value)
    challenge = serializers.CharField()
    expires_in = serializers.IntegerField()
    methods = MethodSerializer(many=True)
    default_method = serializers.IntegerField(allow_null=True)
    passkey = RequestOptionsField(
        required=False,
        help_text=_(
            "When the user has a passkey: the options of navigator.credentials.get() for "
            "this challenge."
        ),
    )


class PasskeyOptionsSerializer(serializers.Serializer):
    challenge = serializers.CharField(help_text=_("Send it back with the credential."))
    expires_in = serializers.IntegerField()
    public_key = RequestOptionsField(
        help_text=_("The options of navigator.credentials.get() (any passkey of this site).")
    )


class ConfirmResponseSerializer(CredentialFieldsMixin, serializers.Serializer):
    method = MethodSerializer()
    recovery_codes = serializers.ListField(child=serializers.CharField(), required=False)
    token = serializers.CharField(
        allow_null=True,
        help_text=_(
            "A new credential (as in login/verify/) when this confirmation turned 2SV on, "
            "else null."
        ),
    )


# Not "RecoveryCodes": a model of that name with a field recovery_codes trips
# openapi-python-client (the local variable of the one shadows the other).
@extend_schema_serializer(component_name="RecoveryCodesResponse")
class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(child=serializers.CharField())


class SendCodeResponseSerializer(serializers.Serializer):
    detail = serializers.CharField()
    expires_in = serializers.IntegerField()


class TrustedDeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrustedDevice
        fields = ["id", "name", "created_at", "last_used_at", "expires_at", "ip", "user_agent"]
        read_only_fields = fields


class SecurityEventSerializer(serializers.ModelSerializer):
    method = serializers.IntegerField(source="method_id", allow_null=True)

    class Meta:
        model = SecurityEvent
        fields = ["kind", "method", "created_at", "ip", "user_agent"]
        read_only_fields = fields


# Codes that DRF itself gives, which the package's error bodies pass through.
DRF_ERROR_CODES = [
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "http_method_not_allowed",
    "not_acceptable",
]


ERROR_CODES = [c.value for c in ErrorCode] + DRF_ERROR_CODES


@extend_schema_serializer(component_name="ErrorResponse")
class ErrorSerializer(serializers.Serializer):
    """An error: a sentence for people and a stable code for programs."""

    detail = serializers.CharField()
    code = ErrorCodeField()


@extend_schema_serializer(component_name="ValidationErrorResponse")
class ValidationErrorSerializer(ErrorSerializer):
    """``invalid``: besides ``detail`` and ``code``, each bad field maps to its messages."""


# -- organizations -------------------------------------------------------------------------


class PolicySerializer(serializers.Serializer):
    organization = OrganizationRefSerializer(read_only=True)
    required = serializers.BooleanField()
    grace_period_days = serializers.IntegerField(min_value=0, max_value=365)
    required_since = serializers.DateTimeField(read_only=True, allow_null=True)
    allowed_methods = serializers.ListField(
        child=serializers.CharField(max_length=32), min_length=1, max_length=20
    )
    remember_device_days = serializers.IntegerField(
        min_value=0,
        max_value=365,
        allow_null=True,
        required=False,
        help_text=_(
            "Days members' devices may be remembered, at most REMEMBER_DEVICE_DAYS; 0 forbids "
            "trusted devices, null follows the setting."
        ),
    )

    def validate_allowed_methods(self, value):
        from .methods import enabled_kinds

        kinds = enabled_kinds()
        unknown = sorted(set(value) - set(kinds))
        if unknown:
            raise serializers.ValidationError(
                _("Unknown method kinds: %(kinds)s. Available: %(available)s.")
                % {"kinds": ", ".join(unknown), "available": ", ".join(kinds)}
            )
        return list(dict.fromkeys(value))


class MemberUserSerializer(serializers.Serializer):
    id = serializers.CharField(source="pk")
    username = serializers.CharField(source="get_username")


class MemberSerializer(serializers.Serializer):
    user = MemberUserSerializer(source="*")
    enabled = serializers.BooleanField(source="two_step_enabled")
    methods = serializers.SerializerMethodField()
    compliant = serializers.BooleanField()
    last_verified_at = serializers.DateTimeField(allow_null=True)

    def get_methods(self, member) -> list[str]:
        return sorted({method.kind for method in member.active_two_step_methods})
