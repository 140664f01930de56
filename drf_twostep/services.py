"""
The flows of 2-Step Verification: sign in, verify, set up, confirm, remove, recover.

Views call these and nothing else changes state. Each flow runs in a transaction, takes row
locks where state is checked and changed, records its security events and sends its signals
and notifications, once each.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import authenticate, get_user_model, load_backend, user_logged_in
from django.contrib.auth import logout as django_logout
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import Throttled

from . import signals
from .adapter import get_adapter, parse_pk
from .constants import CHALLENGE_BYTES, EventKind, LoginStatus, MethodStatus
from .crypto import digest
from .enforcement import (
    _unmet_policies,
    get_requirement,
    get_state,
    invalidate,
    invalidate_all,
    required_as_staff,
)
from .exceptions import (
    ChallengeExpired,
    CodeAlreadyUsed,
    DeliveryFailed,
    InvalidChallenge,
    InvalidCode,
    InvalidCredentials,
    InvalidRecoveryCode,
    MethodDoesNotSend,
    MethodNotAllowed,
    MethodNotPending,
    MethodRequiredByOrganization,
    NotFound,
    PasswordIncorrect,
    TooManyAttempts,
    TwoStepNotEnabled,
    TwoStepSetupRequired,
)
from .issuers import get_issuer, mark_session_verified
from .methods import get_method, get_method_class, recovery
from .models import (
    DeliveredCode,
    LoginChallenge,
    OrganizationPolicy,
    RecoveryCode,
    SecurityEvent,
    TwoStepMethod,
    TwoStepProfile,
)
from .settings import twostep_settings
from .throttling import check_delivery_rate

_NOTIFIED = {
    EventKind.METHOD_ADDED,
    EventKind.METHOD_REMOVED,
    EventKind.RECOVERY_CODE_USED,
    EventKind.RECOVERY_CODES_REGENERATED,
    EventKind.TWO_STEP_DISABLED,
    EventKind.RESET_BY_ADMIN,
    EventKind.LOCKED_OUT,
}


# -- events -------------------------------------------------------------------------------


def record_event(user, kind: EventKind, request=None, method=None, **context):
    """
    Store a ``SecurityEvent``, send the ``security_event`` signal and, for the kinds users
    are told about, the notification email (after the transaction commits).
    """
    adapter = get_adapter()
    event = SecurityEvent.objects.create(
        user=user,
        kind=kind.value,
        method_id=getattr(method, "pk", None),
        method_kind=getattr(method, "kind", ""),
        ip=adapter.get_client_ip(request),
        user_agent=adapter.get_user_agent(request),
    )
    signals.security_event.send(
        sender=SecurityEvent, user=user, kind=kind.value, event=event, request=request
    )
    if kind in _NOTIFIED:
        mail_context = {
            "when": event.created_at,
            "ip": event.ip or "-",
            "user_agent": event.user_agent or "-",
            "method_name": getattr(method, "name", ""),
            **context,
        }
        transaction.on_commit(lambda: adapter.send_notification(user, kind.value, mail_context))
    return event


# -- helpers ------------------------------------------------------------------------------


def _check_password(request, user, password):
    """Re-authentication: the user's own password, through the authentication backends."""
    credentials = {get_user_model().USERNAME_FIELD: user.get_username(), "password": password}
    checked = authenticate(getattr(request, "_request", request), **credentials)
    if checked is None or checked.pk != user.pk:
        raise PasswordIncorrect()


def _profile_for_update(user) -> TwoStepProfile:
    """The user's profile, locked (the lock that orders a user's 2SV changes): one query
    when the profile exists, as it does once the user has started any 2SV step."""
    locked = TwoStepProfile.objects.select_for_update()
    try:
        return locked.get(user=user)
    except TwoStepProfile.DoesNotExist:
        TwoStepProfile.objects.get_or_create(user=user)
        return locked.get(user=user)


def _user_method(user, method_id, *, lock=False) -> TwoStepMethod:
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


