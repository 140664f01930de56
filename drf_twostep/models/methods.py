"""A user's methods, recovery codes and the codes delivered for a method."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import (
    DIGEST_LENGTH,
    METHOD_NAME_MAX_LENGTH,
    MethodStatus,
)
from ..settings import twostep_settings
from .login import LoginChallenge


class TwoStepMethodQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=MethodStatus.ACTIVE.value)

    def pending(self):
        return self.filter(status=MethodStatus.PENDING.value)

    def for_user(self, user):
        return self.filter(user=user)


class TwoStepMethod(models.Model):
    """
    A way for a user to give the second step: an authenticator app, a phone, an email address.

    ``kind`` names a module in ``METHOD_CLASSES``; it has no ``choices`` so that adding a kind
    needs no migration. ``secret`` is encrypted (``crypto.encrypt``) and never leaves the server
    after setup. ``last_used_step`` is the last accepted TOTP time step (replay guard).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="two_step_methods",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=32)
    name = models.CharField(_("name"), max_length=METHOD_NAME_MAX_LENGTH, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        default=MethodStatus.PENDING.value,
        choices=[(s.value, s.value) for s in MethodStatus],
    )
    is_default = models.BooleanField(_("default"), default=False)
    secret = models.TextField(blank=True, editable=False)
    destination = models.CharField(_("destination"), max_length=254, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    objects = TwoStepMethodQuerySet.as_manager()

    class Meta:
        verbose_name = _("2-Step Verification method")
        verbose_name_plural = _("2-Step Verification methods")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["user", "status"], name="twostep_method_user_status"),
            # twostep_cleanup's set-ups never confirmed in time.
            models.Index(fields=["status", "created_at"], name="twostep_method_status_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default=True),
                name="twostep_one_default_method_per_user",
            )
        ]

    def __str__(self):
        return f"{self.name or self.kind} ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.status == MethodStatus.ACTIVE.value

    def pending_expired(self, now=None) -> bool:
        if self.is_active:
            return False
        lifetime = timedelta(seconds=twostep_settings.PENDING_METHOD_LIFETIME)
        return self.created_at + lifetime <= (now or timezone.now())


class RecoveryCode(models.Model):
    """
    A one-time recovery code, stored only as a keyed digest (``crypto.keyed_digest``) and
    found by it. A used code is deleted and replaced.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="two_step_recovery_codes",
        verbose_name=_("user"),
    )
    digest = models.CharField(max_length=DIGEST_LENGTH, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self):
        return _("Recovery code of %(user)s") % {"user": self.user}


class DeliveredCode(models.Model):
    """
    A code sent by SMS or email, stored only as a keyed digest. It is bound to one login
    challenge, or (``challenge`` empty) to the setup of its pending method; it expires, works
    once and is deleted when used, when too many wrong codes were given for it, or when a new
    code is sent for the same binding.
    """

    method = models.ForeignKey(TwoStepMethod, on_delete=models.CASCADE, related_name="+")
    challenge = models.ForeignKey(
        LoginChallenge, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    digest = models.CharField(max_length=DIGEST_LENGTH, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("delivered code")
        verbose_name_plural = _("delivered codes")
        indexes = [
            models.Index(fields=["method", "challenge"], name="twostep_code_binding"),
            models.Index(fields=["expires_at"], name="twostep_code_expires"),
        ]

    def __str__(self):
        return f"{self.method} @ {self.created_at:%Y-%m-%d %H:%M:%S}"
