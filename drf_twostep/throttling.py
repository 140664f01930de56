"""DRF throttles for the sign-in and setup endpoints; rates come from ``THROTTLE_RATES``."""

from __future__ import annotations

from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from .crypto import keyed_digest
from .exceptions import ServiceUnavailable
from .faults import warn_failed
from .settings import twostep_settings


class TwoStepRateThrottle(SimpleRateThrottle):
    """
    A cache-backed rate limit whose rate is read from ``DRF_TWOSTEP["THROTTLE_RATES"]`` at
    request time. Anonymous requests are counted by client address, others by user.

    A rate of N requests per period is N slots in the cache, and an allowed request takes a
    free one with ``cache.add``, which only one of several concurrent callers wins on Redis,
    memcached, the database cache or a per-process cache; the slot is free again when the
    period has passed by the server's clock. So at most N requests pass in any period, however
    many arrive at once and on however many processes (DRF's own throttle reads its history
    and writes it back, and requests that arrive together all pass). Rates above
    ``MAX_SLOTS`` per period use DRF's history instead.

    When the cache fails (down, or slower than its socket timeout), ``THROTTLE_FAIL_OPEN``
    decides: False (the default) refuses the request with 503 ``service_unavailable`` and
    ``Retry-After``; True lets it through, so that only the lockout in the database counts
    wrong codes.
    """

    scope: str
    MAX_SLOTS = 100

    def get_rate(self):
        return twostep_settings.THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        try:
            return self._allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - any cache failure: THROTTLE_FAIL_OPEN decides
            if twostep_settings.THROTTLE_FAIL_OPEN:
                warn_failed("the throttles' cache", exc, "letting requests through")
                return True
            warn_failed("the throttles' cache", exc, "refusing the throttled requests (503)")
            raise ServiceUnavailable() from exc

    def _allow_request(self, request, view):
        if self.rate is None or self.num_requests > self.MAX_SLOTS:
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        slots = [f"{self.key}:{slot}" for slot in range(self.num_requests)]
        held = self.cache.get_many(slots)
        for slot in slots:
            taken_at = held.get(slot)
            if taken_at is None:
                if self.cache.add(slot, self.now, self.duration):
                    return True
                held[slot] = self.now  # taken just now by a concurrent request
            elif taken_at <= self.now - self.duration:
                # Free by the server's clock but still in the cache (its expiry a little
                # late, or the cache on a clock of its own): of the requests that find it so,
                # the one that adds its successor key takes it over.
                if self.cache.add(f"{slot}:after:{taken_at!r}", self.now, self.duration):
                    self.cache.set(slot, self.now, self.duration)
                    return True
                held[slot] = self.now
        # Every slot is held: the next frees itself when the oldest of them was taken a
        # period ago.
        self.history = sorted(held.values(), reverse=True)
        return self.throttle_failure()

    def wait(self):
        if self.num_requests > self.MAX_SLOTS:
            return super().wait()
        oldest = self.history[-1] if self.history else self.now
        # Never 0: Retry-After tells when a request can pass, not that one can now.
        return max(oldest + self.duration - self.now, 1)

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginThrottle(TwoStepRateThrottle):
    scope = "twostep_login"


class VerifyThrottle(TwoStepRateThrottle):
    scope = "twostep_verify"


class SetupThrottle(TwoStepRateThrottle):
    scope = "twostep_setup"


class SendCodeThrottle(TwoStepRateThrottle):
    scope = "twostep_send_code"


class DeliveryThrottle(TwoStepRateThrottle):
    """Codes sent by SMS or email, counted for one ``ident`` whoever asks for them."""

    def __init__(self, scope, ident):
        self.scope = scope
        self.ident = ident
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


def check_delivery_rate(user, destination: str) -> None:
    """Count one code sent to ``destination`` for ``user``; ``Throttled`` (429, Retry-After)
    when either the user or the destination has had too many. The destination is counted by
    its keyed digest, so the cache holds no phone numbers or addresses."""
    for scope, ident in (
        ("twostep_deliver_user", f"user:{user.pk}"),
        ("twostep_deliver_destination", keyed_digest("destination:" + destination.lower())),
    ):
        throttle = DeliveryThrottle(scope, ident)
        # The key comes from ``ident``; this throttle never looks at a request or a view.
        if not throttle.allow_request(None, None):
            raise Throttled(wait=throttle.wait())
