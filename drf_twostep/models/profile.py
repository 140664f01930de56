"""A user's 2-Step Verification state, and the sessions signed in as them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import (
    DIGEST_LENGTH,
)


class TwoStepProfile(models.Model):
    """
    One row per user who ever set up 2SV or was required to: whether it is on, the per-user
    failure counter and lockout, the marker of the credential that passed the second step,
    and from when an organization's requirement that the user does not meet applies.

    The authentication classes read this row on every request (``enforcement``): ``enabled``
    is kept by ``services`` in step with "has an active method", and
    ``setup_required_from`` by ``enforcement.refresh`` whenever methods, memberships or
    policies change.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="two_step",
        verbose_name=_("user"),
    )
    enabled = models.BooleanField(_("enabled"), default=False)
    enabled_at = models.DateTimeField(_("enabled at"), null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(_("consecutive failed attempts"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    # Keyed digest of the credential issued after the second step (see issuers).
    verified_credential = models.CharField(max_length=DIGEST_LENGTH, blank=True, editable=False)
    last_verified_at = models.DateTimeField(_("last verified at"), null=True, blank=True)
    setup_required_from = models.DateTimeField(
        _("setup required from"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("2-Step Verification profile")
        verbose_name_plural = _("2-Step Verification profiles")
        # twostep_refresh and twostep_cleanup find who has a requirement by it.
        indexes = [models.Index(fields=["setup_required_from"], name="twostep_profile_required")]

    def __str__(self):
        return str(self.user)

    def lock_remaining(self, now=None) -> float:
        """Seconds left on a lockout, 0 when not locked."""
        if self.locked_until is None:
            return 0
        return max(0.0, (self.locked_until - (now or timezone.now())).total_seconds())


class TwoStepSession(models.Model):
    """
    A Django session that the session issuer signed in, so that revoking a user's sessions
    finds them by an index instead of decoding every session.
    """

    session_key = models.CharField(max_length=40, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")

    def __str__(self):
        return f"{self.user} @ {self.created_at:%Y-%m-%d %H:%M:%S}"
