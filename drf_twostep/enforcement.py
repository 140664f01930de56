"""
What the authentication classes need to know about a user, in one query or one cache read.

``get_state(user)`` answers: is 2SV on, which credential passed the second step, and from
when (if ever) an organization's requirement that the user's active methods do not satisfy
applies. Services call ``invalidate(user)`` after changing methods or the profile, and
``invalidate_all()`` after changing a policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, router
from django.db.models import CharField, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, StrIndex
from django.db.models.query import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .adapter import get_adapter
from .constants import MethodStatus
from .models import OrganizationPolicy, TwoStepMethod, TwoStepProfile
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


def _unmet_policies(user, *, organizations=None, method_user=None):
    """Required policies of the user's organizations that no active method of theirs satisfies.
    ``organizations`` and ``method_user`` stand in for the adapter's queryset and the user's
    pk (the compiled state query passes placeholders)."""
    allowed_here = ExpressionWrapper(OuterRef("allowed_kinds"), output_field=CharField())
    # allowed_kinds is "" (any kind) or ",kind,kind,". The position of ",kind," is found with
    # StrIndex rather than a LIKE, whose escaping of the kind made PostgreSQL plan the state
    # query for longer than it ran.
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
    if organizations is None:
        organizations = get_adapter().get_user_organizations(user)
    return (
        OrganizationPolicy.objects.filter(required=True, organization__in=organizations)
        .annotate(met=Exists(satisfying))
        .filter(met=False)
    )


def _state_queryset(user, **placeholders):
    unmet_from = (
        _unmet_policies(user, **placeholders).order_by("enforced_from").values("enforced_from")
    )
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(unmet_from=Subquery(unmet_from[:1]))
        .values_list("two_step__enabled", "two_step__verified_credential", "unmet_from")
    )


# Compiling the state query through the ORM costs many times what running it does (its
# nested subqueries are resolved and compiled anew each time), on every request. So its SQL
# is compiled once per database alias, with a placeholder where the user's organizations go;
# per request only the adapter's queryset of organizations is compiled (it may depend on
# anything about the user) and put in its place.
_ORGANIZATIONS = "drf_twostep_organizations_placeholder"
_PLACEHOLDER = re.compile(r"%%|%s")
# alias -> (SQL before the organizations, SQL after them, the parameters before them, those
# after them but the user's pk), or None when the compiled SQL is not of that shape (then the
# ORM builds the query each time).
_compiled: dict[str, tuple[str, str, tuple, tuple] | None] = {}


def _count_placeholders(sql) -> int:
    return sum(1 for token in _PLACEHOLDER.findall(sql) if token == "%s")


def _prepared_pk(pk, connection):
    field = get_user_model()._meta.pk
    return field.get_db_prep_value(field.get_prep_value(pk), connection, prepared=True)


def _compile(user, alias):
    query = _state_queryset(
        user,
        organizations=RawSQL(_ORGANIZATIONS, ()),
        method_user=OuterRef(OuterRef("pk")),
    ).query
    sql, params = query.get_compiler(using=alias).as_sql()
    before, found, after = sql.partition(_ORGANIZATIONS)
    count = _count_placeholders(before)
    # The user's pk must be the last parameter (the outer WHERE), after the organizations.
    if (
        not found
        or _ORGANIZATIONS in after
        or count + _count_placeholders(after) != len(params)
        or count == len(params)
        or params[-1] != _prepared_pk(user.pk, connections[alias])
    ):
        return None
    return before, after, tuple(params[:count]), tuple(params[count:-1])


def _organizations_sql(adapter, user, alias):
    """The SQL and parameters of the user's organizations (what ``organization__in`` selects),
    or None when the adapter's queryset cannot be compiled on its own."""
    organizations = adapter.get_user_organizations(user)
    if (
        not isinstance(organizations, QuerySet)
        or organizations.db != alias
        or organizations.query.is_sliced
        or organizations.query.has_select_fields
    ):
        return None
    # What organization__in=<queryset> selects: the column the policy's foreign key targets.
    target = OrganizationPolicy._meta.get_field("organization").target_field.name
    try:
        return organizations.order_by().values(target).query.get_compiler(using=alias).as_sql()
    except (EmptyResultSet, FullResultSet):
        return None


# (alias, adapter class, organization model) -> SQL of the organizations of a user by pk
# (``get_organizations_of_user_pk``), whose one parameter is the pk; None when the adapter
# gives none or it is not of that shape.
_organizations_by_pk: dict[tuple, str | None] = {}


