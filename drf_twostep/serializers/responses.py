"""The answers: they shape responses, errors included, and describe them in the schema."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from ..constants import LoginStatus, MethodStatus
from ..models import SecurityEvent, TrustedDevice, TwoStepMethod
from .fields import (
    TOKEN_HELP,
    ConstantField,
    CredentialFieldsMixin,
    DeviceExpiryField,
    DeviceTokenField,
    ErrorCodeField,
    KindField,
)
from .webauthn import (
    CreationOptionsField,
    RequestOptionsField,
)


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


class ReverifyOptionsSerializer(serializers.Serializer):
    public_key = RequestOptionsField(
        help_text=_(
            "The options of navigator.credentials.get() for the caller's passkeys; send its "
            "credential to two-step/reverify/."
        )
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


@extend_schema_serializer(component_name="ErrorResponse")
class ErrorSerializer(serializers.Serializer):
    """An error: a sentence for people and a stable code for programs."""

    detail = serializers.CharField()
    code = ErrorCodeField()


@extend_schema_serializer(component_name="ValidationErrorResponse")
class ValidationErrorSerializer(ErrorSerializer):
    """``invalid``: besides ``detail`` and ``code``, each bad field maps to its messages."""
