"""
The state the authentication classes read: from the profile loaded with the user, the cache, or
the database.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.utils import timezone

from ..models import TwoStepProfile
from ..settings import twostep_settings

logger = logging.getLogger("drf_twostep")

_STATE_KEY = "drf_twostep:state:%s"
_GENERATION_KEY = "drf_twostep:policy-generation"

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
