"""Recovery codes: replacing them, and their PDF."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..adapter import get_adapter
from ..constants import EventKind
from ..exceptions import InvalidRecoveryCode, TwoStepNotEnabled
from ..methods import recovery
from ..pdf import render_recovery_codes
from ._common import check_password, profile_for_update, record_event


def regenerate_recovery_codes(request, user, password) -> list[str]:
    """Replace all recovery codes of a user with 2SV on; returns the new plain codes."""
    check_password(request, user, password)
    with transaction.atomic():
        profile = profile_for_update(user)
        if not profile.enabled:
            raise TwoStepNotEnabled()
        codes = recovery.regenerate(user)
        record_event(user, EventKind.RECOVERY_CODES_REGENERATED, request)
    return codes


def recovery_codes_pdf(user, codes) -> bytes:
    """The PDF of ``codes``, which must be the user's current, unused codes."""
    if not recovery.are_current(user, codes):
        raise InvalidRecoveryCode()
    adapter = get_adapter()
    return render_recovery_codes(
        site_name=adapter.get_issuer_name(),
        account=user.get_username(),
        codes=[recovery.display(recovery.normalize(code)) for code in codes],
        date=timezone.localdate(),
    )
