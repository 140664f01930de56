"""The demo's organizations: clinics and who works in them."""

from django.conf import settings
from django.db import models


class Clinic(models.Model):
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A user's place in a clinic: a clinic admin or a staff member."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinic_memberships"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "clinic"], name="clinics_one_membership_per_clinic"
            )
        ]

    def __str__(self):
        return f"{self.user} @ {self.clinic} ({self.role})"
