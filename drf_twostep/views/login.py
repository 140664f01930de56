"""Signing in and out: password, second step, codes sent for a challenge, logout."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.response import Response

from .. import serializers as s
from .. import services
from ..constants import LoginStatus
from ..schema import operations
from ..throttling import LoginThrottle, SendCodeThrottle, VerifyThrottle
from .base import AnonymousView, UserView


class LoginView(AnonymousView):
    """Check a username and password; a user with 2SV on gets a challenge, not a credential."""

    serializer_class = s.LoginSerializer
    throttle_classes = [LoginThrottle]

    @operations.login
    def post(self, request):
        data = self.validated()
        result = services.login(
            request, data["username"], data["password"], device_token=data.get("device_token")
        )
        serializer = {
            LoginStatus.VERIFICATION_REQUIRED: s.ChallengeSerializer,
            LoginStatus.SETUP_REQUIRED: s.SetupRequiredSerializer,
        }.get(LoginStatus(result["status"]), s.AuthenticatedSerializer)
        return Response(serializer(result).data)


class VerifyLoginView(AnonymousView):
    """Complete a login with a code, a passkey or a recovery code and receive the credential."""

    serializer_class = s.VerifyLoginSerializer
    throttle_classes = [VerifyThrottle]

    @operations.login_verify
    def post(self, request):
        data = self.validated()
        result = services.verify_login(
            request,
            data["challenge"],
            code=data.get("code"),
            method_id=data.get("method"),
            recovery_code=data.get("recovery_code"),
            remember_device=data["remember_device"],
            credential=data.get("credential"),
        )
        return Response(s.AuthenticatedSerializer(result).data)


class PasskeyOptionsView(AnonymousView):
    """Start a sign-in with a passkey alone: a challenge and the options of
    ``navigator.credentials.get()`` for any passkey of this site."""

    serializer_class = None
    throttle_classes = [LoginThrottle]

    @operations.login_passkey_options
    def post(self, request):
        return Response(s.PasskeyOptionsSerializer(services.passwordless_options()).data)


class PasskeyLoginView(AnonymousView):
    """Sign in with a passkey alone (user verification required): the second step passed."""

    serializer_class = s.PasskeyLoginSerializer
    throttle_classes = [LoginThrottle]

    @operations.login_passkey
    def post(self, request):
        data = self.validated()
        result = services.passwordless_login(request, data["challenge"], data["credential"])
        return Response(s.AuthenticatedSerializer(result).data)


class SendCodeView(AnonymousView):
    """Send a fresh code for a login challenge, for methods that deliver codes."""

    serializer_class = s.SendCodeSerializer
    throttle_classes = [SendCodeThrottle]

    @operations.login_send_code
    def post(self, request):
        data = self.validated()
        expires_in = services.send_login_code(request, data["challenge"], data["method"])
        return Response(
            {"detail": str(_("A code is on its way.")), "expires_in": expires_in},
            status=status.HTTP_202_ACCEPTED,
        )


class ReverifyView(UserView):
    """Pass a second step again: the credential of this request counts as verified now."""

    serializer_class = s.ReverifySerializer
    throttle_classes = [VerifyThrottle]

    @operations.reverify
    def post(self, request):
        data = self.validated()
        result = services.reverify(
            request,
            code=data.get("code"),
            method_id=data.get("method"),
            recovery_code=data.get("recovery_code"),
            credential=data.get("credential"),
        )
        return Response(s.ReverifyResponseSerializer(result).data)


class ReverifyOptionsView(UserView):
    """Start a step-up with a passkey: the options of ``navigator.credentials.get()`` for the
    caller's passkeys, whose credential goes to ``two-step/reverify/``."""

    serializer_class = None
    throttle_classes = [VerifyThrottle]

    @operations.reverify_options
    def post(self, request):
        result = services.reverify_passkey_options(request)
        return Response(s.ReverifyOptionsSerializer(result).data)


class LogoutView(UserView):
    """Revoke the credential used for this request."""

    serializer_class = None

    @operations.logout
    def post(self, request):
        services.logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)
