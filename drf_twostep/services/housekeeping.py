"""Housekeeping: deleting what can never be used again, refreshing what may have drifted."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import DeliveredCode, LoginChallenge, TrustedDevice, TwoStepMethod
from ..settings import twostep_settings


def delete_expired(now=None) -> dict[str, int]:
    """Delete what can never be used again: login challenges past their lifetime (completed
    or not), sent codes past theirs, pending methods never confirmed in time and trusted
    devices past their expiry. Returns the
    number of rows of each. Lockout counters live on the profile and are not touched."""
    now = now or timezone.now()
    pending_before = now - timedelta(seconds=twostep_settings.PENDING_METHOD_LIFETIME)
    with transaction.atomic():
        codes = DeliveredCode.objects.filter(expires_at__lte=now).delete()[1]
        methods = TwoStepMethod.objects.pending().filter(created_at__lte=pending_before).delete()
        challenges = LoginChallenge.objects.filter(expires_at__lte=now).delete()[1]
        devices = TrustedDevice.objects.filter(expires_at__lte=now).delete()[0]
    return {
        "challenges": challenges.get(LoginChallenge._meta.label, 0),
        "codes": codes.get(DeliveredCode._meta.label, 0),
        "pending_methods": methods[1].get(TwoStepMethod._meta.label, 0),
        "trusted_devices": devices,
    }
