"""
Trusted devices ("remember this device"): after a second step a client may ask to be
remembered, and ``login/`` with its device token then completes without one.

Off unless ``REMEMBER_DEVICE_DAYS`` allows it; an organization's ``remember_device_days``
lowers it for its members (0 forbids), the strictest wins, and a device is honoured only
while the current limit still covers it. A device token is 256 random bits, stored as a keyed
digest, bound to its user, their password (a new password by any path forgets it) and the
time 2SV was last turned on (turning it off and on again forgets it).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from ..adapter import get_adapter
from ..constants import DEVICE_TOKEN_BYTES, EventKind
from ..crypto import keyed_digest, keyed_digests, matches_keyed_digest
from ..enforcement import policies_of
from ..exceptions import NotFound
from ..models import TrustedDevice
from ..settings import twostep_settings
from ._common import login_completed, profile_for_update, state_changed
from .sign_ins import is_new, record_sign_in

# The longest device token accepted (a token is 43 characters); longer ones are ignored.
DEVICE_TOKEN_MAX_LENGTH = 128
NOT_REMEMBERED = {"device_token": None, "device_expires_at": None}


def allowed_days(user, requirement=None) -> int:
    """Days a device of ``user`` may be remembered now (0: not at all); ``requirement`` (the
    user's, ``get_requirement``), when the caller has it, saves the query."""
    cap = twostep_settings.REMEMBER_DEVICE_DAYS
    if cap <= 0:
        return 0
    if requirement is not None:
        lowest = requirement.remember_device_days
    else:
        lowest = (
            policies_of(user)
            .filter(remember_device_days__isnull=False)
            .aggregate(lowest=Min("remember_device_days"))["lowest"]
        )
    return cap if lowest is None else min(cap, lowest)


def remember(request, user, now) -> dict:
    """Remember the device of ``request`` for ``user``, who just passed a second step: the
    response fields ``device_token`` and ``device_expires_at`` (both None when not allowed)."""
    days = allowed_days(user)
    if days <= 0:
        return dict(NOT_REMEMBERED)
    token = secrets.token_urlsafe(DEVICE_TOKEN_BYTES)
    adapter = get_adapter()
    device = TrustedDevice.objects.create(
        user=user,
        digest=keyed_digest(token),
        password_digest=keyed_digest(user.password),
        name=adapter.get_device_name(request),
        ip=adapter.get_client_ip(request),
        user_agent=adapter.get_user_agent(request),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    return {"device_token": token, "device_expires_at": device.expires_at}


def recognise(user, token, profile, now=None) -> TrustedDevice | None:
    """The trusted device of ``user`` whose token is ``token``, if it may still skip the
    second step; else None, whatever is wrong with it (one indexed look-up either way)."""
    if not isinstance(token, str) or not token or len(token) > DEVICE_TOKEN_MAX_LENGTH:
        return None
    now = now or timezone.now()
    device = TrustedDevice.objects.filter(
        user=user, digest__in=keyed_digests(token), expires_at__gt=now
    ).first()
    if device is None or profile is None or profile.lock_remaining(now):
        return None
    if profile.enabled_at is None or device.created_at < profile.enabled_at:
        return None
    if not matches_keyed_digest(user.password, device.password_digest):
        return None
    days = allowed_days(user)
    if days <= 0 or device.created_at + timedelta(days=days) <= now:
        return None
    return device


def sign_in_on_device(request, user, device, issuer, *, client, known) -> dict | None:
    """Complete a sign-in on a trusted device: a credential that counts as having passed the
    second step (now), and the event ``trusted_device_used`` (``sign_ins.record_sign_in``,
    from ``client`` and ``known``). None if the device was forgotten meanwhile (the caller
    then asks for the second step)."""
    now = timezone.now()
    with transaction.atomic():
        profile = profile_for_update(user)
        if not TrustedDevice.objects.filter(pk=device.pk).update(last_used_at=now):
            return None
        profile.last_verified_at = now
        credential = issuer.issue(request, user, verified=True, profile=profile)
        profile.save(update_fields=["last_verified_at", "verified_credential"])
        state_changed(user)
        kinds = [EventKind.TRUSTED_DEVICE_USED]
        record_sign_in(user, kinds, request, client=client, new=is_new(known))
        login_completed(request, user, issuer)
    return credential


def devices_of(user):
    """The trusted devices of ``user`` that have not expired, newest first."""
    return TrustedDevice.objects.filter(user=user, expires_at__gt=timezone.now())


def forget(user, device_id) -> None:
    """Forget one of ``user``'s devices; ``NotFound`` for anyone else's."""
    if not TrustedDevice.objects.filter(user=user, pk=device_id).delete()[0]:
        raise NotFound()


def forget_all(user) -> None:
    """Forget every trusted device of ``user`` (2SV off or reset, a new password)."""
    TrustedDevice.objects.filter(user=user).delete()
