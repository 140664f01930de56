"""The package's own fields: codes, constants, error codes, and fields shown only when given."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from ..constants import ErrorCode, MethodKind
from ..exceptions import InvalidCode


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


# Codes that DRF itself gives, which the package's error bodies pass through.
DRF_ERROR_CODES = [
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "http_method_not_allowed",
    "not_acceptable",
]


ERROR_CODES = [c.value for c in ErrorCode] + DRF_ERROR_CODES
