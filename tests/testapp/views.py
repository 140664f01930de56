from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


class MeView(APIView):
    """A project view protected by the default authentication classes."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=inline_serializer("Me", {"username": serializers.CharField()}))
    def get(self, request):
        return Response({"username": request.user.get_username()})


@extend_schema(exclude=True)
class PasswordView(APIView):
    """A project's own password change, as an API would have one."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        from django.contrib.auth import update_session_auth_hash

        request.user.set_password(request.data["password"])
        request.user.save()
        update_session_auth_hash(request._request, request.user)
        return Response(status=204)


@extend_schema(exclude=True)
class SensitiveView(APIView):
    """A project view that asks for a second step in the last minute."""

    def get_permissions(self):
        from drf_twostep.permissions import RecentlyVerified

        return [IsAuthenticated(), RecentlyVerified.within(60)()]

    def get(self, request):
        return Response({"ok": True})
