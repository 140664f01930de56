"""The security log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..clients import CLIENT_KEY_LENGTH


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
    # On the events of a completed sign-in: the digest of its client (the user agent's family
    # and the IP's network, drf_twostep.clients), which new-device notifications look up;
    # empty on every other event.
    client_key = models.CharField(
        _("client key"), max_length=CLIENT_KEY_LENGTH, blank=True, default="", editable=False
    )

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="twostep_event_user_time"),
            models.Index(fields=["user", "client_key", "created_at"], name="twostep_event_client"),
        ]

    def __str__(self):
        return f"{self.kind} ({self.user})"
