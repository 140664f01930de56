"""The caller's 2-Step Verification: its status, methods, recovery codes and security log."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework import generics, status
from rest_framework.response import Response

from .. import serializers as s
from .. import services
from ..models import SecurityEvent
from ..schema import operations
from ..throttling import SetupThrottle
from .base import Pagination, UserView


class StatusView(UserView):
    """The caller's 2-Step Verification status."""

    serializer_class = s.StatusSerializer

    @operations.status
    def get(self, request):
        return Response(s.StatusSerializer(services.status(request.user)).data)


class MethodListView(UserView):
    """List the caller's methods, or start setting up a new one."""

    serializer_class = s.MethodSetupSerializer

    def get_throttles(self):
        return [SetupThrottle()] if self.request.method == "POST" else []

    @operations.methods_list
    def get(self, request):
        methods = [m for m in request.user.two_step_methods.all() if not m.pending_expired()]
        return Response(s.MethodSerializer(methods, many=True).data)

    @operations.methods_create
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


@operations.method_id
class MethodDetailView(UserView):
    """Rename a method or make it the default; delete it (password required)."""

    serializer_class = s.MethodUpdateSerializer
    schema = operations.RequestBodyOnDelete()

    def get_throttles(self):
        # A wrong password on DELETE counts toward throttling, as on setup.
        return [SetupThrottle()] if self.request.method == "DELETE" else []

    @operations.methods_update
    def patch(self, request, pk):
        data = self.validated()
        method = services.update_method(
            request.user, pk, name=data.get("name"), is_default=data.get("is_default")
        )
        return Response(s.MethodSerializer(method).data)

    @operations.methods_destroy
    def delete(self, request, pk):
        data = self.validated(s.PasswordSerializer)
        services.remove_method(request, request.user, pk, data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@operations.method_id
class MethodConfirmView(UserView):
    """Step two of setup: a valid code (a passkey's registration) makes the method active."""

    serializer_class = s.ConfirmSerializer
    throttle_classes = [SetupThrottle]

    @operations.methods_confirm
    def post(self, request, pk):
        data = self.validated()
        result = services.confirm_method(
            request, request.user, pk, data.get("code"), credential=data.get("credential")
        )
        return Response(s.ConfirmResponseSerializer(result).data)


class RecoveryCodesView(UserView):
    """Replace all recovery codes (password required); the new ones are shown this once."""

    serializer_class = s.PasswordSerializer
    throttle_classes = [SetupThrottle]
    twostep_setup_allowed = False

    @operations.recovery_codes_regenerate
    def post(self, request):
        data = self.validated()
        codes = services.regenerate_recovery_codes(request, request.user, data["password"])
        return Response({"recovery_codes": codes}, status=status.HTTP_201_CREATED)


class RecoveryCodesPdfView(UserView):
    """The caller's current recovery codes as a one-page PDF."""

    serializer_class = s.RecoveryCodesPdfSerializer
    throttle_classes = [SetupThrottle]
    twostep_setup_allowed = False

    @operations.recovery_codes_pdf
    def post(self, request):
        data = self.validated()
        document = services.recovery_codes_pdf(request.user, data["recovery_codes"])
        response = HttpResponse(document, content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="recovery-codes.pdf"'
        response["Cache-Control"] = "no-store"
        return response


class EventListView(UserView, generics.ListAPIView):
    """The caller's security log, newest first."""

    serializer_class = s.SecurityEventSerializer
    pagination_class = Pagination
    twostep_setup_allowed = False

    def get_queryset(self):
        return SecurityEvent.objects.filter(user=self.request.user).order_by("-created_at", "-pk")

    @operations.events_list
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
