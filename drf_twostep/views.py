"""
The HTTP endpoints of docs/API.md. Each view validates its input, calls ``services`` and
shapes the response; the rules live in ``services`` and ``methods``.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, permissions, status
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from . import serializers as s
from . import services
from .adapter import get_adapter
from .constants import ErrorCode
from .exceptions import exception_handler
from .models import SecurityEvent
from .openapi import (
    CONFIRM_EXAMPLES,
    LOGIN_EXAMPLES,
    SETUP_EXAMPLES,
    STATUS_EXAMPLES,
    THROTTLED,
    VALIDATION,
    VERIFY_EXAMPLES,
    authenticated,
    error,
)
from .throttling import LoginThrottle, SendCodeThrottle, SetupThrottle, VerifyThrottle

TAG = "2-Step Verification"


class ActionlessMetadata(SimpleMetadata):
    """OPTIONS: the view's name, description and formats, without DRF's form of its fields
    (the package's views build no model serializer for that; the schema describes them)."""

    def determine_actions(self, request, view):
        return {}


class TwoStepView(generics.GenericAPIView):
    """Base view: the package's error bodies (``detail`` and ``code``) on every error."""

    # Views that a user who must set up 2SV may still reach (see authentication.py).
    twostep_setup_allowed = True
    metadata_class = ActionlessMetadata

    def get_exception_handler(self):
        return exception_handler

    def validated(self, serializer_class=None):
        serializer = (serializer_class or self.get_serializer_class())(
            data=self.request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class AnonymousView(TwoStepView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]


class LoginView(AnonymousView):
    """Check a username and password; a user with 2SV on gets a challenge, not a credential."""

    serializer_class = s.LoginSerializer
    throttle_classes = [LoginThrottle]

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_login",
        request=s.LoginSerializer,
        responses={
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="LoginResponse",
                    serializers={
                        "authenticated": s.AuthenticatedSerializer,
                        "setup_required": s.AuthenticatedSerializer,
                        "verification_required": s.ChallengeSerializer,
                    },
                    resource_type_field_name="status",
                ),
                description="`authenticated` or `setup_required` with a credential, or "
                "`verification_required` with a challenge and no credential.",
            ),
            400: error(ErrorCode.INVALID_CREDENTIALS),
            429: THROTTLED,
        },
        examples=LOGIN_EXAMPLES,
    )
    def post(self, request):
        data = self.validated()
        result = services.login(request, data["username"], data["password"])
        if result["status"] == "verification_required":
            return Response(s.ChallengeSerializer(result).data)
        return Response(s.AuthenticatedSerializer(result).data)


class VerifyLoginView(AnonymousView):
    """Complete a login with a code (or a recovery code) and receive the credential."""

    serializer_class = s.VerifyLoginSerializer
    throttle_classes = [VerifyThrottle]

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_login_verify",
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
            ),
            404: error(ErrorCode.NOT_FOUND),
            429: error(ErrorCode.TOO_MANY_ATTEMPTS, ErrorCode.THROTTLED),
        },
    )
    def post(self, request):
        data = self.validated()
        result = services.verify_login(
            request,
            data["challenge"],
            code=data.get("code"),
            method_id=data.get("method"),
            recovery_code=data.get("recovery_code"),
        )
        return Response(s.AuthenticatedSerializer(result).data)


class SendCodeView(AnonymousView):
    """Send a fresh code for a login challenge, for methods that deliver codes."""

    serializer_class = s.SendCodeSerializer
    throttle_classes = [SendCodeThrottle]

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_login_send_code",
        request=s.SendCodeSerializer,
        responses={
            202: s.SendCodeResponseSerializer,
            400: error(
                ErrorCode.METHOD_DOES_NOT_SEND,
                ErrorCode.INVALID_CHALLENGE,
                ErrorCode.CHALLENGE_EXPIRED,
            ),
            404: error(ErrorCode.NOT_FOUND),
            429: error(ErrorCode.THROTTLED, ErrorCode.TOO_MANY_ATTEMPTS),
            503: error(ErrorCode.DELIVERY_FAILED),
        },
    )
    def post(self, request):
        data = self.validated()
        expires_in = services.send_login_code(request, data["challenge"], data["method"])
        return Response(
            {"detail": str(_("A code is on its way.")), "expires_in": expires_in},
            status=status.HTTP_202_ACCEPTED,
        )


class LogoutView(TwoStepView):
    """Revoke the credential used for this request."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = None

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_logout",
        request=None,
        responses=authenticated(
            {
                204: None,
            }
        ),
    )
    def post(self, request):
        services.logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatusView(TwoStepView):
    """The caller's 2-Step Verification status."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.StatusSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_status",
        examples=STATUS_EXAMPLES,
        responses=authenticated(
            {
                200: s.StatusSerializer,
            }
        ),
    )
    def get(self, request):
        return Response(s.StatusSerializer(services.status(request.user)).data)


