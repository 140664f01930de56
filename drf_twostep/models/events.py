"""The security log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SecurityEvent(models.Model):
    """A line in a user's security log. Rows outlive the method they mention."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="two_step_events",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    # A plain id, not a foreign key, so the record survives the method's removal.
    method_id = models.BigIntegerField(_("method"), null=True, blank=True)
    method_kind = models.CharField(_("method kind"), max_length=32, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="twostep_event_user_time")]

    def __str__(self):
        return f"{self.kind} ({self.user})"
