"""Login challenges: the first step passed, the second awaited."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..clients import CLIENT_KEY_LENGTH
from ..constants import (
    DIGEST_LENGTH,
)


class LoginChallenge(models.Model):
    """
    The state between a correct password and the second step. The client holds the opaque
    challenge; the server stores its SHA-256 digest, the user, which authentication backend
    accepted the password, when it expires, whether it completed and how many codes failed;
    and the client that gave the password (``drf_twostep.clients``), with whether it was new to
    the user then, so that the second step from the same client does not look it up again.
    """

    digest = models.CharField(max_length=DIGEST_LENGTH, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    backend = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(default=0)
    client_key = models.CharField(max_length=CLIENT_KEY_LENGTH, blank=True, default="")
    # Whether that client was new to the user (sign_ins.is_new); None: not looked up.
    client_new = models.BooleanField(null=True, default=None)

    class Meta:
        verbose_name = _("login challenge")
        verbose_name_plural = _("login challenges")
        indexes = [models.Index(fields=["expires_at"], name="twostep_challenge_expires")]

    def __str__(self):
        return f"{self.user} @ {self.created_at:%Y-%m-%d %H:%M:%S}"
