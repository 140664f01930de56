"""DRF throttles for the sign-in and setup endpoints; rates come from ``THROTTLE_RATES``."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

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
