"""The request bodies: they validate and normalise what clients send."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..constants import METHOD_NAME_MAX_LENGTH
from ..exceptions import InvalidCode
from .fields import (
    CodeField,
    KindField,
)
from .webauthn import (
    AuthenticationCredentialField,
    RegistrationCredentialField,
)


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
    """``two-step/reverify/``: a code of an authenticator app, a recovery code, or a passkey's
    assertion for the options of ``two-step/reverify/options/``."""

    credential = AuthenticationCredentialField(
        required=False,
        help_text=_(
            "A passkey's assertion (toJSON() of navigator.credentials.get()) for the options "
            "of two-step/reverify/options/, no code."
        ),
    )


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
