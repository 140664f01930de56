"""
The demo's drf-twostep adapter: clinics are the organizations that can require 2SV
(``DRF_TWOSTEP["ORGANIZATION_MODEL"] = "clinics.Clinic"``), and clinic admins administer them.
"""

from django.contrib.auth import get_user_model

from drf_twostep.adapter import DefaultTwoStepAdapter

from .models import Clinic, Membership


class ClinicAdapter(DefaultTwoStepAdapter):
    def get_user_organizations(self, user):
        return Clinic.objects.filter(memberships__user=user)

    def get_organizations_of_user_pk(self, user_pk):
        # The same clinics by pk, from the membership table alone: with it a token request
        # reads the token and the 2SV state in one query.
        return Membership.objects.filter(user=user_pk).values("clinic")

    def get_organization_members(self, organization):
        return get_user_model().objects.filter(clinic_memberships__clinic=organization)

    def is_organization_admin(self, user, organization) -> bool:
        if not user.is_authenticated:
            return False
        return (
            user.is_superuser
            or Membership.objects.filter(
                user=user, clinic=organization, role=Membership.Role.ADMIN
            ).exists()
        )
