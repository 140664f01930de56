"""Trusted devices: where a user passed the second step and asked to be remembered."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import DIGEST_LENGTH


class TrustedDevice(models.Model):
    """
    A device remembered after a second step. Only the keyed digest of its token is kept, with
    a keyed digest of the user's password hash at the time (a new password, by any path,
    forgets it) and the time it was remembered (2SV turned off and on again forgets it).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="two_step_devices",
        verbose_name=_("user"),
    )
    digest = models.CharField(max_length=DIGEST_LENGTH, unique=True, editable=False)
    password_digest = models.CharField(max_length=DIGEST_LENGTH, editable=False)
    name = models.CharField(_("name"), max_length=100, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("trusted device")
        verbose_name_plural = _("trusted devices")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="twostep_device_user"),
            # twostep_cleanup's expired devices.
            models.Index(fields=["expires_at"], name="twostep_device_expires"),
        ]

    def __str__(self):
        return self.name or self.user_agent or str(self.pk)