def _state_changed(user):
    """Forget the user's cached enforcement state now and again once the change commits
    (so no other process can cache the state from before it)."""
    invalidate(user)
    transaction.on_commit(lambda: invalidate(user))


def active_methods(user):
    return list(TwoStepMethod.objects.active().filter(user=user))


def _login_completed(request, user, challenge=None):
    if challenge is not None:
        user.backend = challenge.backend
    if get_issuer().sends_user_logged_in:
        return
    user_logged_in.send(
        sender=user.__class__, request=getattr(request, "_request", request), user=user
    )


# -- signing in ---------------------------------------------------------------------------


def login(request, username, password) -> dict:
    """
    Check the password. A user with 2SV on gets a challenge and no credential; a user
    without 2SV gets a credential. Raises ``InvalidCredentials`` whether or not the user exists.
    """
    credentials = {get_user_model().USERNAME_FIELD: username, "password": password}
    user = authenticate(getattr(request, "_request", request), **credentials)
    if user is None:
        raise InvalidCredentials()
    profile = TwoStepProfile.objects.filter(user=user).first()
    if profile is not None and profile.enabled:
        return _start_challenge(user, request)
    credential = get_issuer().issue_credential(request, user, verified=False, profile=profile)
    _login_completed(request, user)
    # Inside a grace period the credential works everywhere: the status object's
    # grace_period_ends_at tells the client to suggest setting up, not to insist.
    unmet_from = get_requirement(user).unmet_from
    must_set_up = unmet_from is not None and unmet_from <= timezone.now()
    response = {
        "status": (LoginStatus.SETUP_REQUIRED if must_set_up else LoginStatus.AUTHENTICATED).value,
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
    }


def _send_at_login_start(request, login_challenge, method) -> None:
    """With an SMS or email default, send its code as the login starts. A failure here is
    not the login's: the client can ask again with ``login/send-code/`` and see it."""
    handler = get_method(method)
    if handler is None or not handler.sends_code:
        return
    try:
        _deliver(request, handler, login_challenge)
    except (DeliveryFailed, Throttled):
        pass


def _deliver(request, handler, login_challenge=None) -> int:
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


def send_login_code(request, challenge, method_id) -> int:
    """``login/send-code/``: a fresh code for the challenge's user by the method
    ``method_id``; the previous code for this challenge stops working. Returns its lifetime."""
    now = timezone.now()
    with transaction.atomic():
        login_challenge = _open_challenge(challenge, now)
        profile = _profile_for_update(login_challenge.user)
        _check_not_locked(profile, login_challenge, now)
        method = _login_method(login_challenge.user, method_id)
        handler = get_method(method)
        if not handler.sends_code:
            raise MethodDoesNotSend()
    return _deliver(request, handler, login_challenge)


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
    """Count a wrong code on the challenge and the user; True if this failure locks the user."""
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


