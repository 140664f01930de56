"""The organization admin endpoints: the policy, the members list, a member's reset."""

from __future__ import annotations

from rest_framework import generics, status
from rest_framework.response import Response

from .. import serializers as s
from .. import services
from ..schema import operations
from .base import Pagination, UserView


class OrganizationView(UserView):
    """Base for the organization admin endpoints: 404 for anyone who is not an admin."""

    twostep_setup_allowed = False

    def get_organization(self, change=False):
        return services.admin_organization(self.request.user, self.kwargs["org_id"], change=change)


class PolicyView(OrganizationView):
    """An organization's 2-Step Verification policy (organization admins only)."""

    serializer_class = s.PolicySerializer

    @operations.policy_retrieve
    def get(self, request, org_id):
        organization = self.get_organization()
        body = services.policy_body(organization, services.get_policy(organization))
        return Response(s.PolicySerializer(body).data)

    def _change(self, request, partial):
        organization = self.get_organization(change=True)
        serializer = s.PolicySerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        policy = services.update_policy(
            request, request.user, organization, **serializer.validated_data
        )
        return Response(s.PolicySerializer(services.policy_body(organization, policy)).data)

    @operations.policy_update
    def put(self, request, org_id):
        return self._change(request, partial=False)

    @operations.policy_partial_update
    def patch(self, request, org_id):
        return self._change(request, partial=True)


class MemberListView(OrganizationView, generics.ListAPIView):
    """The organization's members and whether each meets its policy. ``?compliant=false``."""

    serializer_class = s.MemberSerializer
    pagination_class = Pagination

    def get_queryset(self):
        organization = self.get_organization()
        members = services.organization_members(organization, services.get_policy(organization))
        compliant = self.request.query_params.get("compliant")
        if compliant in ("true", "false"):
            members = members.filter(compliant=compliant == "true")
        return members

    @operations.members_list
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class MemberResetView(OrganizationView):
    """Reset a member's 2-Step Verification (lost device): methods, codes and credentials go."""

    serializer_class = None

    @operations.member_reset
    def post(self, request, org_id, user_id):
        organization = self.get_organization(change=True)
        services.reset_member(request, request.user, organization, user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
