"""Managing one's own 2SV: the status object; setting up, confirming, changing, removing methods."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from ..adapter import get_adapter
from ..constants import EventKind, MethodStatus
from ..enforcement import get_requirement, policies_of, refresh, required_as_staff, unmet_from
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
from ..models import RecoveryCode, TwoStepMethod, TwoStepProfile
from ..settings import twostep_settings
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
from .devices import allowed_days, forget_all

# status() loads what it is not given.
_LOAD = object()


def status(user, *, profile=_LOAD, methods=None, known=None) -> dict:
    """The status object of API.md for ``user``; ``profile`` (None: the user has none),
    ``methods`` (all the user's) and ``known`` (a row annotated with ``status_fields()``; its
    ``status_codes`` None where the codes changed since), when the caller has them up to date,
    save queries."""
    if profile is _LOAD:
        profile = TwoStepProfile.objects.filter(user=user).first()
    if methods is None:
        methods = TwoStepMethod.objects.filter(user=user)
    enabled = bool(profile and profile.enabled)
    methods = [m for m in methods if not m.pending_expired()]
    default = next((m.pk for m in methods if m.is_default and m.is_active), None)
    if known is not None and known.status_codes is not None:
        remaining, created_at = known.status_codes, known.status_codes_since
    else:
        codes = list(RecoveryCode.objects.filter(user=user).values_list("created_at", flat=True))
        remaining, created_at = len(codes), min(codes, default=None)
    given = {}
    if known is not None:
        # A user in no organization with a policy: nothing to load. The profile read with
        # ``known`` holds when an unmet requirement applies.
        if getattr(known, "status_policies", True) is False:
            given["policies"] = []
        if profile is not None:
            given["unmet"] = profile.setup_required_from
    adapter = get_adapter()
    requirement = get_requirement(user, methods=methods, **given)
    return {
        "enabled": enabled,
        "required": requirement.required,
        "required_by": [
            {"id": str(p.organization_id), "name": adapter.get_organization_name(p.organization)}
            for p in requirement.required_by
        ],
        "grace_period_ends_at": requirement.grace_period_ends_at(),
        "default_method": default,
        "methods": methods,
        "recovery_codes": {
            "remaining": remaining,
            "total": twostep_settings.RECOVERY_CODE_COUNT if enabled else 0,
            "created_at": created_at,
        },
        "remember_device_days": allowed_days(user, requirement),
        "server_time": timezone.now(),
    }


def status_fields() -> dict:
    """Annotations for a query of rows with a ``user`` column, bringing in the same statement
    what ``status()`` reads besides the profile and the methods: the recovery codes' count and
    age, and (where the adapter names its memberships) whether any organization of the user has
    a policy."""
    codes = RecoveryCode.objects.filter(user=OuterRef("user")).order_by().values("user")
    fields = {
        "status_codes": Coalesce(Subquery(codes.annotate(n=Count("pk")).values("n")), 0),
        "status_codes_since": Subquery(codes.annotate(first=Min("created_at")).values("first")),
    }
    if get_adapter().get_memberships():
        # The memberships' subquery is one level further in: the user of the outer row.
        fields["status_policies"] = Exists(policies_of(OuterRef(OuterRef("user"))))
    return fields


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
