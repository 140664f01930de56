"""
The schema of each endpoint: one ``extend_schema`` per operation, named after it, which the
views wear as decorators (``@operations.login``). The rules live in the views; what they answer,
with which codes and examples, lives here.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)

from .. import serializers as s
from ..constants import ErrorCode
from .examples import (
    CONFIRM_EXAMPLES,
    LOGIN_EXAMPLES,
    SETUP_EXAMPLES,
    STATUS_EXAMPLES,
    VERIFY_EXAMPLES,
)
from .responses import THROTTLED, VALIDATION, authenticated, error

# Tags name the generated clients' modules (``api.two_step_verification`` in Python): words,
# no leading digit.
TAG = "Two-Step Verification"

# The id of a method in its path: digits only (``<int:pk>``), so never negative.
METHOD_ID = OpenApiParameter(
    "id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH, description="The method's id."
)
method_id = extend_schema(parameters=[METHOD_ID])
device_id = extend_schema(
    parameters=[
        OpenApiParameter(
            "id",
            {"type": "integer", "minimum": 0},
            OpenApiParameter.PATH,
            description="The trusted device's id.",
        )
    ]
)

# -- signing in ----------------------------------------------------------------------------

login = extend_schema(
    tags=[TAG],
    operation_id="two_step_login",
    # No credential is needed (nor looked at): clients call it without one.
    auth=[],
    request=s.LoginSerializer,
    responses={
        200: OpenApiResponse(
            PolymorphicProxySerializer(
                component_name="LoginResponse",
                serializers={
                    "authenticated": s.AuthenticatedSerializer,
                    "setup_required": s.SetupRequiredSerializer,
                    "verification_required": s.ChallengeSerializer,
                },
                resource_type_field_name="status",
            ),
            description="`authenticated` or `setup_required` with a credential, or "
            "`verification_required` with a challenge and no credential.",
        ),
        400: error(ErrorCode.INVALID_CREDENTIALS, ErrorCode.INVALID),
        429: THROTTLED,
    },
    examples=LOGIN_EXAMPLES,
)

login_verify = extend_schema(
    tags=[TAG],
    operation_id="two_step_login_verify",
    auth=[],
    examples=VERIFY_EXAMPLES,
    request=s.VerifyLoginSerializer,
    responses={
        200: s.AuthenticatedSerializer,
        400: error(
            ErrorCode.INVALID_CODE,
            ErrorCode.CODE_ALREADY_USED,
            ErrorCode.INVALID_RECOVERY_CODE,
            ErrorCode.INVALID_CHALLENGE,
            ErrorCode.CHALLENGE_EXPIRED,
            ErrorCode.INVALID,
            ErrorCode.INVALID_PASSKEY,
            ErrorCode.METHOD_NOT_ALLOWED,
        ),
        404: error(ErrorCode.NOT_FOUND),
        429: error(ErrorCode.TOO_MANY_ATTEMPTS, ErrorCode.THROTTLED),
    },
)

login_passkey_options = extend_schema(
    tags=[TAG],
    auth=[],
    operation_id="two_step_login_passkey_options",
    request=None,
    responses={
        200: s.PasskeyOptionsSerializer,
        400: error(ErrorCode.METHOD_NOT_ALLOWED),
        429: THROTTLED,
    },
)

login_passkey = extend_schema(
    tags=[TAG],
    auth=[],
    operation_id="two_step_login_passkey",
    request=s.PasskeyLoginSerializer,
    responses={
        200: s.AuthenticatedSerializer,
        400: error(ErrorCode.INVALID_PASSKEY, ErrorCode.METHOD_NOT_ALLOWED, ErrorCode.INVALID),
        429: error(ErrorCode.TOO_MANY_ATTEMPTS, ErrorCode.THROTTLED),
    },
)

login_send_code = extend_schema(
    tags=[TAG],
    operation_id="two_step_login_send_code",
    auth=[],
    request=s.SendCodeSerializer,
    responses={
        202: s.SendCodeResponseSerializer,
        400: error(
            ErrorCode.METHOD_DOES_NOT_SEND,
            ErrorCode.INVALID_CHALLENGE,
            ErrorCode.CHALLENGE_EXPIRED,
            ErrorCode.INVALID,
        ),
        404: error(ErrorCode.NOT_FOUND),
        429: error(ErrorCode.THROTTLED, ErrorCode.TOO_MANY_ATTEMPTS),
        503: error(ErrorCode.DELIVERY_FAILED),
    },
)

logout = extend_schema(
    tags=[TAG], operation_id="two_step_logout", request=None, responses=authenticated({204: None})
)

# -- the caller's 2-Step Verification --------------------------------------------------------

reverify = extend_schema(
    tags=[TAG],
    operation_id="two_step_reverify",
    request=s.ReverifySerializer,
    responses=authenticated(
        {
            200: s.ReverifyResponseSerializer,
            400: error(
                ErrorCode.INVALID_CODE,
                ErrorCode.CODE_ALREADY_USED,
                ErrorCode.INVALID_RECOVERY_CODE,
                ErrorCode.INVALID_PASSKEY,
                ErrorCode.METHOD_NOT_ALLOWED,
            ),
            404: error(ErrorCode.NOT_FOUND),
            409: error(ErrorCode.TWO_STEP_NOT_ENABLED),
            429: error(ErrorCode.TOO_MANY_ATTEMPTS, ErrorCode.THROTTLED),
        }
    ),
)

reverify_options = extend_schema(
    tags=[TAG],
    operation_id="two_step_reverify_options",
    request=None,
    responses=authenticated(
        {
            200: s.ReverifyOptionsSerializer,
            400: error(ErrorCode.METHOD_NOT_ALLOWED),
            409: error(ErrorCode.TWO_STEP_NOT_ENABLED),
            429: THROTTLED,
        }
    ),
)

status = extend_schema(
    tags=[TAG],
    operation_id="two_step_status",
    examples=STATUS_EXAMPLES,
    responses=authenticated({200: s.StatusSerializer}),
)

methods_list = extend_schema(
    tags=[TAG],
    operation_id="two_step_methods_list",
    responses=authenticated({200: s.MethodSerializer(many=True)}),
)

methods_create = extend_schema(
    tags=[TAG],
    operation_id="two_step_methods_create",
    examples=SETUP_EXAMPLES,
    request=s.MethodSetupSerializer,
    responses=authenticated(
        {
            201: s.MethodSetupResponseSerializer,
            400: error(
                ErrorCode.PASSWORD_INCORRECT, ErrorCode.METHOD_NOT_ALLOWED, ErrorCode.INVALID
            ),
            429: THROTTLED,
            503: error(ErrorCode.DELIVERY_FAILED),
        }
    ),
)

methods_update = extend_schema(
    tags=[TAG],
    operation_id="two_step_methods_update",
    request=s.MethodUpdateSerializer,
    responses=authenticated(
        {
            200: s.MethodSerializer,
            400: VALIDATION,
            404: error(ErrorCode.NOT_FOUND),
            409: error(ErrorCode.METHOD_NOT_PENDING),
        }
    ),
)


class RequestBodyOnDelete(AutoSchema):
    """The schema of a view whose DELETE takes a body (drf-spectacular gives bodies to POST,
    PUT and PATCH only): ``DELETE two-step/methods/{id}/`` takes the password."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