class MethodListView(TwoStepView):
    """List the caller's methods, or start setting up a new one."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.MethodSetupSerializer

    def get_throttles(self):
        return [SetupThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_methods_list",
        responses=authenticated(
            {
                200: s.MethodSerializer(many=True),
            }
        ),
    )
    def get(self, request):
        methods = [m for m in request.user.two_step_methods.all() if not m.pending_expired()]
        return Response(s.MethodSerializer(methods, many=True).data)

    @extend_schema(
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
    def post(self, request):
        data = dict(self.validated())
        method, extra = services.begin_setup(
            request,
            request.user,
            data.pop("kind"),
            data.pop("password"),
            data.pop("name", ""),
            **data,
        )
        body = {**s.MethodSerializer(method).data, **extra}
        return Response(body, status=status.HTTP_201_CREATED)


# The id of a method in its path: digits only (``<int:pk>``), so never negative.
METHOD_ID = OpenApiParameter(
    "id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH, description="The method's id."
)


@extend_schema(parameters=[METHOD_ID])
class MethodDetailView(TwoStepView):
    """Rename a method or make it the default; delete it (password required)."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.MethodUpdateSerializer

    def get_throttles(self):
        # A wrong password on DELETE counts toward throttling, as on setup.
        return [SetupThrottle()] if self.request.method == "DELETE" else []

    @extend_schema(
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
    def patch(self, request, pk):
        data = self.validated()
        method = services.update_method(
            request.user, pk, name=data.get("name"), is_default=data.get("is_default")
        )
        return Response(s.MethodSerializer(method).data)

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_methods_destroy",
        request=s.PasswordSerializer,
        responses=authenticated(
            {
                204: None,
                400: error(ErrorCode.PASSWORD_INCORRECT),
                404: error(ErrorCode.NOT_FOUND),
                409: error(ErrorCode.METHOD_REQUIRED_BY_ORGANIZATION),
                429: THROTTLED,
            }
        ),
    )
    def delete(self, request, pk):
        data = self.validated(s.PasswordSerializer)
        services.remove_method(request, request.user, pk, data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[METHOD_ID])
class MethodConfirmView(TwoStepView):
    """Step two of setup: a valid code makes the method active."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.ConfirmSerializer
    throttle_classes = [SetupThrottle]

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_methods_confirm",
        examples=CONFIRM_EXAMPLES,
        request=s.ConfirmSerializer,
        responses=authenticated(
            {
                200: s.ConfirmResponseSerializer,
                400: error(ErrorCode.INVALID_CODE, ErrorCode.CODE_ALREADY_USED),
                404: error(ErrorCode.NOT_FOUND),
                409: error(ErrorCode.METHOD_NOT_PENDING),
                429: THROTTLED,
            }
        ),
    )
    def post(self, request, pk):
        data = self.validated()
        result = services.confirm_method(request, request.user, pk, data["code"])
        return Response(s.ConfirmResponseSerializer(result).data)


class RecoveryCodesView(TwoStepView):
    """Replace all recovery codes (password required); the new ones are shown this once."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.PasswordSerializer
    throttle_classes = [SetupThrottle]
    twostep_setup_allowed = False

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_recovery_codes_regenerate",
        request=s.PasswordSerializer,
        responses=authenticated(
            {
                201: s.RecoveryCodesSerializer,
                400: error(ErrorCode.PASSWORD_INCORRECT),
                409: error(ErrorCode.TWO_STEP_NOT_ENABLED),
                429: THROTTLED,
            },
            setup_allowed=False,
        ),
    )
    def post(self, request):
        data = self.validated()
        codes = services.regenerate_recovery_codes(request, request.user, data["password"])
        return Response({"recovery_codes": codes}, status=status.HTTP_201_CREATED)


