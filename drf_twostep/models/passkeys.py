"""Passkeys (WebAuthn): user handles, credentials and ceremony challenges."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import (
    DIGEST_LENGTH,
    WEBAUTHN_USER_HANDLE_LENGTH,
)
from .login import LoginChallenge
from .methods import TwoStepMethod


class PasskeyUserHandle(models.Model):
    """
    A user's WebAuthn user handle: 64 random bytes (base64url), made at their first passkey
    setup and sent as ``user.id`` in every creation options, never the pk or the username.
    A passkey used alone to sign in names its user by this handle.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="two_step_passkey_handle",
        verbose_name=_("user"),
    )
    handle = models.CharField(max_length=WEBAUTHN_USER_HANDLE_LENGTH, unique=True, editable=False)

    class Meta:
        verbose_name = _("passkey user handle")
        verbose_name_plural = _("passkey user handles")

    def __str__(self):
        return str(self.user)


class PasskeyCredential(models.Model):
    """
    The public part of a passkey method's credential, stored when its registration verifies:
    nothing in it is secret. ``credential_id`` is base64url (up to 1023 bytes: too long for a
    portable unique index), found by ``credential_id_digest``, the SHA-256 of its bytes.
    ``public_key`` is the COSE key; ``sign_count`` the last count the authenticator gave (0:
    it does not count, as synced passkeys do not). ``backup_eligible`` and ``backup_state``
    are the BE and BS flags (a synced passkey: eligible; backed up now).
    """

    method = models.OneToOneField(
        TwoStepMethod,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="passkey",
        verbose_name=_("method"),
    )
    credential_id = models.TextField(_("credential id"), editable=False)
    credential_id_digest = models.CharField(max_length=DIGEST_LENGTH, unique=True, editable=False)
    public_key = models.BinaryField(editable=False)
    sign_count = models.BigIntegerField(_("sign count"), default=0, editable=False)
    transports = models.JSONField(_("transports"), default=list, blank=True, editable=False)
    aaguid = models.CharField(_("AAGUID"), max_length=36, blank=True, editable=False)
    backup_eligible = models.BooleanField(_("backup eligible"), default=False, editable=False)
    backup_state = models.BooleanField(_("backed up"), default=False, editable=False)

    class Meta:
        verbose_name = _("passkey credential")
        verbose_name_plural = _("passkey credentials")

    def __str__(self):
        return str(self.method)


class PasskeyChallenge(models.Model):
    """
    The challenge of one WebAuthn ceremony, stored as the SHA-256 digest of its 32 bytes.
    Bound to the pending passkey ``method`` it registers, to the ``login_challenge`` whose
    second step it is, to the signed-in ``user`` who re-verifies (step-up), or to none (a
    sign-in with a passkey alone, found by its digest).
    It works once (deleted when a credential verifies against it), expires with what it is
    bound to (``expires_at``), and a new one for the same binding replaces the old.
    """

    digest = models.CharField(max_length=DIGEST_LENGTH, unique=True, editable=False)
    method = models.ForeignKey(
        TwoStepMethod, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    login_challenge = models.ForeignKey(
        LoginChallenge, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("passkey challenge")
        verbose_name_plural = _("passkey challenges")
        indexes = [models.Index(fields=["expires_at"], name="twostep_passkey_expires")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S}"
