"""The login challenge between the two steps: finding it, the lockout, counting failures and
completing it."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import load_backend
from django.db import connection
from django.db.models import F

from ..constants import EventKind
from ..crypto import digest
from ..exceptions import (
    ChallengeExpired,
    CodeAlreadyUsed,
    InvalidChallenge,
    PasskeyCloneSuspected,
    TooManyAttempts,
)
from ..models import LoginChallenge
from ..settings import twostep_settings


def open_challenge(raw, now, *, lock=True, related=(), annotations=None) -> LoginChallenge:
    """The challenge behind ``raw``; raises if unknown, completed or expired. The user comes
    with it, and with the user their profile, the one-to-one ``related`` (an issuer's
    ``user_relations()``) and ``annotations`` (expressions over the challenge's row), in one
    statement."""
    if not isinstance(raw, str) or not raw:
        raise InvalidChallenge()
    # A challenge exists only for a user whose profile had 2SV on: an inner join.
    joined = ["user__two_step", *(f"user__{name}" for name in related)]
    queryset = LoginChallenge.objects.select_related(*joined)
    if lock:
        # The challenge, the user and the profile; not the outer-joined rows, which
        # PostgreSQL cannot lock (where FOR UPDATE OF is missing, nothing is outer-joined
        # that cannot be locked).
        of = ("self", "user", "user__two_step")
        queryset = queryset.select_for_update(
            of=of if related and connection.features.has_select_for_update_of else ()
        )
    if annotations:
        queryset = queryset.annotate(**annotations)
    challenge = queryset.filter(digest=digest(raw), user__two_step__isnull=False).first()
    if challenge is None or challenge.completed_at is not None:
        raise InvalidChallenge()
    if challenge.expires_at <= now:
        raise ChallengeExpired()
    if not _backend_still_accepts(challenge):
        raise InvalidChallenge()
    return challenge


def _backend_still_accepts(challenge) -> bool:
    """Whether the backend that accepted the password still lets the user in (not deactivated)."""
    try:
        backend = load_backend(challenge.backend)
    except ImportError:
        return False
    check = getattr(backend, "user_can_authenticate", None)
    return check is None or bool(check(challenge.user))


def check_not_locked(profile, challenge, now):
    wait = profile.lock_remaining(now)
    if wait:
        raise TooManyAttempts(wait)
    if challenge.failed_attempts >= twostep_settings.MAX_ATTEMPTS_PER_CHALLENGE:
        raise TooManyAttempts(1, detail=InvalidChallenge.default_detail)


def register_failure(profile, challenge, now) -> bool:
    """Count a wrong code on the challenge and the user; True if this failure locks the user."""
    challenge.failed_attempts += 1
    LoginChallenge.objects.filter(pk=challenge.pk).update(failed_attempts=F("failed_attempts") + 1)
    return count_failure(profile, now)


def count_failure(profile, now) -> bool:
    """Count a wrong code on the user (``profile``, locked), locking them out with backoff
    past ``LOCKOUT_THRESHOLD``; True if this failure locks the user."""
    profile.failed_attempts += 1
    over = profile.failed_attempts - twostep_settings.LOCKOUT_THRESHOLD
    locked = over >= 0
    if locked:
        seconds = min(
            twostep_settings.LOCKOUT_MAX_SECONDS,
            twostep_settings.LOCKOUT_BASE_SECONDS * 2 ** min(over, 30),
        )
        profile.locked_until = now + timedelta(seconds=seconds)
    profile.save(update_fields=["failed_attempts", "locked_until"])
    return locked


def complete(challenge, now) -> None:
    """Mark the challenge completed: one conditional UPDATE, so it completes once even where
    the row lock is not a lock (SQLite serializes writers instead)."""
    done = LoginChallenge.objects.filter(
        pk=challenge.pk,
        completed_at__isnull=True,
        failed_attempts__lt=twostep_settings.MAX_ATTEMPTS_PER_CHALLENGE,
    ).update(completed_at=now)
    if not done:
        raise InvalidChallenge()
    challenge.completed_at = now


def failure_event(exc) -> EventKind:
    """The event a refused second step or step-up records for ``exc``: a replayed code, a
    passkey whose sign count went back, else a failed verification."""
    if isinstance(exc, CodeAlreadyUsed):
        return EventKind.CODE_REPLAYED
    if isinstance(exc, PasskeyCloneSuspected):
        return EventKind.PASSKEY_CLONE_SUSPECTED
    return EventKind.VERIFICATION_FAILED
