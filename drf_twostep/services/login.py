"""Signing in: the password, the second step, and signing out."""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import logout as django_logout
from django.db import IntegrityError, transaction
from django.db.models import OuterRef
from django.utils import timezone

from ..adapter import get_adapter
from ..constants import EventKind, LoginStatus
from ..enforcement import EnforcementState, must_set_up
from ..exceptions import (
    CodeAlreadyUsed,
    InvalidCode,
    InvalidCredentials,
    InvalidPasskey,
    InvalidRecoveryCode,
)
from ..issuers import AMR_PASSWORD, get_issuer
from ..methods import get_method, recovery
from ..models import TwoStepMethod
from ._challenges import (
    check_not_locked,
    complete,
    failure_event,
    open_challenge,
    register_failure,
)
from ._common import login_completed, record_events, session_authenticated, state_changed
from .devices import recognise, remember, sign_in_on_device
from .passkey_steps import key_amr, second_step
from .second_step import login_method, start_challenge
from .sign_ins import client_of, is_new, known_fields, new_at_second_step, record_sign_in
from .status import LOAD, status, status_fields


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
    # The profile, and whether the user signed in from this client lately (for a sign-in
    # completed here), in one statement: the user's row with the profile outer-joined.
    client = client_of(request)
    known = (
        get_user_model()
        ._default_manager.filter(pk=user.pk)
        .select_related("two_step")
        .annotate(**known_fields(client, timezone.now(), OuterRef("pk")))
        .get()
    )
    profile = getattr(known, "two_step", None)
    issuer = issuer or get_issuer()
    if profile is not None and profile.enabled:
        device = recognise(user, device_token, profile) if device_token else None
        credential = (
            sign_in_on_device(request, user, device, issuer, client=client, known=known)
            if device
            else None
        )
        if credential is None:
            return start_challenge(user, request, client=client, new=is_new(known))
        return _authenticated(request, user, credential)
    with transaction.atomic():  # the credential and the sign-in's writes, or nothing
        credential = issuer.issue(request, user, verified=False, profile=profile)
        record_sign_in(user, [EventKind.SIGNED_IN], request, client=client, new=is_new(known))
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
    request, user, credential, *, profile=LOAD, methods=None, known=None, **extra
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
    client = client_of(request)
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
                done.method = login_method(done.methods, method_id)
                get_method(done.method).verify(code, challenge=login_challenge)
        except (InvalidCode, CodeAlreadyUsed, InvalidRecoveryCode, InvalidPasskey) as exc:
            # The counters and their events are committed together (raised after the block).
            done.failure = exc
            done.method = done.method or getattr(exc, "method", None)
            kinds = [failure_event(exc)]
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
        new = new_at_second_step(login_challenge, client, now)
        record_sign_in(user, kinds, request, done.method, client=client, new=new)
        login_completed(request, user, issuer, login_challenge)
        if remember_device:
            done.credential.update(remember(request, user, now))
    return done


def logout(request) -> None:
    """Revoke the credential the request was made with: the session, or the issued credential."""
    if session_authenticated(request):
        django_logout(request._request)
    else:
        get_issuer().revoke(request)
