"""
Credential issuers: what a completed login hands out, and how it is revoked.

``DRF_TWOSTEP["TOKEN_ISSUER"]`` names the class. The default issues DRF authtoken tokens.
"""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from .constants import SESSION_VERIFIED_KEY
from .crypto import constant_time_equals, keyed_digest
from .settings import twostep_settings


class BaseIssuer:
    """
    Issue and revoke credentials for a user.

    ``issue()`` returns the value put in the response's ``token`` field; ``verified`` says
    whether the user passed the second step, and ``profile`` (a ``TwoStepProfile`` or None)
    is where a marker of a verified credential may be kept for enforcement.
    """

    def issue(self, request, user, *, verified, profile=None):
        raise NotImplementedError

    def revoke(self, request) -> None:
        """Revoke the credential used for ``request`` (logout)."""
        raise NotImplementedError

    def revoke_all(self, user) -> None:
        """Revoke every credential of ``user`` (2SV turned on, or reset)."""
        raise NotImplementedError


class AuthTokenIssuer(BaseIssuer):
    """
    DRF's ``rest_framework.authtoken`` tokens (one per user).

    The keyed digest of a token issued after the second step is kept on the user's
    ``TwoStepProfile``; ``TwoStepTokenAuthentication`` accepts a 2SV user's token only if it
    matches, so a token minted elsewhere (``obtain_auth_token``, the admin) does not bypass 2SV.
    """

    def get_model(self):
        if not apps.is_installed("rest_framework.authtoken"):
            raise ImproperlyConfigured(
                "drf_twostep.issuers.AuthTokenIssuer needs 'rest_framework.authtoken' in "
                "INSTALLED_APPS."
            )
        from rest_framework.authtoken.models import Token

        return Token

    def issue(self, request, user, *, verified, profile=None):
        token, _ = self.get_model().objects.get_or_create(user=user)
        if verified and profile is not None:
            profile.verified_credential = keyed_digest(token.key)
        return token.key

    def revoke(self, request):
        token = getattr(request, "auth", None)
        if isinstance(token, self.get_model()):
            token.delete()

    def revoke_all(self, user):
        self.get_model().objects.filter(user=user).delete()

    @staticmethod
    def is_verified(token, state) -> bool:
        """``state`` carries ``verified_credential`` (a TwoStepProfile or an EnforcementState)."""
        marker = state.verified_credential
        return bool(marker) and constant_time_equals(marker, keyed_digest(token.key))


def get_issuer() -> BaseIssuer:
    return twostep_settings.TOKEN_ISSUER()


def mark_session_verified(request) -> None:
    """Mark the request's Django session as having passed the second step."""
    session = getattr(getattr(request, "_request", request), "session", None)
    if session is not None:
        session.cycle_key()
        session[SESSION_VERIFIED_KEY] = True
