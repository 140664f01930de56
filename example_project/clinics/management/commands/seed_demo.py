"""
Create the demo's clinic, which requires 2-Step Verification of its members, and the demo
users. Safe to run again: it finds what exists, and sets each demo user's email, password and
role, and the clinic's policy, back to the values printed.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from clinics.models import Clinic, Membership
from drf_twostep.enforcement import invalidate_all
from drf_twostep.models import OrganizationPolicy

CLINIC_NAME = "Demo Clinic"

# username, password, role in the clinic (None: no clinic), superuser. Demo passwords only.
DEMO_USERS = [
    ("alice", "demo-alice-2sv", Membership.Role.ADMIN, False),
    ("bob", "demo-bob-2sv", Membership.Role.STAFF, False),
    ("carol", "demo-carol-2sv", None, False),
    ("admin", "demo-admin-2sv", None, True),
]


class Command(BaseCommand):
    help = (
        "Create the clinic 'Demo Clinic' (2-Step Verification required) and the demo users "
        "alice, bob, carol and admin."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        rows = []
        with transaction.atomic():
            clinic = Clinic.objects.filter(name=CLINIC_NAME).order_by("pk").first()
            if clinic is None:
                clinic = Clinic.objects.create(name=CLINIC_NAME)
            # Members must set up 2SV at their next sign-in: no grace period.
            OrganizationPolicy.objects.update_or_create(
                organization=clinic, defaults={"required": True, "grace_period_days": 0}
            )
            for username, password, role, superuser in DEMO_USERS:
                user = User.objects.filter(username=username).first() or User(username=username)
                user.email = f"{username}@example.com"
                user.is_staff = user.is_superuser = superuser
                user.set_password(password)
                user.save()
                if role is None:
                    Membership.objects.filter(user=user, clinic=clinic).delete()
                else:
                    Membership.objects.update_or_create(
                        user=user, clinic=clinic, defaults={"role": role}
                    )
                if superuser:
                    where = "superuser (/admin/), no clinic"
                elif role:
                    where = f"{CLINIC_NAME} {role}: 2SV required"
                else:
                    where = "no clinic: 2SV optional"
                rows.append((username, password, where))
        # Enforcement state may be cached (ENFORCEMENT_CACHE): policies and memberships changed.
        invalidate_all()

        widths = [
            max(len(row[i]) for row in rows + [("username", "password", "role")]) for i in range(3)
        ]
        line = "  ".join(f"{{:<{width}}}" for width in widths)
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Demo users (development only):"))
        for row in [
            ("username", "password", "role"),
            tuple("-" * width for width in widths),
            *rows,
        ]:
            self.stdout.write(line.format(*row).rstrip())
