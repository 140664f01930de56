"""DRF throttles for the sign-in and setup endpoints; rates come from ``THROTTLE_RATES``."""

from __future__ import annotations

from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from .crypto import keyed_digest
from .settings import twostep_settings


class TwoStepRateThrottle(SimpleRateThrottle):
    """
    A cache-backed rate limit whose rate is read from ``DRF_TWOSTEP["THROTTLE_RATES"]`` at
    request time. Anonymous requests are counted by client address, others by user.
    """

    scope: str

    def get_rate(self):
        return twostep_settings.THROTTLE_RATES.get(self.scope)

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
        if not throttle.allow_request(None, None):  # type: ignore[arg-type]
            raise Throttled(wait=throttle.wait())
