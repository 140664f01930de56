"""The status object of API.md: what ``GET two-step/`` and every completed sign-in answer."""

from __future__ import annotations

from django.db.models import Count, Exists, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..adapter import get_adapter
from ..enforcement import get_requirement, policies_of
from ..models import RecoveryCode, TwoStepMethod, TwoStepProfile
from ..settings import twostep_settings
from .devices import allowed_days

# status() loads what it is not given.
LOAD = object()


def status(user, *, profile=LOAD, methods=None, known=None) -> dict:
    """The status object of API.md for ``user``; ``profile`` (None: the user has none),
    ``methods`` (all the user's) and ``known`` (a row annotated with ``status_fields()``; its
    ``status_codes`` None where the codes changed since), when the caller has them up to date,
    save queries."""
    if profile is LOAD:
        profile = TwoStepProfile.objects.filter(user=user).first()
    if methods is None:
        methods = TwoStepMethod.objects.filter(user=user)
    enabled = bool(profile and profile.enabled)
    methods = [m for m in methods if not m.pending_expired()]
    default = next((m.pk for m in methods if m.is_default and m.is_active), None)
    if known is not None and known.status_codes is not None:
        remaining, created_at = known.status_codes, known.status_codes_since
    else:
        codes = list(RecoveryCode.objects.filter(user=user).values_list("created_at", flat=True))
        remaining, created_at = len(codes), min(codes, default=None)
    given: dict = {}
    if known is not None:
        # A user in no organization with a policy: nothing to load. The profile read with
        # ``known`` holds when an unmet requirement applies.
        if getattr(known, "status_policies", True) is False:
            given["policies"] = []
        if profile is not None:
            given["unmet"] = profile.setup_required_from
    adapter = get_adapter()
    requirement = get_requirement(user, methods=methods, **given)
    return {
        "enabled": enabled,
        "required": requirement.required,
        "required_by": [
            {"id": str(p.organization_id), "name": adapter.get_organization_name(p.organization)}
            for p in requirement.required_by
        ],
        "grace_period_ends_at": requirement.grace_period_ends_at(),
        "default_method": default,
        "methods": methods,
        "recovery_codes": {
            "remaining": remaining,
            "total": twostep_settings.RECOVERY_CODE_COUNT if enabled else 0,
            "created_at": created_at,
        },
        "remember_device_days": allowed_days(user, requirement),
        "server_time": timezone.now(),
    }


def status_fields() -> dict:
    """Annotations for a query of rows with a ``user`` column, bringing in the same statement
    what ``status()`` reads besides the profile and the methods: the recovery codes' count and
    age, and (where the adapter names its memberships) whether any organization of the user has
    a policy."""
    codes = RecoveryCode.objects.filter(user=OuterRef("user")).order_by().values("user")
    fields = {
        "status_codes": Coalesce(Subquery(codes.annotate(n=Count("pk")).values("n")), 0),
        "status_codes_since": Subquery(codes.annotate(first=Min("created_at")).values("first")),
    }
    if get_adapter().get_memberships():
        # The memberships' subquery is one level further in: the user of the outer row.
        fields["status_policies"] = Exists(policies_of(OuterRef(OuterRef("user"))))
    return fields