def verify_login(request, challenge, code=None, method_id=None, recovery_code=None) -> dict:
    """
    Complete a login with a code from a method, or with a recovery code.

    Wrong codes count on the challenge and on the user (in the database, so a new login does
    not reset them) and lock the user out with backoff. Returns the authenticated response;
    a recovery code's replacement is included as ``recovery_codes``.
    """
    now = timezone.now()
    failure = None
    with transaction.atomic():
        login_challenge = _open_challenge(challenge, now)
        user = login_challenge.user
        profile = _profile_for_update(user)
        _check_not_locked(profile, login_challenge, now)
        method = None
        replacement = None
        try:
            if recovery_code is not None:
                replacement = recovery.consume(user, recovery_code)
                if replacement is None:
                    raise InvalidRecoveryCode()
            else:
                method = _login_method(user, method_id)
                get_method(method).verify(code, challenge=login_challenge)
        except (InvalidCode, CodeAlreadyUsed, InvalidRecoveryCode) as exc:
            failure = exc
            locked = _register_failure(profile, login_challenge, now)
        else:
            login_challenge.completed_at = now
            login_challenge.save(update_fields=["completed_at"])
            profile.failed_attempts = 0
            profile.locked_until = None
            profile.last_verified_at = now
            user.backend = login_challenge.backend
            credential = get_issuer().issue_credential(
                request, user, verified=True, profile=profile
            )
            profile.save(
                update_fields=[
                    "failed_attempts",
                    "locked_until",
                    "last_verified_at",
                    "verified_credential",
                ]
            )
            _state_changed(user)
            if recovery_code is not None:
                record_event(user, EventKind.RECOVERY_CODE_USED, request)
            record_event(user, EventKind.VERIFICATION_SUCCEEDED, request, method)
            _login_completed(request, user, login_challenge)
    if failure is not None:
        # Recorded outside the block above so that the counters are already committed.
        kind = (
            EventKind.CODE_REPLAYED
            if isinstance(failure, CodeAlreadyUsed)
            else EventKind.VERIFICATION_FAILED
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


def _session_authenticated(request) -> bool:
    return isinstance(getattr(request, "successful_authenticator", None), SessionAuthentication)


def logout(request) -> None:
    """Revoke the credential the request was made with: the session, or the issued credential."""
    if _session_authenticated(request):
        django_logout(request._request)
    else:
        get_issuer().revoke(request)


# -- managing one's own 2SV ---------------------------------------------------------------


def status(user) -> dict:
    """The status object of API.md for ``user``."""
    profile = TwoStepProfile.objects.filter(user=user).first()
    enabled = bool(profile and profile.enabled)
    methods = [m for m in TwoStepMethod.objects.filter(user=user) if not m.pending_expired()]
    default = next((m.pk for m in methods if m.is_default and m.is_active), None)
    codes = list(RecoveryCode.objects.filter(user=user).values_list("created_at", flat=True))
    adapter = get_adapter()
    requirement = get_requirement(user)
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
            "remaining": len(codes),
            "total": twostep_settings.RECOVERY_CODE_COUNT if enabled else 0,
            "created_at": min(codes) if codes else None,
        },
        "server_time": timezone.now(),
    }


def begin_setup(request, user, kind, password, name="", **data):
    """
    Step one: check the password and create a pending method of ``kind``, replacing an
    earlier pending one of the same kind. Returns ``(method, fields shown this once)``.
    """
    cls = get_method_class(kind)
    if cls is None or not get_requirement(user).allows(kind):
        raise MethodNotAllowed()
    _check_password(request, user, password)
    with transaction.atomic():
        TwoStepMethod.objects.pending().filter(user=user, kind=kind).delete()
        method = TwoStepMethod(user=user, kind=kind, name=name)
        extra = cls.begin_setup(method, data)
        method.name = method.name or str(cls.verbose_name)
        method.save()
        if cls.sends_code:
            # Inside the transaction: if the code cannot be sent, no pending method remains.
            extra = {**extra, "expires_in": _deliver(request, get_method(method))}
    return method, extra


def confirm_method(request, user, method_id, code) -> dict:
    """
    Step two: a valid code makes the method active. The first active method turns 2SV on:
    recovery codes are issued, the user's other credentials revoked and a fresh one issued.
    """
    with transaction.atomic():
        method = _user_method(user, method_id, lock=True)
        if method.is_active:
            raise MethodNotPending()
        handler = get_method(method)
        if handler is None:
            raise MethodNotAllowed()
        try:
            handler.verify(code)
        except (InvalidCode, CodeAlreadyUsed) as exc:
            failure = exc
        else:
            failure = None
            result = _activate(request, user, method)
    if failure is not None:
        # Raised after the block commits, so a wrong code's count on a sent code is kept.
        raise failure
    return result


