"""Managing one's own 2SV: setting up, confirming, changing, removing methods."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from ..adapter import get_adapter
from ..constants import EventKind, MethodStatus
from ..enforcement import get_requirement, refresh, required_as_staff, unmet_from
from ..exceptions import (
    CodeAlreadyUsed,
    InvalidCode,
    InvalidPasskey,
    MethodNotAllowed,
    MethodNotPending,
    MethodRequiredByOrganization,
)
from ..issuers import get_issuer, mark_session_verified
from ..methods import get_method, get_method_class, recovery
from ..methods.passkey import PasskeyMethod
from ..models import RecoveryCode, TwoStepMethod
from ._common import (
    check_password,
    deliver,
    end_admin_sessions,
    profile_for_update,
    record_event,
    session_authenticated,
    state_changed,
    user_method,
)
from .devices import forget_all


def begin_setup(request, user, kind, password, name="", **data):
    """
    Step one: check the password and create a pending method of ``kind``, replacing an
    earlier pending one of the same kind. Returns ``(method, fields shown this once)``.
    """
    cls = get_method_class(kind)
    if cls is None or not get_requirement(user).allows(kind):
        raise MethodNotAllowed()
    check_password(request, user, password)
    with transaction.atomic():
        TwoStepMethod.objects.pending().filter(user=user, kind=kind).delete()
        method = TwoStepMethod(user=user, kind=kind, name=name)
        extra = cls.begin_setup(method, data)
        method.name = method.name or str(cls.verbose_name)
        method.save()
        extra = {**extra, **get_method(method).after_setup()}
        if cls.sends_code:
            # Inside the transaction: if the code cannot be sent, no pending method remains.
            extra = {**extra, "expires_in": deliver(request, get_method(method))}
    return method, extra


def confirm_method(request, user, method_id, code=None, *, credential=None) -> dict:
    """
    Step two: a valid code (for a passkey: its registration ``credential``) makes the method
    active. The first active method turns 2SV on: recovery codes are issued, the user's other
    credentials revoked and a fresh one issued.
    """
    with transaction.atomic():
        method = user_method(user, method_id, lock=True)
        if method.is_active:
            raise MethodNotPending()
        handler = get_method(method)
        if handler is None:
            raise MethodNotAllowed()
        try:
            if method.kind == PasskeyMethod.kind:
                handler.verify(_required(credential, InvalidPasskey))
            else:
                handler.verify(_required(code, InvalidCode))
        except (InvalidCode, CodeAlreadyUsed, InvalidPasskey) as exc:
            failure = exc
        else:
            failure = None
            result = _activate(request, user, method)
    if failure is not None:
        # Raised after the block commits, so a wrong code's count on a sent code is kept.
        raise failure
    return result


def _required(value, error):
    """``value``, which the method's kind asks for; ``error`` when it is missing."""
    if value is None:
        raise error()
    return value


def _activate(request, user, method) -> dict:
    """Make a confirmed pending method active; the first one turns 2SV on."""
    now = timezone.now()
    profile = profile_for_update(user)
    has_default = TwoStepMethod.objects.active().filter(user=user, is_default=True).exists()
    method.status = MethodStatus.ACTIVE.value
    method.confirmed_at = now
    method.is_default = not has_default
    method.save(update_fields=["status", "confirmed_at", "is_default"])
    record_event(user, EventKind.METHOD_ADDED, request, method)
    # A change of factors forgets the trusted devices (STANDARDS #49).
    forget_all(user)
    result = {"method": method, "token": None}
    turned_on = not profile.enabled
    if turned_on:
        profile.enabled = True
        profile.enabled_at = now
        profile.last_verified_at = now
        profile.failed_attempts = 0
        profile.locked_until = None
        issuer = get_issuer()
        issuer.revoke_all(user)
        result.update(issuer.issue(request, user, verified=True, profile=profile))
        profile.save()
        result["recovery_codes"] = recovery.regenerate(user)
        if session_authenticated(request):
            mark_session_verified(request)
        record_event(user, EventKind.TWO_STEP_ENABLED, request, method)
    refresh(user)
    if turned_on:
        result = get_adapter().build_credential_response(request, user, result)
    return result


def update_method(user, method_id, *, name=None, is_default=None) -> TwoStepMethod:
    """Rename a method and/or make an active method the default (exactly one is)."""
    with transaction.atomic():
        # The profile row lock serialises concurrent changes of the user's default.
        profile_for_update(user)
        method = user_method(user, method_id, lock=True)
        fields = []
        if name is not None:
            method.name = name
            fields.append("name")
        if is_default and not method.is_default:
            if not method.is_active:
                raise MethodNotPending(detail=_pending_default_detail())
            TwoStepMethod.objects.filter(user=user, is_default=True).update(is_default=False)
            method.is_default = True
            fields.append("is_default")
        if fields:
            method.save(update_fields=fields)
    return method


def _pending_default_detail():
    return gettext("Confirm this method before making it the default.")


def remove_method(request, user, method_id, password) -> None:
    """
    Delete a method (the password required). Deleting the last active one turns 2SV off and
    deletes the recovery codes, unless 2SV is required of the user; a removed default passes
    to the oldest active.
    """
    check_password(request, user, password)
    with transaction.atomic():
        _remove(request, user_method(user, method_id, lock=True))


def delete_method(request, method) -> None:
    """``remove_method`` for an administrator (the Django admin): no password, the same
    effects, events and notifications."""
    with transaction.atomic():
        _remove(request, user_method(method.user, method.pk, lock=True))


def _remove(request, method) -> None:
    user = method.user
    if not method.is_active:
        method.delete()
        return
    profile = profile_for_update(user)
    others = TwoStepMethod.objects.active().filter(user=user).exclude(pk=method.pk)
    remaining = list(others.order_by("created_at", "pk"))
    met_before = unmet_from(user) is None
    method_pk = method.pk
    method.delete()
    if (met_before and refresh(user) is not None) or (not remaining and required_as_staff(user)):
        # Raising rolls the deletion back.
        raise MethodRequiredByOrganization()
    method.pk = method_pk  # for the event record
    record_event(user, EventKind.METHOD_REMOVED, request, method)
    forget_all(user)
    if remaining and method.is_default:
        remaining[0].is_default = True
        remaining[0].save(update_fields=["is_default"])
    if not remaining:
        profile.enabled = False
        profile.enabled_at = None
        profile.verified_credential = ""
        profile.save(update_fields=["enabled", "enabled_at", "verified_credential"])
        RecoveryCode.objects.filter(user=user).delete()
        # 2SV off: the user's other credentials, which passed the second step, go too.
        issuer = get_issuer()
        issuer.revoke_all(user, keep=request)
        end_admin_sessions(user, issuer, keep=request)
        record_event(user, EventKind.TWO_STEP_DISABLED, request)
    state_changed(user)
