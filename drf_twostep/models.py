"""
Models: a user's methods, recovery codes, login challenges, per-user state and security events.

Behaviour lives in ``services`` and ``methods``; models hold data, small queries and the
invariants that the database can check.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .constants import (
    DIGEST_LENGTH,
    METHOD_NAME_MAX_LENGTH,
    WEBAUTHN_USER_HANDLE_LENGTH,
    MethodStatus,
)
from .settings import twostep_settings


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

    def __str__(self):
        return str(self.user)

    def lock_remaining(self, now=None) -> float:
        """Seconds left on a lockout, 0 when not locked."""
        if self.locked_until is None:
            return 0
        return max(0.0, (self.locked_until - (now or timezone.now())).total_seconds())


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
        indexes = [models.Index(fields=["user", "status"], name="twostep_method_user_status")]
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


class LoginChallenge(models.Model):
    """
    The state between a correct password and the second step. The client holds the opaque
    challenge; the server stores its SHA-256 digest, the user, which authentication backend
    accepted the password, when it expires, whether it completed and how many codes failed.
    """

    digest = models.CharField(max_length=DIGEST_LENGTH, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    backend = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("login challenge")
        verbose_name_plural = _("login challenges")
        indexes = [models.Index(fields=["expires_at"], name="twostep_challenge_expires")]

    def __str__(self):
        return f"{self.user} @ {self.created_at:%Y-%m-%d %H:%M:%S}"


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


def organization_model_label() -> str:
    """
    ``DRF_TWOSTEP["ORGANIZATION_MODEL"]``. Read when models load, like ``AUTH_USER_MODEL``:
    the policy table's foreign key depends on it.
    """
    return (getattr(settings, "DRF_TWOSTEP", None) or {}).get("ORGANIZATION_MODEL", "auth.Group")


class OrganizationPolicy(models.Model):
    """
    An organization's 2SV rule: whether members must have it, after what grace period, and
    which method kinds count. ``enforced_from`` (``required_since`` plus the grace period) is
    kept on save so that enforcement compares one column.
    """

    organization = models.OneToOneField(
        organization_model_label(),
        on_delete=models.CASCADE,
        related_name="two_step_policy",
        verbose_name=_("organization"),
    )
    required = models.BooleanField(_("2SV required"), default=False)
    grace_period_days = models.PositiveIntegerField(_("grace period (days)"), default=0)
    required_since = models.DateTimeField(_("required since"), null=True, blank=True)
    enforced_from = models.DateTimeField(null=True, blank=True, editable=False)
    # Allowed kinds as ",kind,kind,", so that "is this kind allowed" is a LIKE in SQL.
    allowed_kinds = models.CharField(_("allowed methods"), max_length=255, default="")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("organization 2SV policy")
        verbose_name_plural = _("organization 2SV policies")
        indexes = [
            models.Index(fields=["required", "enforced_from"], name="twostep_policy_enforced")
        ]

    def __str__(self):
        return str(self.organization)

    def save(self, *args, **kwargs):
        if self.required and self.required_since is None:
            self.required_since = timezone.now()
        if not self.required:
            self.required_since = None
        self.enforced_from = (
            self.required_since + timedelta(days=self.grace_period_days)
            if self.required_since
            else None
        )
        if "update_fields" in kwargs and kwargs["update_fields"] is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "required_since", "enforced_from"}
        super().save(*args, **kwargs)

    @property
    def allowed_methods(self) -> list[str]:
        return [kind for kind in self.allowed_kinds.split(",") if kind]

    @allowed_methods.setter
    def allowed_methods(self, kinds):
        self.allowed_kinds = "," + ",".join(dict.fromkeys(kinds)) + "," if kinds else ""


# -- passkeys (WebAuthn) -------------------------------------------------------------------


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
    second step it is, or to neither (a sign-in with a passkey alone, found by its digest).
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
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("passkey challenge")
        verbose_name_plural = _("passkey challenges")
        indexes = [models.Index(fields=["expires_at"], name="twostep_passkey_expires")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S}"
