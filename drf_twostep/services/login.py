"""Signing in: the password, the second step, codes sent for it, and signing out."""

from __future__ import annotations

import secrets
from datetime import timedelta
from types import SimpleNamespace

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import logout as django_logout
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import Throttled

from ..adapter import get_adapter
from ..constants import CHALLENGE_BYTES, EventKind, LoginStatus
from ..crypto import digest
from ..enforcement import EnforcementState, must_set_up
from ..exceptions import (
    CodeAlreadyUsed,
    DeliveryFailed,
    InvalidCode,
    InvalidCredentials,
    InvalidPasskey,
    InvalidRecoveryCode,
    MethodDoesNotSend,
    NotFound,
)
from ..issuers import AMR_PASSWORD, get_issuer
from ..methods import get_method, get_method_class, recovery
from ..models import LoginChallenge, TwoStepMethod, TwoStepProfile
from ..settings import twostep_settings
from ._challenges import check_not_locked, complete, open_challenge, register_failure
from ._common import (
    active_methods,
    deliver,
    login_completed,
    record_events,
    session_authenticated,
    state_changed,
)
from .devices import recognise, remember, sign_in_on_device
from .methods import _LOAD, status, status_fields
from .passkey_steps import challenge_options, failure_event, key_amr, second_step


def login(request, username, password, *, device_token=None, issuer=None) -> dict:
    """
    Check the password. A user with 2SV on gets a challenge and no credential, unless
    ``device_token`` is one of their trusted devices; a user without 2SV gets a credential
    from ``issuer`` (default: ``TOKEN_ISSUER``'s). Raises ``InvalidCredentials`` whether or
    not the user exists.
    """
    credentials = {get_user_model().USERNAME_FIELD: username, "password": password}
    user = authenticate(getattr(request, "_request", request), **credentials)
    if user is None:
        raise InvalidCredentials()
    profile = TwoStepProfile.objects.filter(user=user).first()
    issuer = issuer or get_issuer()
    if profile is not None and profile.enabled:
        device = recognise(user, device_token, profile) if device_token else None
        credential = sign_in_on_device(request, user, device, issuer) if device else None
        if credential is None:
            return _start_challenge(user, request)
        return _authenticated(request, user, credential)
    with transaction.atomic():  # the credential and the sign-in's writes, or nothing
        credential = issuer.issue(request, user, verified=False, profile=profile)
        login_completed(request, user, issuer)
    # Inside a grace period the credential works everywhere: the status object's
    # grace_period_ends_at tells the client to suggest setting up, not to insist.
    setup = must_set_up(user, EnforcementState.of(profile))
    response = {
        "status": (LoginStatus.SETUP_REQUIRED if setup else LoginStatus.AUTHENTICATED).value,
        **credential,
        "two_step": status(user, profile=profile),
    }
    return get_adapter().build_credential_response(request, user, response)


def start_second_step(request, user) -> dict:
    """The ``verification_required`` answer for ``user``, whose password another front end
    checked (the Django admin's login form): a new challenge, as ``login()`` starts one."""
    return _start_challenge(user, request)


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
        login_challenge = open_challenge(challenge, now)
        user = login_challenge.user
        check_not_locked(user.two_step, login_challenge, now)
        method = _login_method(TwoStepMethod.objects.filter(user=user), method_id)
        handler = get_method(method)
        if not handler.sends_code:
            raise MethodDoesNotSend()
    return deliver(request, handler, login_challenge)


def verify_login(
    request,
    challenge,
    code=None,
    method_id=None,
    recovery_code=None,
    *,
    credential=None,
    remember_device=False,
    issuer=None,
) -> dict:
    """
    Complete a login with a code from a method, a passkey's assertion (``credential``), or a
    recovery code.

    Wrong codes count on the challenge and on the user (in the database, so a new login does
    not reset them) and lock the user out with backoff. Returns the authenticated response;
    a recovery code's replacement is included as ``recovery_codes``, and with
    ``remember_device`` the device token (``devices.remember``).
    """
    issuer = issuer or get_issuer()
    args = (request, challenge, code, method_id, recovery_code, credential, issuer, remember_device)
    try:
        done = _verify(*args)
    except IntegrityError:
        # The credential's INSERT lost a race with one made by another path for the user (as
        # get_or_create's would, without a savepoint on every sign-in): all of it was rolled
        # back, and the second time the credential is found.
        done = _verify(*args)
    if done.failure is not None:
        raise done.failure
    extra = {}
    if done.replacement is not None:
        # The codes changed since the challenge's row was read.
        done.known.status_codes, extra["recovery_codes"] = None, [done.replacement]
    return _authenticated(
        request,
        done.user,
        done.credential,
        profile=done.profile,
        methods=done.methods,
        known=done.known,
        **extra,
    )


