"""
Authentication classes that enforce 2-Step Verification on every request.

They are DRF's own classes with one step added after the base class authenticates: a user
with 2SV on must present a credential that passed the second step, and a user who must have
2SV but has none may reach only the setup endpoints. The check costs one query by primary key.
"""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from .adapter import get_adapter
from .constants import SESSION_VERIFIED_KEY
from .exceptions import TwoStepSetupRequired, TwoStepVerificationRequired
from .issuers import AuthTokenIssuer
from .models import TwoStepProfile


def get_profile(user):
    """The user's ``TwoStepProfile`` or None, fetched once per user object."""
    try:
        return user._twostep_profile
    except AttributeError:
        profile = TwoStepProfile.objects.filter(pk=user.pk).first()
        user._twostep_profile = profile
        return profile


def setup_allowed(request) -> bool:
    """True for views that a user who must set up 2SV may still use (``twostep_setup_allowed``)."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return bool(getattr(view, "twostep_setup_allowed", False))


class TwoStepEnforcementMixin:
    """
    Runs ``enforce()`` after the base class authenticated a user.

    Subclasses say in ``is_verified()`` whether the credential passed the second step.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            self.enforce(request, *result)
        return result

    def enforce(self, request, user, auth):
        """Raise ``TwoStepVerificationRequired`` or ``TwoStepSetupRequired``, or return."""
        profile = get_profile(user)
        if profile is not None and profile.enabled:
            if not self.is_verified(request, user, auth, profile):
                raise TwoStepVerificationRequired()
            return
        # Organization requirements: the adapter decides who must have 2SV.
        if not setup_allowed(request) and get_adapter().is_two_step_required(user):
            raise TwoStepSetupRequired()

    def is_verified(self, request, user, auth, profile) -> bool:
        raise NotImplementedError


class TwoStepTokenAuthentication(TwoStepEnforcementMixin, TokenAuthentication):
    """
    ``Authorization: Token <key>``, as DRF's ``TokenAuthentication``; ``request.user`` is the
    token's user and ``request.auth`` the ``Token``. A 2SV user's token must be the one issued
    after the second step.
    """

    def is_verified(self, request, user, auth, profile):
        return AuthTokenIssuer.is_verified(auth, profile)


class TwoStepSessionAuthentication(TwoStepEnforcementMixin, SessionAuthentication):
    """
    Django's session, as DRF's ``SessionAuthentication`` (with its CSRF check). A 2SV user's
    session must have been marked verified by the package's login or setup flows.
    """

    def is_verified(self, request, user, auth, profile):
        session = getattr(request._request, "session", None)
        return bool(session is not None and session.get(SESSION_VERIFIED_KEY) is True)
