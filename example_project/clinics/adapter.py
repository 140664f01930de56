"""
The demo's drf-twostep adapter: clinics are the organizations that can require 2SV
(``DRF_TWOSTEP["ORGANIZATION_MODEL"] = "clinics.Clinic"``), ``Membership`` says who works in
which clinic, and clinic admins administer them.
"""

import re

from drf_twostep.adapter import DefaultTwoStepAdapter
from drf_twostep.adapter import Membership as TwoStepMembership

from .models import Membership

# A user agent's browser and system, first match wins (Edge and Opera say "Chrome" too, Chrome
# says "Safari", Android says "Linux").
BROWSERS = [
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/"),
    ("Safari", r"Safari/"),
]
SYSTEMS = [
    ("Android", r"Android"),
    ("iOS", r"iPhone|iPad|iPod"),
    ("Windows", r"Windows"),
    ("macOS", r"Mac OS X|Macintosh"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux"),
]


def device_name(user_agent: str) -> str:
    """``"Firefox · Windows"`` for a user agent ("" when neither is recognised)."""
    found = [
        next((name for name, pattern in table if re.search(pattern, user_agent)), None)
        for table in (BROWSERS, SYSTEMS)
    ]
    return " · ".join(name for name in found if name)


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

    def get_device_name(self, request):
        # The list of trusted devices on My Account shows "Chrome · Linux", not a user agent.
        return device_name(self.get_user_agent(request)) or super().get_device_name(request)