def _authenticated(
    request, user, credential, *, profile=_LOAD, methods=None, known=None, **extra
) -> dict:
    """The answer of a completed sign-in: the credential and the user's status (from
    ``profile``, ``methods`` and ``known`` when the caller has them)."""
    two_step = status(user, profile=profile, methods=methods, known=known)
    response = {"status": LoginStatus.AUTHENTICATED.value, **credential, "two_step": two_step}
    return get_adapter().build_credential_response(request, user, {**response, **extra})


def _verify(
    request, challenge, code, method_id, recovery_code, credential, issuer, remember_device
) -> SimpleNamespace:
    """verify_login's transaction: check the code, then count the failure or complete."""
    now = timezone.now()
    done = SimpleNamespace(method=None, replacement=None, failure=None, known=None)
    amr = {}
    with transaction.atomic():
        # With what the answer's status object reads, so that it costs no query of its own.
        login_challenge = done.known = open_challenge(
            challenge, now, related=issuer.user_relations(), annotations=status_fields()
        )
        user = done.user = login_challenge.user
        profile = done.profile = user.two_step
        check_not_locked(profile, login_challenge, now)
        # All of the user's methods in one query: the one to check, and the status object's.
        done.methods = list(TwoStepMethod.objects.filter(user=user))
        try:
            if recovery_code is not None:
                done.replacement = recovery.consume(user, recovery_code)
                if done.replacement is None:
                    raise InvalidRecoveryCode()
            elif credential is not None:
                done.method = second_step(login_challenge, credential, method_id)
                amr = {"amr": [AMR_PASSWORD, key_amr(done.method)]}
            else:
                done.method = _login_method(done.methods, method_id)
                get_method(done.method).verify(code, challenge=login_challenge)
        except (InvalidCode, CodeAlreadyUsed, InvalidRecoveryCode, InvalidPasskey) as exc:
            # The counters and their events are committed together (raised after the block).
            done.failure = exc
            done.method = done.method or getattr(exc, "method", None)
            kinds = [
                EventKind.CODE_REPLAYED if isinstance(exc, CodeAlreadyUsed) else failure_event(exc)
            ]
            if register_failure(profile, login_challenge, now):
                kinds.append(EventKind.LOCKED_OUT)
            record_events(user, kinds, request, done.method, until=profile.locked_until)
            return done
        complete(login_challenge, now)
        profile.failed_attempts = 0
        profile.locked_until = None
        profile.last_verified_at = now
        user.backend = login_challenge.backend
        done.credential = issuer.issue(request, user, verified=True, profile=profile, **amr)
        fields = ["failed_attempts", "locked_until", "last_verified_at", "verified_credential"]
        profile.save(update_fields=fields)
        state_changed(user)
        kinds = [EventKind.VERIFICATION_SUCCEEDED]
        if recovery_code is not None:
            kinds.insert(0, EventKind.RECOVERY_CODE_USED)
        record_events(user, kinds, request, done.method)
        login_completed(request, user, issuer, login_challenge)
        if remember_device:
            done.credential.update(remember(request, user, now))
    return done


def _login_method(methods, method_id) -> TwoStepMethod:
    """The active method ``method_id`` of ``methods`` (the user's), else the default one."""
    active = [m for m in methods if m.is_active]
    if method_id is None:
        method = next((m for m in active if m.is_default), active[0] if active else None)
    else:
        method = next((m for m in active if str(m.pk) == str(method_id)), None)
    if method is None or get_method_class(method.kind) is None:
        raise NotFound()
    return method


def logout(request) -> None:
    """Revoke the credential the request was made with: the session, or the issued credential."""
    if session_authenticated(request):
        django_logout(request._request)
    else:
        get_issuer().revoke(request)
