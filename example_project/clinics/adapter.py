"""
The demo's drf-twostep adapter: clinics are the organizations that can require 2SV
(``DRF_TWOSTEP["ORGANIZATION_MODEL"] = "clinics.Clinic"``), ``Membership`` says who works in
which clinic, and clinic admins administer them.
"""

from drf_twostep.adapter import DefaultTwoStepAdapter
from drf_twostep.adapter import Membership as TwoStepMembership

from .models import Membership


class ClinicAdapter(DefaultTwoStepAdapter):
    def get_memberships(self):
        return [TwoStepMembership(Membership, user="user", organization="clinic")]

    def is_organization_admin(self, user, organization) -> bool:
        if not user.is_authenticated:
            return False
        return (
            user.is_superuser
            or Membership.objects.filter(
                user=user, clinic=organization, role=Membership.Role.ADMIN
            ).exists()
        )

    def get_two_step_setup_url(self, request, user):
        # The web app: signing in there leads a member who must have 2SV into its setup.
        return request.build_absolute_uri("/")
