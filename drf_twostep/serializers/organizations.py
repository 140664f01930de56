"""An organization's policy and members."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .responses import (
    OrganizationRefSerializer,
)


class PolicySerializer(serializers.Serializer):
    organization = OrganizationRefSerializer(read_only=True)
    required = serializers.BooleanField()
    grace_period_days = serializers.IntegerField(min_value=0, max_value=365)
    required_since = serializers.DateTimeField(read_only=True, allow_null=True)
    allowed_methods = serializers.ListField(
        child=serializers.CharField(max_length=32), min_length=1, max_length=20
    )
    remember_device_days = serializers.IntegerField(
        min_value=0,
        max_value=365,
        allow_null=True,
        required=False,
        help_text=_(
            "Days members' devices may be remembered, at most REMEMBER_DEVICE_DAYS; 0 forbids "
            "trusted devices, null follows the setting."
        ),
    )

    def validate_allowed_methods(self, value):
        from ..methods import enabled_kinds

        kinds = enabled_kinds()
        unknown = sorted(set(value) - set(kinds))
        if unknown:
            raise serializers.ValidationError(
                _("Unknown method kinds: %(kinds)s. Available: %(available)s.")
                % {"kinds": ", ".join(unknown), "available": ", ".join(kinds)}
            )
        return list(dict.fromkeys(value))


class MemberUserSerializer(serializers.Serializer):
    id = serializers.CharField(source="pk")
    username = serializers.CharField(source="get_username")


class MemberSerializer(serializers.Serializer):
    user = MemberUserSerializer(source="*")
    enabled = serializers.BooleanField(source="two_step_enabled")
    methods = serializers.SerializerMethodField()
    compliant = serializers.BooleanField()
    last_verified_at = serializers.DateTimeField(allow_null=True)

    def get_methods(self, member) -> list[str]:
        return sorted({method.kind for method in member.active_two_step_methods})
