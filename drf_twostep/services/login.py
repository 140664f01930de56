"""Signing in: the password, the second step, codes sent for it, and signing out."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import authenticate, get_user_model, load_backend
from django.contrib.auth import logout as django_logout
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import Throttled

from ..adapter import get_adapter
from ..constants import CHALLENGE_BYTES, EventKind, LoginStatus
from ..crypto import digest
from ..enforcement import EnforcementState, must_set_up
from ..exceptions import (
    ChallengeExpired,
    CodeAlreadyUsed,
    DeliveryFailed,
    InvalidChallenge,
    InvalidCode,
    InvalidCredentials,
    InvalidPasskey,
    InvalidRecoveryCode,
    MethodDoesNotSend,
    NotFound,
    TooManyAttempts,
)
from ..issuers import AMR_PASSWORD, get_issuer
from ..methods import get_method, get_method_class, recovery
from ..models import LoginChallenge, TwoStepMethod, TwoStepProfile
from ..settings import twostep_settings
from ._common import (
    active_methods,
    deliver,
    login_completed,
    profile_for_update,
    record_event,
    session_authenticated,
    state_changed,
)
from .methods import status
from .passkey_steps import challenge_options, failure_event, key_amr, second_step


def login(request, username, password, *, issuer=None) -> dict:
    """
    Check the password. A user with 2SV on gets a challenge and no credential; a user
    without 2SV gets a credential from ``issuer`` (default: ``TOKEN_ISSUER``'s). Raises
    ``InvalidCredentials`` whether or not the user exists.
    """
    credentials = {get_user_model().USERNAME_FIELD: username, "password": password}
    user = authenticate(getattr(request, "_request", request), **credentials)
    if user is None:
        raise InvalidCredentials()
    profile = TwoStepProfile.objects.filter(user=user).first()
    if profile is not None and profile.enabled:
        return _start_challenge(user, request)
    issuer = issuer or get_issuer()
    credential = issuer.issue(request, user, verified=False, profile=profile)
    login_completed(request, user, issuer)
    # Inside a grace period the credential works everywhere: the status object's
    # grace_period_ends_at tells the client to suggest setting up, not to insist.
    setup = must_set_up(user, EnforcementState.of(profile))
    response = {
        "status": (LoginStatus.SETUP_REQUIRED if setup else LoginStatus.AUTHENTICATED).value,
        **credential,
        "two_step": status(user),
    }
    return get_adapter().build_credential_response(request, user, response)


def _start_challenge(user, request=None) -> dict:
    raw = secrets.token_urlsafe(CHALLENGE_BYTES)
    lifetime = twostep_settings.CHALLENGE_LIFETIME
    now = timezone.now()
    login_challenge = LoginChallenge.objects.create(
        digest=digest(raw),
        user=user,
        backend=getattr(user, "backend", "") or "",
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    methods = active_methods(user)
    default = next((m for m in methods if m.is_default), methods[0] if methods else None)
    if default is not None:
        _send_at_login_start(request, login_challenge, default)
    return {
        "status": LoginStatus.VERIFICATION_REQUIRED.value,
        "challenge": raw,
        "expires_in": lifetime,
        "methods": methods,
        "default_method": default.pk if default else None,
        **challenge_options(login_challenge, methods),
    }


def _send_at_login_start(request, login_challenge, method) -> None:
    """With an SMS or email default, send its code as the login starts. A failure here is
    not the login's: the client can ask again with ``login/send-code/`` and see it."""
    handler = get_method(method)
    if handler is None or not handler.sends_code:
        return
    try:
        deliver(request, handler, login_challenge)
    except (DeliveryFailed, Throttled):
        pass


def send_login_code(request, challenge, method_id) -> int:
    """``login/send-code/``: a fresh code for the challenge's user by the method
    ``method_id``; the previous code for this challenge stops working. Returns its lifetime."""
    now = timezone.now()
    with transaction.atomic():
        login_challenge = _open_challenge(challenge, now)
        profile = profile_for_update(login_challenge.user)
        _check_not_locked(profile, login_challenge, now)
        method = _login_method(login_challenge.user, method_id)
        handler = get_method(method)
        if not handler.sends_code:
            raise MethodDoesNotSend()
    return deliver(request, handler, login_challenge)


def _open_challenge(raw, now, *, lock=True) -> LoginChallenge:
    """The challenge behind ``raw``; raises if unknown, completed or expired."""
    if not isinstance(raw, str) or not raw:
        raise InvalidChallenge()
    queryset = LoginChallenge.objects.select_related("user")
    if lock:
        queryset = queryset.select_for_update()
    challenge = queryset.filter(digest=digest(raw)).first()
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


def _check_not_locked(profile, challenge, now):
    wait = profile.lock_remaining(now)
    if wait:
        raise TooManyAttempts(wait)
    if challenge.failed_attempts >= twostep_settings.MAX_ATTEMPTS_PER_CHALLENGE:
        raise TooManyAttempts(1, detail=InvalidChallenge.default_detail)


def _register_failure(profile, challenge, now) -> bool:
    """Count a wrong code on the challenge (None: a passkey alone) and the user; True if this
    failure locks the user."""
    if challenge is not None:
        challenge.failed_attempts += 1
        challenge.save(update_fields=["failed_attempts"])
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


def verify_login(
    request,
    challenge,
    code=None,
    method_id=None,
    recovery_code=None,
    *,
    credential=None,
    issuer=None,
) -> dict:
    """
    Complete a login with a code from a method, a passkey's assertion (``credential``), or a
    recovery code.

    Wrong codes count on the challenge and on the user (in the database, so a new login does
    not reset them) and lock the user out with backoff. Returns the authenticated response;
    a recovery code's replacement is included as ``recovery_codes``.
    """
    now = timezone.now()
    failure = None
    with transaction.atomic():
        login_challenge = _open_challenge(challenge, now)
        user = login_challenge.user
        profile = profile_for_update(user)
        _check_not_locked(profile, login_challenge, now)
        method = None
        replacement = None
        amr = {}
        try:
            if recovery_code is not None:
                replacement = recovery.consume(user, recovery_code)
                if replacement is None:
                    raise InvalidRecoveryCode()
            elif credential is not None:
                method = second_step(login_challenge, credential, method_id)
                amr = {"amr": [AMR_PASSWORD, key_amr(method)]}
            else:
                method = _login_method(user, method_id)
                get_method(method).verify(code, challenge=login_challenge)
        except (InvalidCode, CodeAlreadyUsed, InvalidRecoveryCode, InvalidPasskey) as exc:
            failure = exc
            method = method or getattr(exc, "method", None)
            locked = _register_failure(profile, login_challenge, now)
        else:
            login_challenge.completed_at = now
            login_challenge.save(update_fields=["completed_at"])
            profile.failed_attempts = 0
            profile.locked_until = None
            profile.last_verified_at = now
            user.backend = login_challenge.backend
            issuer = issuer or get_issuer()
            credential = issuer.issue(request, user, verified=True, profile=profile, **amr)
            profile.save(
                update_fields=[
                    "failed_attempts",
                    "locked_until",
                    "last_verified_at",
                    "verified_credential",
                ]
            )
            state_changed(user)
            if recovery_code is not None:
                record_event(user, EventKind.RECOVERY_CODE_USED, request)
            record_event(user, EventKind.VERIFICATION_SUCCEEDED, request, method)
            login_completed(request, user, issuer, login_challenge)
    if failure is not None:
        # Recorded outside the block above so that the counters are already committed.
        kind = (
            EventKind.CODE_REPLAYED
            if isinstance(failure, CodeAlreadyUsed)
            else failure_event(failure)
        )
        record_event(user, kind, request, method)
        if locked:
            record_event(user, EventKind.LOCKED_OUT, request, method, until=profile.locked_until)
        raise failure
    response = {
        "status": LoginStatus.AUTHENTICATED.value,
        **credential,
        "two_step": status(user),
    }
    if replacement is not None:
        response["recovery_codes"] = [replacement]
    return get_adapter().build_credential_response(request, user, response)


def _login_method(user, method_id) -> TwoStepMethod:
    methods = TwoStepMethod.objects.active().filter(user=user).select_for_update()
    if method_id is None:
        method = methods.filter(is_default=True).first() or methods.first()
    else:
        method = methods.filter(pk=method_id).first()
    if method is None or get_method_class(method.kind) is None:
        raise NotFound()
    return method


def logout(request) -> None:
    """Revoke the credential the request was made with: the session, or the issued credential."""
    if session_authenticated(request):
        django_logout(request._request)
    else:
        get_issuer().revoke(request)
