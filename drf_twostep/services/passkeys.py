"""
A sign-in with a passkey alone (``login/passkey/options/``, ``login/passkey/``): a
discoverable credential with user verification is the password and the second step at once.
It meets the lockout, the issuers and the security log as a code at ``login/verify/`` does.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import load_backend
from django.db import transaction
from django.utils import timezone

from ..adapter import get_adapter
from ..constants import AMR_MULTIPLE_FACTORS, EventKind, LoginStatus
from ..exceptions import InvalidPasskey, TooManyAttempts
from ..issuers import get_issuer
from ..methods import passkey as ceremonies
from ._challenges import count_failure, failure_event
from ._common import login_completed, profile_for_update, record_event, state_changed
from .devices import remember
from .passkey_steps import key_amr, require
from .sign_ins import client_of, is_new, known_fields, record_sign_in
from .status import status

# -- a passkey alone ------------------------------------------------------------------------


def passwordless_options() -> dict:
    """``login/passkey/options/``: a ceremony challenge and its request options."""
    require()
    with transaction.atomic():
        return ceremonies.passwordless_options()


def _backend_for(user) -> str | None:
    """The first authentication backend that lets ``user`` in (none for a deactivated
    user), which the sign-in is recorded as."""
    for path in settings.AUTHENTICATION_BACKENDS:
        check = getattr(load_backend(path), "user_can_authenticate", None)
        if check is None or check(user):
            return path
    return None


def passwordless_login(
    request, challenge, credential, *, remember_device=False, issuer=None
) -> dict:
    """
    ``login/passkey/``: a discoverable credential with user verification signs its user in,
    the second step passed. An unknown credential, one without user verification and one of
    a user who may not sign in get one answer (``InvalidPasskey``); a known credential's
    failure counts toward its user's lockout, as a wrong code does. With
    ``remember_device``, the answer has the device token (``devices.remember``).
    """
    require()
    if not isinstance(challenge, str):
        raise InvalidPasskey()
    now = timezone.now()
    failure = None
    client = client_of(request)
    with transaction.atomic():
        try:
            method = ceremonies.verify_passwordless(challenge, credential)
        except InvalidPasskey as exc:
            if exc.method is None:
                raise
            failure, method = exc, exc.method
        user = method.user
        # Whether the client is new rides on the profile's query.
        profile = profile_for_update(user, annotations=known_fields(client, now))
        wait = profile.lock_remaining(now)
        if wait:
            # Raised inside the block: a good assertion's challenge is not used up.
            raise TooManyAttempts(wait)
        if failure is None:
            backend = _backend_for(user)
            if backend is None:
                raise InvalidPasskey()
            user.backend = backend
            profile.failed_attempts = 0
            profile.locked_until = None
            profile.last_verified_at = now
            issuer = issuer or get_issuer()
            credential = issuer.issue(
                request,
                user,
                verified=True,
                profile=profile,
                amr=[key_amr(method), AMR_MULTIPLE_FACTORS],
            )
            profile.save(
                update_fields=[
                    "failed_attempts",
                    "locked_until",
                    "last_verified_at",
                    "verified_credential",
                ]
            )
            state_changed(user)
            kinds = [EventKind.VERIFICATION_SUCCEEDED]
            record_sign_in(user, kinds, request, method, client=client, new=is_new(profile))
            login_completed(request, user, issuer)
            if remember_device:
                credential.update(remember(request, user, now))
        else:
            locked = count_failure(profile, now)
    if failure is not None:
        record_event(user, failure_event(failure), request, method)
        if locked:
            record_event(user, EventKind.LOCKED_OUT, request, method, until=profile.locked_until)
        raise InvalidPasskey()
    response = {"status": LoginStatus.AUTHENTICATED.value, **credential, "two_step": status(user)}
    return get_adapter().build_credential_response(request, user, response)
