"""Adapters of the tests: organizations whose members a model of the project's records."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from drf_twostep.adapter import DefaultTwoStepAdapter, Membership

from .models import Membership as MembershipModel


class MembershipAdapter(DefaultTwoStepAdapter):
    """Memberships in ``testapp.Membership``, named for the package to watch."""

    def get_memberships(self):
        return [Membership(MembershipModel, user="user", organization="organization")]


class UnwatchedAdapter(DefaultTwoStepAdapter):
    """The same memberships given by querysets alone: the package cannot watch them."""

    def get_memberships(self):
        return []

    def get_user_organizations(self, user):
        return Group.objects.filter(memberships__user=user)

    def get_organization_members(self, organization):
        return get_user_model().objects.filter(memberships__organization=organization)


class SetupUrlAdapter(DefaultTwoStepAdapter):
    """Names the project's page where 2SV is set up (shown by the admin's refusal)."""

    def get_two_step_setup_url(self, request, user):
        return "https://app.example/account/"
