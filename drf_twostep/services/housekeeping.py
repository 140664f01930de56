"""Housekeeping: deleting what can never be used again, refreshing what may have drifted."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import DeliveredCode, LoginChallenge, TrustedDevice, TwoStepMethod
from ..settings import twostep_settings

# Rows deleted per transaction by delete_expired: each batch holds its locks briefly, and no
# more than a batch of rows is ever in memory, however many have expired.
DELETE_BATCH_SIZE = 1000


def delete_expired(now=None, batch_size=DELETE_BATCH_SIZE) -> dict[str, int]:
    """Delete what can never be used again: login challenges past their lifetime (completed
    or not), sent codes past theirs, pending methods never confirmed in time and trusted
    devices past their expiry, ``batch_size`` rows a transaction (an interrupted run has
    deleted whole batches; the next one deletes the rest). Returns the number of rows of
    each. Lockout counters live on the profile and are not touched."""
    now = now or timezone.now()
    pending_before = now - timedelta(seconds=twostep_settings.PENDING_METHOD_LIFETIME)
    return {
        "codes": _delete_in_batches(DeliveredCode.objects.filter(expires_at__lte=now), batch_size),
        "pending_methods": _delete_in_batches(
            TwoStepMethod.objects.pending().filter(created_at__lte=pending_before), batch_size
        ),
        "challenges": _delete_in_batches(
            LoginChallenge.objects.filter(expires_at__lte=now), batch_size
        ),
        "trusted_devices": _delete_in_batches(
            TrustedDevice.objects.filter(expires_at__lte=now), batch_size
        ),
    }


def _delete_in_batches(queryset, batch_size) -> int:
    """Delete the rows of ``queryset`` (with what cascades from them), a batch of primary keys
    per transaction; returns how many rows of its model went."""
    model = queryset.model
    queryset = queryset.order_by().values_list("pk", flat=True)
    deleted = 0
    while True:
        with transaction.atomic():
            pks = list(queryset[:batch_size])
            if not pks:
                return deleted
            counts = model._default_manager.filter(pk__in=pks).delete()[1]
            deleted += counts.get(model._meta.label, 0)
