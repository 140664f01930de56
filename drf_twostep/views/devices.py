"""The caller's trusted devices: list them, forget one or all."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from .. import serializers as s
from ..schema import operations
from ..services import devices
from .base import UserView


class DeviceListView(UserView):
    """The caller's trusted devices; DELETE forgets them all."""

    serializer_class = s.TrustedDeviceSerializer

    @operations.devices_list
    def get(self, request):
        found = devices.devices_of(request.user)
        return Response(s.TrustedDeviceSerializer(found, many=True).data)

    @operations.devices_forget_all
    def delete(self, request):
        devices.forget_all(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@operations.device_id
class DeviceDetailView(UserView):
    """Forget one trusted device."""

    serializer_class = None

    @operations.devices_forget
    def delete(self, request, pk):
        devices.forget(request.user, pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
