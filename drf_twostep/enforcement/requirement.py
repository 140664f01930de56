"""
Organizations' requirements of a user: which policies their active methods do not meet, and from
when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Value,
)
from django.db.models.functions import Concat, StrIndex
from django.utils import timezone

from ..adapter import get_adapter
from ..constants import MethodStatus
from ..models import OrganizationPolicy, TwoStepMethod
from .state import ALWAYS, required_as_staff

# get_requirement computes what it is not given.
_COMPUTE = object()


def _membership(user) -> Q:
    """Policies of the organizations ``user`` belongs to. ``user`` is a user, or for a
    batch an expression (``OuterRef``) when the adapter names its memberships."""
    adapter = get_adapter()
    memberships = adapter.get_memberships()
    if not memberships:
        return Q(organization__in=adapter.get_user_organizations(user))
    condition = Q(organization__in=memberships[0].organizations_of(user))
    for membership in memberships[1:]:
        condition |= Q(organization__in=membership.organizations_of(user))
    return condition


def policies_of(user):
    """The policies of the organizations ``user`` belongs to."""
    return OrganizationPolicy.objects.filter(_membership(user))


def _unmet_policies(user, method_user=None):
    """Required policies of the user's organizations that no active method of theirs
    satisfies. For a batch, ``user`` and ``method_user`` are expressions."""
    allowed_here = ExpressionWrapper(OuterRef("allowed_kinds"), output_field=CharField())
    # allowed_kinds is "" (any kind) or ",kind,kind,".
    satisfying = (
        TwoStepMethod.objects.filter(
            user=user.pk if method_user is None else method_user,
            status=MethodStatus.ACTIVE.value,
        )
        .annotate(
            allowed=allowed_here,
            position=StrIndex(allowed_here, Concat(Value(","), F("kind"), Value(","))),
        )
        .filter(Q(allowed="") | Q(position__gt=0))
    )
    return (
        OrganizationPolicy.objects.filter(_membership(user), required=True)
        .annotate(met=Exists(satisfying))
        .filter(met=False)
    )


def unmet_from(user) -> datetime | None:
    """From when a requirement of the user's organizations that their active methods do not
    meet applies (None: every requirement is met). Computed, not read from the row."""
    return (
        _unmet_policies(user)
        .order_by("enforced_from")
        .values_list("enforced_from", flat=True)
        .first()
    )


@dataclass(frozen=True)
class Requirement:
    """What the organizations of a user (and REQUIRED_FOR_STAFF) ask of them (for status,
    login and setup)."""

    required_by: list  # policies that require 2SV, with their organizations
    unmet_from: datetime | None  # when an unmet requirement applies (None: all met)
    allowed_kinds: frozenset | None  # kinds every policy of the user allows (None: any)
    as_staff: bool = False  # REQUIRED_FOR_STAFF applies to the user
    remember_device_days: int | None = None  # the lowest of the policies' (None: no limit)

    @property
    def required(self) -> bool:
        return bool(self.required_by) or self.as_staff

    def grace_period_ends_at(self, now=None):
        if self.unmet_from is not None and self.unmet_from > (now or timezone.now()):
            return self.unmet_from
        return None

    def allows(self, kind) -> bool:
        return self.allowed_kinds is None or kind in self.allowed_kinds


def get_requirement(user, *, policies=None, methods=None, unmet=_COMPUTE) -> Requirement:
    """The user's organizations' policies, combined strictest-first: one query, two when a
    policy requires 2SV. ``policies`` (the user's, each with its organization), ``methods``
    (all the user's) and ``unmet`` (``unmet_from``, as the profile's row holds it), when the
    caller has them up to date, save queries."""
    if policies is None:
        policies = policies_of(user).select_related("organization")
    policies = list(policies)
    allowed = None
    for policy in policies:
        if policy.allowed_kinds:
            kinds = frozenset(policy.allowed_methods)
            allowed = kinds if allowed is None else allowed & kinds
    if unmet is _COMPUTE:
        unmet = unmet_from(user) if any(p.required for p in policies) else None
    as_staff = required_as_staff(user)
    if as_staff and not _has_active_method(user, methods):
        unmet = ALWAYS
    days = [p.remember_device_days for p in policies if p.remember_device_days is not None]
    return Requirement(
        required_by=[p for p in policies if p.required],
        unmet_from=unmet,
        allowed_kinds=allowed,
        as_staff=as_staff,
        remember_device_days=min(days, default=None),
    )


def _has_active_method(user, methods=None) -> bool:
    if methods is not None:
        return any(m.status == MethodStatus.ACTIVE.value for m in methods)
    return TwoStepMethod.objects.filter(user=user.pk, status=MethodStatus.ACTIVE.value).exists()
