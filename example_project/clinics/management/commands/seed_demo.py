"""
Create the demo's clinic, which requires 2-Step Verification of its members, and the demo
users. Safe to run again: it finds what exists, and sets each demo user's email, password and
role, and the clinic's policy, back to the values printed.

alice, the clinic's admin, has 2SV on with an authenticator app whose key is fixed and
printed (so the demo can be tried at once, e.g. with ``oathtool --totp -b KEY``) and a fresh
recovery code each run. bob, staff, has no 2SV yet: his next sign-in leads to setup.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from clinics.models import Clinic, Membership
from drf_twostep import crypto, enforcement
from drf_twostep.adapter import get_adapter
from drf_twostep.constants import MethodKind, MethodStatus
from drf_twostep.methods import recovery
from drf_twostep.methods.totp import build_otpauth_uri
from drf_twostep.models import OrganizationPolicy, TwoStepMethod, TwoStepProfile

CLINIC_NAME = "Demo Clinic"

# alice's authenticator-app key (base32). Demo only: anyone who reads this can make her codes.
DEMO_TOTP_KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

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
                elif role == Membership.Role.ADMIN:
                    where = f"{CLINIC_NAME} {role}: 2SV on (key below)"
                elif role:
                    where = f"{CLINIC_NAME} {role}: 2SV required, set up at sign-in"
                else:
                    where = "no clinic: 2SV optional"
                rows.append((username, password, where))
            recovery_code = self.enable_two_step(User.objects.get(username="alice"))

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
        self.stdout.write(
            f"\nalice has 2-Step Verification on. Authenticator key: {DEMO_TOTP_KEY}\n"
            f"  (add it to an authenticator app, or: oathtool --totp -b {DEMO_TOTP_KEY})\n"
            f"  Recovery code: {recovery_code}"
        )

    def enable_two_step(self, user) -> str:
        """Give ``user`` exactly one authenticator app (the demo key), 2SV on, and a new
        recovery code; returns the code."""
        adapter = get_adapter()
        uri = build_otpauth_uri(
            DEMO_TOTP_KEY, adapter.get_account_name(user), adapter.get_issuer_name()
        )
        now = timezone.now()
        TwoStepMethod.objects.filter(user=user).delete()
        TwoStepMethod.objects.create(
            user=user,
            kind=MethodKind.AUTHENTICATOR_APP.value,
            name="Demo authenticator",
            status=MethodStatus.ACTIVE.value,
            is_default=True,
            secret=crypto.encrypt(uri),
            confirmed_at=now,
        )
        TwoStepProfile.objects.update_or_create(
            user=user,
            defaults={
                "enabled": True,
                "enabled_at": now,
                "failed_attempts": 0,
                "locked_until": None,
                "verified_credential": "",
            },
        )
        # The method was written here, not through the package's flows.
        enforcement.refresh(user)
        return recovery.regenerate(user)[0]
