"""
Authentication classes that enforce 2-Step Verification on every request.

They are DRF's own classes with one step added after the base class authenticates: a user
with 2SV on must present a credential that passed the second step, and a user who must have
2SV but has none may reach only the setup endpoints (and views marked with
``allow_without_two_step``). The check costs one query, or none with ``ENFORCEMENT_CACHE``.

``TwoStepJWTAuthentication`` (Simple JWT) and ``TwoStepKnoxAuthentication`` (django-rest-knox)
are imported from ``drf_twostep.contrib`` when first named, so that neither package is needed
by projects that do not use it.
"""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from .compiled import CompiledQuery, NotCompilable
from .constants import SESSION_VERIFIED_KEY
from .enforcement import (
    attach_annotated_state,
    get_state,
    must_set_up,
    state_annotation_key,
    state_annotations,
)
from .exceptions import TwoStepSetupRequired, TwoStepVerificationRequired
from .issuers import AuthTokenIssuer


def setup_allowed(request) -> bool:
    """True for views that a user who must set up 2SV may still use (``twostep_setup_allowed``)."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return bool(getattr(view, "twostep_setup_allowed", False))


def allow_without_two_step(view_class):
    """
    Class decorator: let users who must still set up 2SV reach this view (for example a
    profile or help page). Same as setting ``twostep_setup_allowed = True`` on the view.
    """
    view_class.twostep_setup_allowed = True
    return view_class


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
        state = get_state(user)
        if state.enabled and not self.is_verified(request, user, auth, state):
            raise TwoStepVerificationRequired()
        if must_set_up(user, state) and not setup_allowed(request):
            raise TwoStepSetupRequired()

    def is_verified(self, request, user, auth, state) -> bool:
        """Whether the credential ``auth`` passed the second step (``state``: EnforcementState)."""
        raise NotImplementedError


class TwoStepTokenAuthentication(TwoStepEnforcementMixin, TokenAuthentication):
    """
    ``Authorization: Token <key>``, as DRF's ``TokenAuthentication``; ``request.user`` is the
    token's user and ``request.auth`` the ``Token``. A 2SV user's token must be the one issued
    after the second step.
    """

    def authenticate_credentials(self, key):
        """
        DRF's look-up of the token and its user, with the same SQL, the same errors and the
        same result, but with the query compiled once per database instead of on every
        request (which cost more than the query and the 2SV check together).
        """
        model = self.get_model()
        state_key = state_annotation_key()
        lookup = _TOKEN_LOOKUPS.get((model, state_key))
        if lookup is None:
            lookup = _TOKEN_LOOKUPS[(model, state_key)] = CompiledQuery(
                partial(_token_queryset, model, state_key is not None)
            )
        try:
            token = lookup.get(key, using=model.objects.db)
        except NotCompilable:
            return super().authenticate_credentials(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if state_key is not None:
            attach_annotated_state(token, token.user)
        return (token.user, token)

    def is_verified(self, request, user, auth, state):
        return AuthTokenIssuer.is_verified(auth, state)


def _token_queryset(model, with_state, key):
    """DRF's token look-up, with the user's 2SV state when ``with_state`` (then the request
    costs one query, as with DRF's own class)."""
    queryset = model.objects.select_related("user").filter(key=key)
    return queryset.annotate(**state_annotations("user")) if with_state else queryset


# (token model, state_annotation_key()) -> the compiled look-up by key.
_TOKEN_LOOKUPS: dict = {}


class TwoStepSessionAuthentication(TwoStepEnforcementMixin, SessionAuthentication):
    """
    Django's session, as DRF's ``SessionAuthentication`` (with its CSRF check). A 2SV user's
    session must have been marked verified by the package's login or setup flows.
    """

    def is_verified(self, request, user, auth, state):
        session = getattr(request._request, "session", None)
        return bool(session is not None and session.get(SESSION_VERIFIED_KEY) is True)


_OPTIONAL_CLASSES = {
    "TwoStepJWTAuthentication": ("simplejwt", "djangorestframework-simplejwt", "jwt"),
    "TwoStepKnoxAuthentication": ("knox", "django-rest-knox", "knox"),
}


def __getattr__(name):
    if name not in _OPTIONAL_CLASSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    module, package, extra = _OPTIONAL_CLASSES[name]
    try:
        return getattr(import_module(f"drf_twostep.contrib.{module}"), name)
    except ImportError as exc:
        raise ImportError(
            f"drf_twostep.authentication.{name} needs {package}: "
            f"pip install 'drf-twostep[{extra}]' ({exc})"
        ) from exc
