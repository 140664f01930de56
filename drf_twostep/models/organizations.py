"""Organizations' 2-Step Verification policies."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
