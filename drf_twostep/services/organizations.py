"""Organizations: their policies and members, and resetting a user who lost their device."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Value
from django.db.models.functions import Coalesce

from ..adapter import get_adapter, parse_pk
from ..constants import EventKind
from ..enforcement import get_state, refresh
from ..exceptions import NotFound, TwoStepSetupRequired
from ..issuers import get_issuer
from ..methods import enabled_kinds
from ..models import OrganizationPolicy, RecoveryCode, TwoStepMethod
from ._common import end_admin_sessions, profile_for_update, record_event
from .devices import forget_all


def reset_two_step(user, request=None, by=None) -> None:
    """
    For a user who lost their device: remove their methods and recovery codes, turn 2SV off,
    revoke their credentials, record ``reset_by_admin`` (and ``member_reset`` on ``by``, the
    admin who did it) and notify them.
    """
    with transaction.atomic():
        profile = profile_for_update(user)
        TwoStepMethod.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        forget_all(user)
        profile.enabled = False
        profile.enabled_at = None
        profile.verified_credential = ""
        profile.failed_attempts = 0
        profile.locked_until = None
        profile.save()
        issuer = get_issuer()
        issuer.revoke_all(user)
        end_admin_sessions(user, issuer)
        refresh(user)
        record_event(user, EventKind.RESET_BY_ADMIN, request)
        if by is not None:
            record_event(by, EventKind.MEMBER_RESET, request)


def admin_organization(user, organization_id, *, change=False):
    """
    The organization ``organization_id`` if ``user`` administers it, else ``NotFound`` (so ids
    cannot be probed). ``change``: the admin must have 2SV on (``TwoStepSetupRequired``).
    """
    adapter = get_adapter()
    organization = adapter.get_organization(organization_id)
    if organization is None or not adapter.is_organization_admin(user, organization):
        raise NotFound()
    if change and not get_state(user).enabled:
        raise TwoStepSetupRequired()
    return organization


def get_policy(organization) -> OrganizationPolicy:
    """The organization's policy; an unsaved default one if it has none yet."""
    policy = OrganizationPolicy.objects.filter(organization=organization).first()
    return policy or OrganizationPolicy(organization=organization)


def update_policy(request, admin, organization, **changes) -> OrganizationPolicy:
    """Change a policy (``required``, ``grace_period_days``, ``allowed_methods``,
    ``remember_device_days``)."""
    with transaction.atomic():
        policy, _ = OrganizationPolicy.objects.select_for_update().get_or_create(
            organization=organization
        )
        for field, value in changes.items():
            setattr(policy, field, value)
        # Saving refreshes the members' enforcement state (enforcement.watch).
        policy.save()
        record_event(admin, EventKind.POLICY_CHANGED, request)
    return policy


def delete_policy(request, admin, policy) -> None:
    """Delete a policy (the Django admin): its members no longer need 2SV for it."""
    with transaction.atomic():
        # Deleting refreshes the members' enforcement state (enforcement.watch).
        policy.delete()
        record_event(admin, EventKind.POLICY_CHANGED, request)


def policy_body(organization, policy) -> dict:
    """The policy object of the HTTP contract. No allowed kinds means every enabled kind."""
    return {
        "organization": {
            "id": str(organization.pk),
            "name": get_adapter().get_organization_name(organization),
        },
        "required": policy.required,
        "grace_period_days": policy.grace_period_days,
        "required_since": policy.required_since,
        "allowed_methods": policy.allowed_methods or enabled_kinds(),
        "remember_device_days": policy.remember_device_days,
    }


def organization_members(organization, policy):
    """The members of ``organization`` for the members list, with ``compliant`` (has an
    active method the policy allows) to filter on, ``two_step_enabled`` and
    ``last_verified_at``; active methods prefetched as ``active_two_step_methods``. Set
    ``compliant`` on the rows shown with ``mark_compliance``."""
    satisfying = TwoStepMethod.objects.active().filter(user=OuterRef("pk"))
    if policy.allowed_kinds:
        satisfying = satisfying.filter(kind__in=policy.allowed_methods)
    return (
        get_adapter()
        .get_organization_members(organization)
        # An alias, not an annotation: selected for every member, PostgreSQL hashes the active
        # methods of everyone instead of looking up the page's.
        .alias(compliant=Exists(satisfying))
        .annotate(
            two_step_enabled=Coalesce(F("two_step__enabled"), Value(False)),
            last_verified_at=F("two_step__last_verified_at"),
        )
        .prefetch_related(
            Prefetch(
                "two_step_methods",
                queryset=TwoStepMethod.objects.active(),
                to_attr="active_two_step_methods",
            )
        )
        .order_by("pk")
    )


def mark_compliance(members, policy):
    """Set ``compliant`` on ``members`` (from ``organization_members``) from their prefetched
    active methods, as the filter decides it; returns them."""
    allowed = set(policy.allowed_methods)
    for member in members:
        member.compliant = any(
            not allowed or method.kind in allowed for method in member.active_two_step_methods
        )
    return members


def reset_member(request, admin, organization, user_id) -> None:
    """Reset the 2SV of a member of ``organization`` (``NotFound`` for anyone else)."""
    members = get_adapter().get_organization_members(organization)
    pk = parse_pk(members.model, user_id)
    member = None if pk is None else members.filter(pk=pk).first()
    if member is None:
        raise NotFound()
    reset_two_step(member, request, by=admin)