def _activate(request, user, method) -> dict:
    """Make a confirmed pending method active; the first one turns 2SV on."""
    now = timezone.now()
    profile = _profile_for_update(user)
    has_default = TwoStepMethod.objects.active().filter(user=user, is_default=True).exists()
    method.status = MethodStatus.ACTIVE.value
    method.confirmed_at = now
    method.is_default = not has_default
    method.save(update_fields=["status", "confirmed_at", "is_default"])
    _state_changed(user)
    record_event(user, EventKind.METHOD_ADDED, request, method)
    result = {"method": method, "token": None}
    if not profile.enabled:
        profile.enabled = True
        profile.enabled_at = now
        profile.last_verified_at = now
        profile.failed_attempts = 0
        profile.locked_until = None
        issuer = get_issuer()
        issuer.revoke_all(user)
        result.update(issuer.issue_credential(request, user, verified=True, profile=profile))
        profile.save()
        result["recovery_codes"] = recovery.regenerate(user)
        if _session_authenticated(request):
            mark_session_verified(request)
        record_event(user, EventKind.TWO_STEP_ENABLED, request, method)
        result = get_adapter().build_credential_response(request, user, result)
    return result


def update_method(user, method_id, *, name=None, is_default=None) -> TwoStepMethod:
    """Rename a method and/or make an active method the default (exactly one is)."""
    with transaction.atomic():
        # The profile row lock serialises concurrent changes of the user's default.
        _profile_for_update(user)
        method = _user_method(user, method_id, lock=True)
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
    from django.utils.translation import gettext

    return gettext("Confirm this method before making it the default.")


def remove_method(request, user, method_id, password) -> None:
    """
    Delete a method. Deleting the last active one turns 2SV off and deletes the recovery
    codes, unless 2SV is required of the user; a removed default passes to the oldest active.
    """
    _check_password(request, user, password)
    with transaction.atomic():
        method = _user_method(user, method_id, lock=True)
        if not method.is_active:
            method.delete()
            return
        profile = _profile_for_update(user)
        others = TwoStepMethod.objects.active().filter(user=user).exclude(pk=method.pk)
        remaining = list(others.order_by("created_at", "pk"))
        met_before = not _unmet_policies(user).exists()
        method_pk = method.pk
        method.delete()
        _state_changed(user)
        if (met_before and _unmet_policies(user).exists()) or (
            not remaining and required_as_staff(user)
        ):
            # Raising rolls the deletion back.
            raise MethodRequiredByOrganization()
        method.pk = method_pk  # for the event record
        record_event(user, EventKind.METHOD_REMOVED, request, method)
        if remaining and method.is_default:
            remaining[0].is_default = True
            remaining[0].save(update_fields=["is_default"])
        if not remaining:
            profile.enabled = False
            profile.enabled_at = None
            profile.verified_credential = ""
            profile.save(update_fields=["enabled", "enabled_at", "verified_credential"])
            RecoveryCode.objects.filter(user=user).delete()
            record_event(user, EventKind.TWO_STEP_DISABLED, request)


def regenerate_recovery_codes(request, user, password) -> list[str]:
    """Replace all recovery codes of a user with 2SV on; returns the new plain codes."""
    _check_password(request, user, password)
    with transaction.atomic():
        profile = _profile_for_update(user)
        if not profile.enabled:
            raise TwoStepNotEnabled()
        codes = recovery.regenerate(user)
        record_event(user, EventKind.RECOVERY_CODES_REGENERATED, request)
    return codes


def recovery_codes_pdf(user, codes) -> bytes:
    """The PDF of ``codes``, which must be the user's current, unused codes."""
    from .pdf import render_recovery_codes

    if not recovery.are_current(user, codes):
        raise InvalidRecoveryCode()
    adapter = get_adapter()
    return render_recovery_codes(
        site_name=adapter.get_issuer_name(),
        account=user.get_username(),
        codes=[recovery.display(recovery.normalize(code)) for code in codes],
        date=timezone.localdate(),
    )


def reset_two_step(user, request=None, by=None) -> None:
    """
    For a user who lost their device: remove their methods and recovery codes, turn 2SV off,
    revoke their credentials, record ``reset_by_admin`` (and ``member_reset`` on ``by``, the
    admin who did it) and notify them.
    """
    with transaction.atomic():
        profile = _profile_for_update(user)
        TwoStepMethod.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        profile.enabled = False
        profile.enabled_at = None
        profile.verified_credential = ""
        profile.failed_attempts = 0
        profile.locked_until = None
        profile.save()
        get_issuer().revoke_all(user)
        _state_changed(user)
        record_event(user, EventKind.RESET_BY_ADMIN, request)
        if by is not None:
            record_event(by, EventKind.MEMBER_RESET, request)


