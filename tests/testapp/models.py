"""Models of the tests' own: a membership model of a project's, as clinics or companies have,
here for the suite's organizations (``auth.Group``)."""

from django.conf import settings
from django.db import models


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        "auth.Group", on_delete=models.CASCADE, related_name="memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="testapp_one_membership")
        ]

    def __str__(self):
        return f"{self.user} in {self.organization}"
