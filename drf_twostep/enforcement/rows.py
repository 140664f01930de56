"""
Writing the state onto the users' profiles: one user, a list of users in batches, an
organization's members, everyone.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import (
    OuterRef,
    Subquery,
)

from ..adapter import get_adapter
from ..models import OrganizationPolicy, TwoStepProfile
from .requirement import _unmet_policies, unmet_from
from .state import invalidate, invalidate_all

# Users refreshed per statement when a policy changes or everything is refreshed.
REFRESH_BATCH_SIZE = 1000
# Seconds between two warnings that ENFORCEMENT_CACHE fails (the state is then read from


def refresh(user) -> datetime | None:
    """
    Write on the profile of ``user`` from when a requirement they do not meet applies
    (creating the profile when one starts to). Call it after changing memberships in a way
    that sends no signal (``bulk_create``, ``update()``, raw SQL); the package calls it
    after every change of methods, memberships and policies. Returns the value written.
    """
    value = unmet_from(user)
    if not TwoStepProfile.objects.filter(user=user.pk).update(setup_required_from=value):
        if value is not None:
            try:
                with transaction.atomic():
                    TwoStepProfile.objects.create(user_id=user.pk, setup_required_from=value)
            except IntegrityError:  # created meanwhile by a concurrent flow
                TwoStepProfile.objects.filter(user=user.pk).update(setup_required_from=value)
    invalidate(user)
    transaction.on_commit(lambda: invalidate(user))
    return value


def _unmet_subquery(user_column: str):
    """``unmet_from`` of the user whose pk is the outer query's ``user_column``."""
    user = OuterRef(OuterRef(user_column))
    return Subquery(
        _unmet_policies(user, method_user=user)
        .order_by("enforced_from")
        .values("enforced_from")[:1]
    )


def refresh_users(pks) -> None:
    """``refresh`` for the users whose pks are listed, in statements of REFRESH_BATCH_SIZE
    users when the adapter names its memberships (else one user at a time)."""
    pks = list(pks)
    if not get_adapter().get_memberships():
        for user in get_user_model()._default_manager.filter(pk__in=pks):
            refresh(user)
        return
    for start in range(0, len(pks), REFRESH_BATCH_SIZE):
        batch = pks[start : start + REFRESH_BATCH_SIZE]
        missing = (
            get_user_model()
            ._default_manager.filter(pk__in=batch, two_step__isnull=True)
            .annotate(unmet=_unmet_subquery("pk"))
            .filter(unmet__isnull=False)
            .values_list("pk", "unmet")
        )
        TwoStepProfile.objects.bulk_create(
            [TwoStepProfile(user_id=pk, setup_required_from=unmet) for pk, unmet in missing],
            ignore_conflicts=True,
        )
        TwoStepProfile.objects.filter(user_id__in=batch).update(
            setup_required_from=_unmet_subquery("user_id")
        )
    _all_changed()


def refresh_members(organization) -> None:
    """``refresh`` for every member of ``organization``, a batch at a time."""
    members = (
        get_adapter()
        .get_organization_members(organization)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    last = None
    while True:
        batch = list(
            (members if last is None else members.filter(pk__gt=last))[:REFRESH_BATCH_SIZE]
        )
        if not batch:
            break
        refresh_users(batch)
        last = batch[-1]
    _all_changed()


def refresh_all() -> int:
    """``refresh`` for every user who has a requirement or had one (the safety net of
    ``twostep_refresh`` and ``twostep_cleanup``): members of organizations whose policy is
    required, and users whose profile records one. Returns the number of users refreshed."""
    adapter = get_adapter()
    required = OrganizationPolicy.objects.filter(required=True).select_related("organization")
    pks = set(
        TwoStepProfile.objects.filter(setup_required_from__isnull=False).values_list(
            "user_id", flat=True
        )
    )
    for policy in required.iterator():
        pks.update(
            adapter.get_organization_members(policy.organization).values_list("pk", flat=True)
        )
    refresh_users(sorted(pks))
    return len(pks)


def _all_changed() -> None:
    invalidate_all()
    transaction.on_commit(invalidate_all)
