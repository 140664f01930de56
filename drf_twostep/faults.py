"""Warnings about a failing outside service (a cache, the database), at most one per interval
and per service in each process, so that an outage does not flood the log."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("drf_twostep")

# Seconds between two warnings about the same failing service in one process.
WARNING_INTERVAL = 60

_last_warning: dict[str, float] = {}


def warn_failed(service: str, exc: BaseException, consequence: str) -> None:
    """Log that ``service`` failed with ``exc`` and what the package does meanwhile, unless
    that was logged less than ``WARNING_INTERVAL`` seconds ago."""
    now = time.time()
    last = _last_warning.get(service)
    # A clock set back makes the warning due again rather than silent.
    if last is not None and 0 <= now - last < WARNING_INTERVAL:
        return
    _last_warning[service] = now
    logger.warning(
        "drf_twostep: %s failed (%s: %s); %s",
        service,
        exc.__class__.__name__,
        exc,
        consequence,
    )
