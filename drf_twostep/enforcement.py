"""
What the authentication classes need to know about a user, in one query or one cache read.

``get_state(user)`` answers: is 2SV on, which credential passed the second step, and from
when (if ever) an organization's requirement that the user's active methods do not satisfy
applies. Services call ``invalidate(user)`` after changing methods or the profile, and
``invalidate_all()`` after changing a policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db.models import CharField, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat
from django.utils import timezone

from .adapter import get_adapter
from .constants import MethodStatus
from .models import OrganizationPolicy, TwoStepMethod
from .settings import twostep_settings

_STATE_KEY = "drf_twostep:state:%s"
_GENERATION_KEY = "drf_twostep:policy-generation"


@dataclass(frozen=True)
class EnforcementState:
    enabled: bool
    verified_credential: str
    # When a requirement the user does not meet starts to apply (None: nothing unmet).
    unmet_from: datetime | None

    def setup_required(self, now=None) -> bool:
        return self.unmet_from is not None and self.unmet_from <= (now or timezone.now())


def _unmet_policies(user):
    """Required policies of the user's organizations that no active method of theirs satisfies."""
    allowed_here = ExpressionWrapper(OuterRef("allowed_kinds"), output_field=CharField())
    satisfying = (
        TwoStepMethod.objects.filter(user=user.pk, status=MethodStatus.ACTIVE.value)
        .annotate(allowed=allowed_here)
        .filter(Q(allowed="") | Q(allowed__contains=Concat(Value(","), F("kind"), Value(","))))
    )
    return (
        OrganizationPolicy.objects.filter(
            required=True, organization__in=get_adapter().get_user_organizations(user)
        )
        .annotate(met=Exists(satisfying))
        .filter(met=False)
    )


def compute_state(user) -> EnforcementState:
    """The state from the database: one query."""
    unmet_from = _unmet_policies(user).order_by("enforced_from").values("enforced_from")[:1]
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(unmet_from=Subquery(unmet_from))
        .values_list("two_step__enabled", "two_step__verified_credential", "unmet_from")
        .first()
    )
    if row is None:
        return EnforcementState(False, "", None)
    enabled, marker, unmet = row
    return EnforcementState(bool(enabled), marker or "", unmet)


def _cache():
    alias = twostep_settings.ENFORCEMENT_CACHE
    return caches[alias] if alias else None


def get_state(user) -> EnforcementState:
    """The state, from the shared cache when one is configured, else from the database."""
    cached = getattr(user, "_twostep_state", None)
    if cached is not None:
        return cached
    cache = _cache()
    if cache is None:
        state = compute_state(user)
    else:
        key = _STATE_KEY % user.pk
        found = cache.get_many([key, _GENERATION_KEY])
        generation = found.get(_GENERATION_KEY, 0)
        entry = found.get(key)
        if entry is not None and entry[0] == generation:
            state = entry[1]
        else:
            state = compute_state(user)
            cache.set(key, (generation, state), twostep_settings.ENFORCEMENT_CACHE_TIMEOUT)
    user._twostep_state = state
    return state


def invalidate(user) -> None:
    """Forget the cached state of ``user`` (their methods or profile changed)."""
    user.__dict__.pop("_twostep_state", None)
    cache = _cache()
    if cache is not None:
        cache.delete(_STATE_KEY % user.pk)


def invalidate_all() -> None:
    """Forget every cached state (a policy changed): bump the generation they carry."""
    cache = _cache()
    if cache is None:
        return
    cache.add(_GENERATION_KEY, 0, None)
    cache.incr(_GENERATION_KEY)


# When the staff requirement (REQUIRED_FOR_STAFF) applies from: always.
ALWAYS = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)


def required_as_staff(user) -> bool:
    """Whether ``REQUIRED_FOR_STAFF`` asks 2SV of ``user``. Read from the user row that the
    authentication class loaded, so it costs no query and is never stale."""
    return bool(
        twostep_settings.REQUIRED_FOR_STAFF
        and (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))
    )


def must_set_up(user, state: EnforcementState, now=None) -> bool:
    """Whether ``user`` may reach only the setup endpoints now."""
    return state.setup_required(now) or (not state.enabled and required_as_staff(user))


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
        OrganizationPolicy.objects.filter(
            organization__in=get_adapter().get_user_organizations(user)
        ).select_related("organization")
    )
    allowed = None
    for policy in policies:
        if policy.allowed_kinds:
            kinds = frozenset(policy.allowed_methods)
            allowed = kinds if allowed is None else allowed & kinds
    unmet = _unmet_policies(user).order_by("enforced_from").values_list("enforced_from", flat=True)
    unmet_from = unmet.first() if any(p.required for p in policies) else None
    as_staff = required_as_staff(user)
    if (
        as_staff
        and not TwoStepMethod.objects.filter(
            user=user.pk, status=MethodStatus.ACTIVE.value
        ).exists()
    ):
        unmet_from = ALWAYS
    return Requirement(
        required_by=[p for p in policies if p.required],
        unmet_from=unmet_from,
        allowed_kinds=allowed,
        as_staff=as_staff,
    )
