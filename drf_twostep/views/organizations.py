"""The organization admin endpoints: the policy, the members list, a member's reset."""

from __future__ import annotations

from rest_framework import generics, status
from rest_framework.response import Response

from .. import serializers as s
from .. import services
from ..exceptions import ReverificationRequired
from ..permissions import verified_within
from ..schema import organizations as operations
from ..settings import twostep_settings
from .base import KeysetPagination, UserView, boolean


class OrganizationView(UserView):
    """Base for the organization admin endpoints: 404 for anyone who is not an admin."""

    twostep_setup_allowed = False

    def get_organization(self, change=False):
        """The organization of the path, for its admins only. ``change``: the admin has 2SV
        on and passed a second step within ``REVERIFY_MAX_AGE`` (the sign-in counts)."""
        organization = services.admin_organization(
            self.request.user, self.kwargs["org_id"], change=change
        )
        max_age = twostep_settings.REVERIFY_MAX_AGE
        if change and not verified_within(self.request, max_age):
            raise ReverificationRequired(max_age)
        return organization


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
    pagination_class = KeysetPagination

    def get_queryset(self):
        organization = self.get_organization()
        self.policy = services.get_policy(organization)
        members = services.organization_members(organization, self.policy)
        # What the pagination counts to choose between an exact count and an estimate.
        self.count_basis = members
        compliant = boolean("compliant", self.request.query_params.get("compliant"))
        if compliant is not None:
            members = members.filter(compliant=compliant)
        return members

    def paginate_queryset(self, queryset):
        return services.mark_compliance(super().paginate_queryset(queryset), self.policy)

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