methods_destroy = extend_schema(
    tags=[TAG],
    operation_id="two_step_methods_destroy",
    request=s.PasswordSerializer,
    responses=authenticated(
        {
            204: None,
            400: error(ErrorCode.PASSWORD_INCORRECT, ErrorCode.INVALID),
            404: error(ErrorCode.NOT_FOUND),
            409: error(ErrorCode.METHOD_REQUIRED_BY_ORGANIZATION),
            429: THROTTLED,
        }
    ),
)

methods_confirm = extend_schema(
    tags=[TAG],
    operation_id="two_step_methods_confirm",
    examples=CONFIRM_EXAMPLES,
    request=s.ConfirmSerializer,
    responses=authenticated(
        {
            200: s.ConfirmResponseSerializer,
            400: error(
                ErrorCode.INVALID_CODE,
                ErrorCode.CODE_ALREADY_USED,
                ErrorCode.INVALID_PASSKEY,
                ErrorCode.METHOD_NOT_ALLOWED,
                ErrorCode.INVALID,
            ),
            404: error(ErrorCode.NOT_FOUND),
            409: error(ErrorCode.METHOD_NOT_PENDING),
            429: THROTTLED,
        }
    ),
)

recovery_codes_regenerate = extend_schema(
    tags=[TAG],
    operation_id="two_step_recovery_codes_regenerate",
    request=s.PasswordSerializer,
    responses=authenticated(
        {
            201: s.RecoveryCodesSerializer,
            400: error(ErrorCode.PASSWORD_INCORRECT, ErrorCode.INVALID),
            409: error(ErrorCode.TWO_STEP_NOT_ENABLED),
            429: THROTTLED,
        },
        setup_allowed=False,
    ),
)

recovery_codes_pdf = extend_schema(
    tags=[TAG],
    operation_id="two_step_recovery_codes_pdf",
    request=s.RecoveryCodesPdfSerializer,
    responses=authenticated(
        {
            (200, "application/pdf"): OpenApiResponse(bytes, description="The PDF document."),
            400: error(ErrorCode.INVALID_RECOVERY_CODE, ErrorCode.INVALID),
        },
        setup_allowed=False,
    ),
)

events_list = extend_schema(
    tags=[TAG],
    operation_id="two_step_events_list",
    responses=authenticated(
        {
            200: s.SecurityEventSerializer(many=True),
            400: VALIDATION,
            404: error(ErrorCode.NOT_FOUND),
        },
        setup_allowed=False,
    ),
)

devices_list = extend_schema(
    tags=[TAG],
    operation_id="two_step_devices_list",
    responses=authenticated({200: s.TrustedDeviceSerializer(many=True)}),
)

devices_forget_all = extend_schema(
    tags=[TAG],
    operation_id="two_step_devices_forget_all",
    request=None,
    responses=authenticated({204: None}),
)

devices_forget = extend_schema(
    tags=[TAG],
    operation_id="two_step_devices_forget",
    request=None,
    responses=authenticated({204: None, 404: error(ErrorCode.NOT_FOUND)}),
)
