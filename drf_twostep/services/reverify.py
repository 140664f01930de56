"""Step-up: a signed-in user passes a second step again (``two-step/reverify/``)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import EventKind
from ..enforcement import get_state
from ..exceptions import (
    CodeAlreadyUsed,
    InvalidCode,
    InvalidPasskey,
    InvalidRecoveryCode,
    MethodNotAllowed,
    NotFound,
    TooManyAttempts,
    TwoStepError,
    TwoStepNotEnabled,
)
from ..methods import get_method, recovery
from ..methods.passkey import KIND as PASSKEY
from ..models import TwoStepMethod
from ._challenges import count_failure, failure_event
from ._common import profile_for_update, record_event, record_events, state_changed
from .passkey_steps import reverify_options, reverify_step

# The profile's fields a passed second step changes.
VERIFIED_FIELDS = ["failed_attempts", "locked_until", "last_verified_at", "verified_credential"]


class CannotReverify(TwoStepError):
    default_detail = _("This credential cannot be re-verified. Sign in again.")


def _issuer_class(request):
    """The issuer of the request's credential, which re-verifies it; ``CannotReverify``
    for a credential that no issuer of the package made."""
    authenticator = getattr(request, "successful_authenticator", None)
    issuer_class = getattr(authenticator, "issuer_class", None)
    if issuer_class is None:
        raise CannotReverify()
    return issuer_class


def reverify_passkey_options(request) -> dict:
    """``two-step/reverify/options/``: request options for the caller's passkeys, with a
    challenge bound to the caller that works once and expires (``CHALLENGE_LIFETIME``), in
    place of their earlier one. ``TwoStepNotEnabled`` without 2SV, ``MethodNotAllowed``
    without an active passkey."""
    _issuer_class(request)
    user = request.user
    if not get_state(user).enabled:
        raise TwoStepNotEnabled()
    with transaction.atomic():
        return {"public_key": reverify_options(user)}


def reverify(request, code=None, method_id=None, recovery_code=None, credential=None) -> dict:
    """
    Mark the request's credential as verified now, after a code of one of the user's
    authenticator apps (``method_id``, default: their default one, else their first), a
    recovery code, or a passkey's assertion (``credential``, for the challenge of
    ``reverify_passkey_options``; ``method_id``, when given, must be that passkey). Wrong codes and
    assertions count toward the same lockout as the sign-in's. Returns ``verified_at`` and,
    when the issuer hands out a new credential for it (Simple JWT, knox), that credential's
    fields; a recovery code's replacement as ``recovery_codes``.
    """
    user = request.user
    issuer_class = _issuer_class(request)
    now = timezone.now()
    failure = None
    with transaction.atomic():
        profile = profile_for_update(user)
        if not profile.enabled:
            raise TwoStepNotEnabled()
        wait = profile.lock_remaining(now)
        if wait:
            raise TooManyAttempts(wait)
        method = replacement = None
        try:
            if recovery_code is not None:
                replacement = accept(user, None, None, recovery_code)
            elif credential is not None:
                method = reverify_step(user, credential, method_id)
            else:
                method = _code_method(user, method_id)
                accept(user, method, code, None)
        except (InvalidCode, CodeAlreadyUsed, InvalidRecoveryCode, InvalidPasskey) as exc:
            failure = exc
            method = method or getattr(exc, "method", None)
            locked = count_failure(profile, now)
        else:
            profile.failed_attempts = 0
            profile.locked_until = None
            fields = issuer_class().reverify(request, user, profile)
            profile.save(update_fields=VERIFIED_FIELDS)
            state_changed(user)
            if recovery_code is not None:
                record_event(user, EventKind.RECOVERY_CODE_USED, request)
            record_event(user, EventKind.REVERIFIED, request, method)
    if failure is not None:
        record_failure(request, user, failure, method, profile, locked)
        raise failure
    response = {"verified_at": profile.last_verified_at, **fields}
    if replacement is not None:
        response["recovery_codes"] = [replacement]
    return response


def accept(user, method, code, recovery_code):
    """Accept ``recovery_code`` (returns its replacement), else ``code`` of ``method`` (returns
    None). Raises ``InvalidCode``, ``CodeAlreadyUsed`` or ``InvalidRecoveryCode``."""
    if recovery_code is not None:
        replacement = recovery.consume(user, recovery_code)
        if replacement is None:
            raise InvalidRecoveryCode()
        return replacement
    get_method(method).verify(code)
    return None


def record_failure(request, user, failure, method, profile, locked) -> None:
    """The events of a refused step-up: the wrong or replayed code, and a lockout."""
    kinds = [failure_event(failure)]
    if locked:
        kinds.append(EventKind.LOCKED_OUT)
    record_events(user, kinds, request, method, until=profile.locked_until)


def _typed_code(method) -> bool:
    """Whether ``method`` takes a code the user types from their own device: not one sent by
    SMS or email (which belongs to a sign-in's challenge), nor a passkey's assertion."""
    handler = get_method(method)
    return handler is not None and not handler.sends_code and method.kind != PASSKEY


def _code_method(user, method_id) -> TwoStepMethod:
    """The active method whose code re-verifies: ``method_id``, else the default one or the
    first that takes a typed code."""
    methods = TwoStepMethod.objects.active().filter(user=user).select_for_update()
    if method_id is not None:
        method = methods.filter(pk=method_id).first()
        if method is None or get_method(method) is None:
            raise NotFound()
        candidates = [method]
    else:
        candidates = list(methods.order_by("-is_default", "created_at", "pk"))
    for method in candidates:
        if _typed_code(method):
            return method
    raise MethodNotAllowed(_("Re-verify with an authenticator app or a recovery code."))
