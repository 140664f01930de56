"""A sample protected endpoint: it uses the project's default (2SV-enforcing) authentication."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from drf_twostep.schema import authenticated

from .models import Membership


class MembershipSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="clinic.id")
    name = serializers.CharField(source="clinic.name")

    class Meta:
        model = Membership
        fields = ["id", "name", "role"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    clinics = MembershipSerializer(many=True)


class MeView(APIView):
    """The signed-in user and their clinics."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["Demo"],
        operation_id="me",
        # With the package's authentication classes: 401, and 403 when 2SV is lacking.
        responses=authenticated({200: MeSerializer}, setup_allowed=False),
    )
    def get(self, request):
        user = request.user
        memberships = user.clinic_memberships.select_related("clinic").order_by("clinic__name")
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "clinics": memberships,
        }
        return Response(MeSerializer(data).data)