# -- housekeeping -------------------------------------------------------------------------


def delete_expired(now=None) -> dict[str, int]:
    """Delete what can never be used again: login challenges past their lifetime (completed
    or not), sent codes past theirs, and pending methods never confirmed in time. Returns the
    number of rows of each. Lockout counters live on the profile and are not touched."""
    now = now or timezone.now()
    pending_before = now - timedelta(seconds=twostep_settings.PENDING_METHOD_LIFETIME)
    with transaction.atomic():
        codes = DeliveredCode.objects.filter(expires_at__lte=now).delete()[1]
        methods = TwoStepMethod.objects.pending().filter(created_at__lte=pending_before).delete()
        challenges = LoginChallenge.objects.filter(expires_at__lte=now).delete()[1]
    return {
        "challenges": challenges.get(LoginChallenge._meta.label, 0),
        "codes": codes.get(DeliveredCode._meta.label, 0),
        "pending_methods": methods[1].get(TwoStepMethod._meta.label, 0),
    }


# -- organizations ------------------------------------------------------------------------


def admin_organization(user, organization_id, *, change=False):
    """
    The organization ``organization_id`` if ``user`` administers it, else ``NotFound`` (so ids
    cannot be probed). ``change``: the admin must have 2SV on (``TwoStepSetupRequired``).
    """
    adapter = get_adapter()
    organization = adapter.get_organization(organization_id)
    if organization is None or not adapter.is_organization_admin(user, organization):
        raise NotFound()
    if change and not get_state(user).enabled:
        raise TwoStepSetupRequired()
    return organization


def get_policy(organization) -> OrganizationPolicy:
    """The organization's policy; an unsaved default one if it has none yet."""
    policy = OrganizationPolicy.objects.filter(organization=organization).first()
    return policy or OrganizationPolicy(organization=organization)


def update_policy(request, admin, organization, **changes) -> OrganizationPolicy:
    """Change a policy (``required``, ``grace_period_days``, ``allowed_methods``)."""
    with transaction.atomic():
        policy, _ = OrganizationPolicy.objects.select_for_update().get_or_create(
            organization=organization
        )
        for field, value in changes.items():
            setattr(policy, field, value)
        policy.save()
        record_event(admin, EventKind.POLICY_CHANGED, request)
        invalidate_all()
        transaction.on_commit(invalidate_all)
    return policy


def organization_members(organization, policy):
    """The members of ``organization`` annotated for the members list: ``compliant`` (has an
    active method the policy allows), ``enabled``, ``last_verified_at``; active methods
    prefetched as ``active_two_step_methods``."""
    satisfying = TwoStepMethod.objects.active().filter(user=OuterRef("pk"))
    if policy.allowed_kinds:
        satisfying = satisfying.filter(kind__in=policy.allowed_methods)
    return (
        get_adapter()
        .get_organization_members(organization)
        .annotate(
            compliant=Exists(satisfying),
            two_step_enabled=Coalesce(F("two_step__enabled"), Value(False)),
            last_verified_at=F("two_step__last_verified_at"),
        )
        .prefetch_related(
            Prefetch(
                "two_step_methods",
                queryset=TwoStepMethod.objects.active(),
                to_attr="active_two_step_methods",
            )
        )
        .order_by("pk")
    )


def reset_member(request, admin, organization, user_id) -> None:
    """Reset the 2SV of a member of ``organization`` (``NotFound`` for anyone else)."""
    members = get_adapter().get_organization_members(organization)
    pk = parse_pk(members.model, user_id)
    member = None if pk is None else members.filter(pk=pk).first()
    if member is None:
        raise NotFound()
    reset_two_step(member, request, by=admin)