def _organizations_by_pk_sql(adapter, user, alias, pk):
    """Like ``_organizations_sql`` for an adapter that gives the organizations of a user by
    pk alone: compiled once per alias, adapter and model. None when it cannot be used."""
    key = (alias, type(adapter), twostep_settings.ORGANIZATION_MODEL)
    if key not in _organizations_by_pk:
        organizations = adapter.get_organizations_of_user_pk(user.pk)
        compiled = None
        if isinstance(organizations, QuerySet) and organizations.db == alias:
            try:
                compiled = organizations.query.get_compiler(using=alias).as_sql()
            except (EmptyResultSet, FullResultSet):
                pass
        _organizations_by_pk[key] = (
            compiled[0] if compiled is not None and tuple(compiled[1]) == (pk,) else None
        )
    sql = _organizations_by_pk[key]
    return None if sql is None else (sql, (pk,))


def _compiled_state_row(user):
    """The state row through the compiled SQL; ``False`` when it cannot be used."""
    alias = router.db_for_read(get_user_model())
    if alias not in _compiled:
        _compiled[alias] = _compile(user, alias)
    if _compiled[alias] is None:
        return False
    before, after, params_before, params_after = _compiled[alias]
    connection = connections[alias]
    pk = _prepared_pk(user.pk, connection)
    adapter = get_adapter()
    organizations = _organizations_by_pk_sql(adapter, user, alias, pk)
    if organizations is None:
        organizations = _organizations_sql(adapter, user, alias)
    if organizations is None:
        return False
    organizations_sql, organizations_params = organizations
    with connection.cursor() as cursor:
        cursor.execute(
            before + organizations_sql + after,
            (
                *params_before,
                *organizations_params,
                *params_after,
                pk,
            ),
        )
        row = cursor.fetchone()
    if row is None:
        return None
    enabled, marker, unmet = row
    return enabled, marker, _aware(unmet, connection)


def _aware(value, connection):
    """A datetime from a raw row as the ORM returns it (aware when USE_TZ)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and settings.USE_TZ and timezone.is_naive(value):
        value = timezone.make_aware(value, connection.timezone)
    return value


# -- the state with the credential's own query ---------------------------------------------


def state_annotation_key():
    """
    Whether ``state_annotations`` can be used, as a key for what it builds (None: it
    cannot). Not when an ``ENFORCEMENT_CACHE`` is set (the state comes from it), nor when
    the adapter cannot give the organizations of a user by pk alone
    (``get_organizations_of_user_pk``).
    """
    if twostep_settings.ENFORCEMENT_CACHE:
        return None
    key = (type(get_adapter()), twostep_settings.ORGANIZATION_MODEL)
    if key not in _annotatable:
        _annotatable[key] = get_adapter().get_organizations_of_user_pk(OuterRef("pk")) is not None
    return key if _annotatable[key] else None


# (adapter class, organization model) -> whether the adapter gives organizations by pk.
_annotatable: dict[tuple, bool] = {}


def state_annotations(user_field: str) -> dict:
    """
    Annotations that give each row of a queryset whose model has a foreign key
    ``user_field`` to the user (a token, say) that user's state, so that the credential and
    the state come in one query (when ``state_annotation_key`` allows).
    """
    # The policy subquery is one level down, and the two below it are one level further.
    user = OuterRef(OuterRef(user_field))
    organizations = get_adapter().get_organizations_of_user_pk(user)
    unmet_from = (
        _unmet_policies(None, organizations=organizations, method_user=user)
        .order_by("enforced_from")
        .values("enforced_from")
    )
    profile = TwoStepProfile.objects.filter(user=OuterRef(user_field))
    return {
        "_twostep_enabled": Subquery(profile.values("enabled")[:1]),
        "_twostep_marker": Subquery(profile.values("verified_credential")[:1]),
        "_twostep_unmet_from": Subquery(unmet_from[:1]),
    }


def attach_annotated_state(instance, user) -> EnforcementState:
    """The state from the values of ``state_annotations`` on ``instance``, kept on ``user``
    for ``get_state``."""
    state = EnforcementState(
        bool(instance._twostep_enabled),
        instance._twostep_marker or "",
        _aware(instance._twostep_unmet_from, connections[instance._state.db]),
    )
    user._twostep_state = state
    return state


def compute_state(user) -> EnforcementState:
    """The state from the database: one query."""
    row = _compiled_state_row(user)
    if row is False:
        row = _state_queryset(user).first()
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
