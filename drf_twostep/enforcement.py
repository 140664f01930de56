"""
The enforcement state: what the authentication classes check on every request.

A user's state is three columns of their ``TwoStepProfile``: ``enabled``, the marker of the
credential that passed the second step, and ``setup_required_from``, from when an
organization's requirement that their active methods do not meet applies. The flows keep it
current: ``refresh(user)`` after the user's methods or memberships change,
``refresh_members(organization)`` after a policy changes, ``refresh_all()`` as the safety net
of ``twostep_refresh``. Memberships saved, deleted, added or removed with the ORM are seen by
receivers on the models the adapter names (``get_memberships``), and policies by receivers on
``OrganizationPolicy``. The authentication classes read the row with the credential
(``select_related``), else from ``ENFORCEMENT_CACHE``, else by primary key.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.signals import setting_changed
from django.db import IntegrityError, transaction
from django.db.models import (
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    Model,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Concat, StrIndex
from django.db.models.query import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from .adapter import get_adapter
from .constants import MethodStatus
from .models import OrganizationPolicy, TwoStepMethod, TwoStepProfile
from .settings import SETTINGS_NAME, twostep_settings

logger = logging.getLogger("drf_twostep")

_STATE_KEY = "drf_twostep:state:%s"
_GENERATION_KEY = "drf_twostep:policy-generation"
# Users refreshed per statement when a policy changes or everything is refreshed.
REFRESH_BATCH_SIZE = 1000
# Seconds between two warnings that ENFORCEMENT_CACHE fails (the state is then read from
# the database).
CACHE_WARNING_INTERVAL = 60


@dataclass(frozen=True)
class EnforcementState:
    enabled: bool
    verified_credential: str
    # From when a requirement the user does not meet applies (None: nothing unmet).
    setup_required_from: datetime | None
    # When the user last passed a second step (the sign-in or a re-verification).
    last_verified_at: datetime | None = None

    @classmethod
    def of(cls, profile: TwoStepProfile | None) -> EnforcementState:
        if profile is None:
            return NO_PROFILE
        return cls(
            profile.enabled,
            profile.verified_credential,
            profile.setup_required_from,
            profile.last_verified_at,
        )

    def setup_required(self, now=None) -> bool:
        return self.setup_required_from is not None and self.setup_required_from <= (
            now or timezone.now()
        )


NO_PROFILE = EnforcementState(False, "", None)


# -- read ---------------------------------------------------------------------------------


def _profile_relation():
    return get_user_model()._meta.get_field("two_step")


def get_state(user) -> EnforcementState:
    """
    The state of ``user``: from the profile loaded with it (``select_related("two_step")``,
    no query), else from ``ENFORCEMENT_CACHE``, else from the database (one query). A
    failing cache is skipped: the state then comes from the database.
    """
    state = user.__dict__.get("_twostep_state")
    if state is not None:
        return state
    relation = _profile_relation()
    if relation.is_cached(user):
        state = EnforcementState.of(relation.get_cached_value(user))
    else:
        state = _cached_state(user)
    user.__dict__["_twostep_state"] = state
    return state


def _load(user) -> EnforcementState:
    return EnforcementState.of(TwoStepProfile.objects.filter(user=user.pk).first())


def _cache():
    alias = twostep_settings.ENFORCEMENT_CACHE
    return caches[alias] if alias else None


def _cached_state(user) -> EnforcementState:
    cache = _cache()
    if cache is None:
        return _load(user)
    key = _STATE_KEY % user.pk
    try:
        found = cache.get_many([key, _GENERATION_KEY])
    except Exception as exc:  # noqa: BLE001 - any cache failure: the database decides
        _cache_failed(exc)
        return _load(user)
    generation = found.get(_GENERATION_KEY, 0)
    entry = found.get(key)
    if entry is not None and entry[0] == generation:
        return entry[1]
    state = _load(user)
    try:
        cache.set(key, (generation, state), twostep_settings.ENFORCEMENT_CACHE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001
        _cache_failed(exc)
    return state


_last_cache_warning = 0.0


def _cache_failed(exc) -> None:
    """Log a failing ENFORCEMENT_CACHE, at most once per CACHE_WARNING_INTERVAL."""
    global _last_cache_warning
    now = time.monotonic()
    if now - _last_cache_warning >= CACHE_WARNING_INTERVAL:
        _last_cache_warning = now
        logger.warning(
            "drf_twostep: ENFORCEMENT_CACHE failed (%s: %s); reading the state from the "
            "database until it answers again",
            exc.__class__.__name__,
            exc,
        )


def invalidate(user) -> None:
    """Forget what is known of the state of ``user`` beyond their profile row: what the
    request holds and the cached copy."""
    user.__dict__.pop("_twostep_state", None)
    relation = _profile_relation()
    if relation.is_cached(user):
        relation.delete_cached_value(user)
    cache = _cache()
    if cache is not None:
        try:
            cache.delete(_STATE_KEY % user.pk)
        except Exception as exc:  # noqa: BLE001
            _cache_failed(exc)


def invalidate_all() -> None:
    """Forget every cached state: bump the generation they carry."""
    cache = _cache()
    if cache is None:
        return
    try:
        cache.add(_GENERATION_KEY, 0, None)
        cache.incr(_GENERATION_KEY)
    except Exception as exc:  # noqa: BLE001
        _cache_failed(exc)


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


# -- the requirement ----------------------------------------------------------------------


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


# -- write --------------------------------------------------------------------------------


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


# -- receivers ----------------------------------------------------------------------------
# Memberships and policies changed with the ORM, wherever it happens (the admin, the
# project's code, fixtures), refresh the rows of the users they concern.


def _user_pk(instance, membership) -> object:
    return getattr(instance, membership.user_attname(), None)


def _membership_of(sender):
    for membership in get_adapter().get_memberships():
        if membership.get_model() is sender:
            return membership
    return None


def _membership_saving(sender, instance, raw=False, **kwargs):
    """Remember the user a membership belonged to before this save (it may move)."""
    membership = _membership_of(sender)
    if membership is None or raw or instance.pk is None:
        return
    instance._twostep_previous_user = (
        sender._default_manager.filter(pk=instance.pk)
        .values_list(membership.user_attname(), flat=True)
        .first()
    )


def _membership_saved(sender, instance, raw=False, **kwargs):
    membership = _membership_of(sender)
    if membership is None or raw:
        return
    pks = {_user_pk(instance, membership), instance.__dict__.pop("_twostep_previous_user", None)}
    refresh_users(pk for pk in pks if pk is not None)


def _membership_deleted(sender, instance, origin=None, **kwargs):
    membership = _membership_of(sender)
    if membership is None or _user_pk(instance, membership) is None or _deleting_users(origin):
        return
    refresh_users([_user_pk(instance, membership)])


def _deleting_users(origin) -> bool:
    """Whether the delete that cascaded here deletes users (whose rows need no refresh)."""
    model = origin.model if isinstance(origin, QuerySet) else type(origin)
    return issubclass(model, get_user_model())


def _memberships_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """``add()``, ``remove()`` and ``clear()`` on a many-to-many relation through a
    membership model (``user.groups``, ``group.user_set``)."""
    membership = _membership_of(sender)
    if membership is None:
        return
    if isinstance(instance, get_user_model()):
        if action in ("post_add", "post_remove", "post_clear"):
            refresh_users([instance.pk])
    elif action == "pre_clear":
        # Which users leave the organization is known only before the clear.
        instance._twostep_cleared = list(
            membership.members_of(instance).values_list(membership.user, flat=True)
        )
    elif action == "post_clear":
        refresh_users(instance.__dict__.pop("_twostep_cleared", []))
    elif action in ("post_add", "post_remove"):
        refresh_users(pk_set or ())


def _policy_deleting(sender, instance, **kwargs):
    instance._twostep_members = list(
        get_adapter().get_organization_members(instance.organization).values_list("pk", flat=True)
    )


def _policy_deleted(sender, instance, **kwargs):
    refresh_users(instance.__dict__.pop("_twostep_members", []))


def _policy_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        refresh_members(instance.organization)


_RECEIVERS = (
    (pre_save, _membership_saving),
    (post_save, _membership_saved),
    (post_delete, _membership_deleted),
    (m2m_changed, _memberships_changed),
)
# The membership models the receivers are connected to.
_watched: list[type[Model]] = []


def watch() -> None:
    """Connect the receivers to the policy model and to the adapter's membership models (at
    start-up, and again when ``DRF_TWOSTEP`` changes)."""
    while _watched:
        model = _watched.pop()
        for signal, receiver in _RECEIVERS:
            signal.disconnect(receiver, sender=model)
    try:
        memberships = get_adapter().get_memberships()
    except Exception:  # noqa: BLE001 - a broken adapter is reported by the system checks
        memberships = []
    for membership in memberships:
        model = membership.get_model()
        for signal, receiver in _RECEIVERS:
            # Django sends no save or delete signals for the table of a many-to-many field
            # (user.groups): only m2m_changed.
            if signal is m2m_changed or not model._meta.auto_created:
                signal.connect(receiver, sender=model)
        _watched.append(model)
    post_save.connect(_policy_saved, sender=OrganizationPolicy)
    pre_delete.connect(_policy_deleting, sender=OrganizationPolicy)
    post_delete.connect(_policy_deleted, sender=OrganizationPolicy)


def _settings_changed(*, setting, **kwargs):
    if setting == SETTINGS_NAME:
        watch()


setting_changed.connect(_settings_changed)
