"""What the flows share: security events, re-authentication, the profile lock, sending codes."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth import authenticate, get_user_model, user_logged_in
from django.db import transaction
from rest_framework.authentication import SessionAuthentication

from .. import signals
from ..adapter import get_adapter
from ..constants import EventKind
from ..enforcement import invalidate
from ..exceptions import DeliveryFailed, NotFound, PasswordIncorrect
from ..models import SecurityEvent, TwoStepMethod, TwoStepProfile
from ..throttling import check_delivery_rate

NOTIFIED = {
    EventKind.METHOD_ADDED,
    EventKind.METHOD_REMOVED,
    EventKind.RECOVERY_CODE_USED,
    EventKind.RECOVERY_CODES_REGENERATED,
    EventKind.TWO_STEP_DISABLED,
    EventKind.RESET_BY_ADMIN,
    EventKind.LOCKED_OUT,
    EventKind.NEW_DEVICE_SIGN_IN,
}


# -- events -------------------------------------------------------------------------------


def record_event(user, kind: EventKind, request=None, method=None, **context):
    """
    Store a ``SecurityEvent``, send the ``security_event`` signal and, for the kinds users
    are told about, the notification email (after the transaction commits).
    """
    return record_events(user, [kind], request, method, **context)[0]


def record_events(user, kinds, request=None, method=None, *, client_key="", **context):
    """``record_event`` for each of ``kinds`` (same request and method), stored in one
    INSERT, with ``client_key`` for a completed sign-in's (``sign_ins.record_sign_in``);
    ``context`` goes to the notification emails. Returns the events in order."""
    adapter = get_adapter()
    ip = adapter.get_client_ip(request)
    user_agent = adapter.get_user_agent(request)
    events = [
        SecurityEvent(
            user=user,
            kind=kind.value,
            method_id=getattr(method, "pk", None),
            method_kind=getattr(method, "kind", ""),
            ip=ip,
            user_agent=user_agent,
            client_key=client_key,
        )
        for kind in kinds
    ]
    if len(events) == 1:
        events[0].save()  # outside a transaction bulk_create would add BEGIN and COMMIT
    else:
        events = SecurityEvent.objects.bulk_create(events)
    for kind, event in zip(kinds, events, strict=True):
        signals.security_event.send(
            sender=SecurityEvent, user=user, kind=kind.value, event=event, request=request
        )
        if kind in NOTIFIED:
            _notify_on_commit(adapter, user, kind, event, method, context)
    return events


def _notify_on_commit(adapter, user, kind, event, method, context):
    mail_context = {
        "when": event.created_at,
        "ip": event.ip or "-",
        "user_agent": event.user_agent or "-",
        "method_name": getattr(method, "name", ""),
        **context,
    }
    transaction.on_commit(lambda: adapter.send_notification(user, kind.value, mail_context))


def check_password(request, user, password):
    """Re-authentication: the user's own password, through the authentication backends."""
    credentials = {get_user_model().USERNAME_FIELD: user.get_username(), "password": password}
    checked = authenticate(getattr(request, "_request", request), **credentials)
    if checked is None or checked.pk != user.pk:
        raise PasswordIncorrect()


def profile_for_update(user, annotations=None) -> TwoStepProfile:
    """The user's profile, locked (the lock that orders a user's 2SV changes): one query
    when the profile exists, as it does once the user has started any 2SV step; with
    ``annotations`` (expressions over the profile's row) in the same statement."""
    locked = TwoStepProfile.objects.select_for_update().annotate(**(annotations or {}))
    try:
        return locked.get(user=user)
    except TwoStepProfile.DoesNotExist:
        TwoStepProfile.objects.get_or_create(user=user)
        return locked.get(user=user)


def user_method(user, method_id, *, lock=False) -> TwoStepMethod:
    queryset = TwoStepMethod.objects.filter(user=user)
    if lock:
        queryset = queryset.select_for_update()
    try:
        method_id = int(method_id)
        if not 0 < method_id < 2**63:
            raise ValueError(method_id)
        method = queryset.get(pk=method_id)
    except (TwoStepMethod.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    if method.pending_expired():
        raise NotFound()
    return method


def state_changed(user):
    """Forget the user's cached enforcement state now and again once the change commits
    (so no other process can cache the state from before it)."""
    invalidate(user)
    transaction.on_commit(lambda: invalidate(user))


def active_methods(user):
    return list(TwoStepMethod.objects.active().filter(user=user))


def login_completed(request, user, issuer, challenge=None):
    """Send Django's ``user_logged_in`` for a completed sign-in, unless ``issuer`` did."""
    if challenge is not None:
        user.backend = challenge.backend
    if issuer.sends_user_logged_in:
        return
    user_logged_in.send(
        sender=user.__class__, request=getattr(request, "_request", request), user=user
    )


def deliver(request, handler, login_challenge=None) -> int:
    """Send a code for ``login_challenge`` (None: the pending setup), rate limited per user
    and per destination. All or nothing: a failed delivery leaves no new code behind and is
    recorded as a security event."""
    method = handler.instance
    check_delivery_rate(method.user, method.destination)
    try:
        with transaction.atomic():
            lifetime = handler.send_code(login_challenge)
            record_event(method.user, EventKind.CODE_SENT, request, method)
    except DeliveryFailed:
        record_event(method.user, EventKind.DELIVERY_FAILED, request, method)
        raise
    return lifetime


def end_admin_sessions(user, issuer, *, keep=None) -> None:
    """End the sessions of ``user`` that the Django admin's login signed in (``SessionIssuer``
    tracks them) when the API's ``issuer`` is another, which ``issuer.revoke_all`` leaves."""
    from ..issuers import SessionIssuer

    if not isinstance(issuer, SessionIssuer) and apps.is_installed("django.contrib.sessions"):
        SessionIssuer().revoke_all(user, keep=keep)


def session_authenticated(request) -> bool:
    return isinstance(getattr(request, "successful_authenticator", None), SessionAuthentication)