class RecoveryCodesPdfView(TwoStepView):
    """The caller's current recovery codes as a one-page PDF."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.RecoveryCodesPdfSerializer
    throttle_classes = [SetupThrottle]
    twostep_setup_allowed = False

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_recovery_codes_pdf",
        request=s.RecoveryCodesPdfSerializer,
        responses=authenticated(
            {
                (200, "application/pdf"): OpenApiResponse(bytes, description="The PDF document."),
                400: error(ErrorCode.INVALID_RECOVERY_CODE),
            },
            setup_allowed=False,
        ),
    )
    def post(self, request):
        data = self.validated()
        document = services.recovery_codes_pdf(request.user, data["recovery_codes"])
        response = HttpResponse(document, content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="recovery-codes.pdf"'
        response["Cache-Control"] = "no-store"
        return response


class EventPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class EventListView(TwoStepView, generics.ListAPIView):
    """The caller's security log, newest first."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.SecurityEventSerializer
    pagination_class = EventPagination
    twostep_setup_allowed = False

    def get_queryset(self):
        return SecurityEvent.objects.filter(user=self.request.user).order_by("-created_at", "-pk")

    @extend_schema(
        tags=[TAG],
        operation_id="two_step_events_list",
        responses=authenticated(
            {200: s.SecurityEventSerializer(many=True), 404: error(ErrorCode.NOT_FOUND)},
            setup_allowed=False,
        ),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# -- organizations --------------------------------------------------------------------------

ORG_TAG = "Organizations"


class OrganizationView(TwoStepView):
    """Base for the organization admin endpoints: 404 for anyone who is not an admin."""

    permission_classes = [permissions.IsAuthenticated]
    twostep_setup_allowed = False

    def get_organization(self, change=False):
        return services.admin_organization(self.request.user, self.kwargs["org_id"], change=change)


def _policy_body(organization, policy):
    from .methods import enabled_kinds

    adapter = get_adapter()
    return {
        "organization": {
            "id": str(organization.pk),
            "name": adapter.get_organization_name(organization),
        },
        "required": policy.required,
        "grace_period_days": policy.grace_period_days,
        "required_since": policy.required_since,
        "allowed_methods": policy.allowed_methods or enabled_kinds(),
    }


POLICY_CHANGE_RESPONSES = {
    200: s.PolicySerializer,
    400: VALIDATION,
    403: error(ErrorCode.TWO_STEP_SETUP_REQUIRED),
    404: error(ErrorCode.NOT_FOUND),
}


class PolicyView(OrganizationView):
    """An organization's 2-Step Verification policy (organization admins only)."""

    serializer_class = s.PolicySerializer

    @extend_schema(
        tags=[ORG_TAG],
        operation_id="organization_policy_retrieve",
        responses=authenticated(
            {200: s.PolicySerializer, 404: error(ErrorCode.NOT_FOUND)}, setup_allowed=False
        ),
    )
    def get(self, request, org_id):
        organization = self.get_organization()
        body = _policy_body(organization, services.get_policy(organization))
        return Response(s.PolicySerializer(body).data)

    def _change(self, request, partial):
        organization = self.get_organization(change=True)
        serializer = s.PolicySerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        policy = services.update_policy(
            request, request.user, organization, **serializer.validated_data
        )
        return Response(s.PolicySerializer(_policy_body(organization, policy)).data)

    @extend_schema(
        tags=[ORG_TAG],
        operation_id="organization_policy_update",
        request=s.PolicySerializer,
        responses=authenticated(POLICY_CHANGE_RESPONSES, setup_allowed=False),
    )
    def put(self, request, org_id):
        return self._change(request, partial=False)

    @extend_schema(
        tags=[ORG_TAG],
        operation_id="organization_policy_partial_update",
        request=s.PolicySerializer(partial=True),
        responses=authenticated(POLICY_CHANGE_RESPONSES, setup_allowed=False),
    )
    def patch(self, request, org_id):
        return self._change(request, partial=True)


class MemberPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class MemberListView(OrganizationView, generics.ListAPIView):
    """The organization's members and whether each meets its policy. ``?compliant=false``."""

    serializer_class = s.MemberSerializer
    pagination_class = MemberPagination

    def get_queryset(self):
        organization = self.get_organization()
        members = services.organization_members(organization, services.get_policy(organization))
        compliant = self.request.query_params.get("compliant")
        if compliant in ("true", "false"):
            members = members.filter(compliant=compliant == "true")
        return members

    @extend_schema(
        tags=[ORG_TAG],
        operation_id="organization_members_list",
        parameters=[
            OpenApiParameter(
                "compliant", bool, description="Only members who do (not) meet the policy."
            )
        ],
        responses=authenticated(
            {200: s.MemberSerializer(many=True), 404: error(ErrorCode.NOT_FOUND)},
            setup_allowed=False,
        ),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class MemberResetView(OrganizationView):
    """Reset a member's 2-Step Verification (lost device): methods, codes and credentials go."""

    serializer_class = None

    @extend_schema(
        tags=[ORG_TAG],
        operation_id="organization_member_reset_two_step",
        request=None,
        responses=authenticated(
            {
                204: None,
                403: error(ErrorCode.TWO_STEP_SETUP_REQUIRED),
                404: error(ErrorCode.NOT_FOUND),
            },
            setup_allowed=False,
        ),
    )
    def post(self, request, org_id, user_id):
        organization = self.get_organization(change=True)
        services.reset_member(request, request.user, organization, user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
