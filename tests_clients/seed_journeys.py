"""
The example project's data for each journey of the generated clients, beside ``seed_demo``'s:
``python seed_journeys.py NAME...`` (in example_project/, with its DATABASE_URL) makes, for
each NAME, a clinic that requires 2-Step Verification (no grace period), its admin
``NAME-admin`` without 2SV (so signing in answers ``setup_required``), and a member
``NAME-member`` with an authenticator app (seed_demo's key) for the admin to reset. The last
line printed is JSON: per NAME, what the journey needs to know.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "example_project"
sys.path.insert(0, str(EXAMPLE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

import django  # noqa: E402

django.setup()

from clinics.management.commands.seed_demo import Command as SeedDemo  # noqa: E402
from clinics.models import Clinic, Membership  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from drf_twostep.models import OrganizationPolicy  # noqa: E402


def seed(name: str, index: int) -> dict[str, str]:
    User = get_user_model()
    clinic, _ = Clinic.objects.get_or_create(name=f"{name.title()} Journey Clinic")
    OrganizationPolicy.objects.update_or_create(
        organization=clinic, defaults={"required": True, "grace_period_days": 0}
    )
    password = f"{name}-journey-password"
    users = {}
    for role in (Membership.Role.ADMIN, Membership.Role.STAFF):
        username = f"{name}-{'admin' if role == Membership.Role.ADMIN else 'member'}"
        user = User.objects.filter(username=username).first() or User(username=username)
        user.email = f"{username}@example.com"
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(user=user, clinic=clinic, defaults={"role": role})
        users[role] = user
    SeedDemo().enable_two_step(users[Membership.Role.STAFF])
    return {
        "organization": str(clinic.pk),
        "other_organization": str(Clinic.objects.get(name="Demo Clinic").pk),
        "username": users[Membership.Role.ADMIN].username,
        "password": password,
        "member": str(users[Membership.Role.STAFF].pk),
        "member_username": users[Membership.Role.STAFF].username,
        # A number of the reserved 555-01xx range, one per journey.
        "phone_number": f"+1415555{index:04d}",
    }


if __name__ == "__main__":
    print(json.dumps({name: seed(name, i) for i, name in enumerate(sys.argv[1:], start=100)}))
