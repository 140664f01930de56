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

    @property
    def required(self) -> bool:
        return bool(self.required_by) or self.as_staff

    def grace_period_ends_at(self, now=None):
        if self.unmet_from is not None and self.unmet_from > (now or timezone.now()):
            return self.unmet_from
        return None

    def allows(self, kind) -> bool:
        return self.allowed_kinds is None or kind in self.allowed_kinds


def get_requirement(user) -> Requirement:
    """The user's organizations' policies, combined strictest-first. Two queries."""
    policies = list(
        OrganizationPolicy.objects.filter(_membership(user)).select_related("organization")
    )
    allowed = None
    for policy in policies:
        if policy.allowed_kinds:
            kinds = frozenset(policy.allowed_methods)
            allowed = kinds if allowed is None else allowed & kinds
    unmet = unmet_from(user) if any(p.required for p in policies) else None
    as_staff = required_as_staff(user)
    if (
        as_staff
        and not TwoStepMethod.objects.filter(
            user=user.pk, status=MethodStatus.ACTIVE.value
        ).exists()
    ):
        unmet = ALWAYS
    return Requirement(
        required_by=[p for p in policies if p.required],
        unmet_from=unmet,
        allowed_kinds=allowed,
        as_staff=as_staff,
    )
