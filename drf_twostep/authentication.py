"""
Authentication classes that enforce 2-Step Verification on every request.

They are DRF's own classes with one step added after the base class authenticates: a user
with 2SV on must present a credential that passed the second step, and a user who must have
2SV but has none may reach only the setup endpoints (and views marked with
``allow_without_two_step``). ``TwoStepTokenAuthentication`` reads the 2SV state in the
token's own query; the others read it by the user's pk, or from ``ENFORCEMENT_CACHE``.

``TwoStepJWTAuthentication`` (Simple JWT) and ``TwoStepKnoxAuthentication`` (django-rest-knox)
are imported from ``drf_twostep.contrib`` when first named, so that neither package is needed
by projects that do not use it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject, empty
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from . import credentials
from .enforcement import get_state, must_set_up
from .exceptions import TwoStepSetupRequired, TwoStepVerificationRequired
from .issuers import AuthTokenIssuer, SessionIssuer


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

    ``issuer_class`` is the issuer whose credentials the class accepts; its ``is_verified()``
    says whether a credential passed the second step.
    """

    issuer_class: type

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            self.enforce(request, *result)
            credentials.authenticated(request)
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
        return self.issuer_class().is_verified(request, auth, state)


class TwoStepTokenAuthentication(TwoStepEnforcementMixin, TokenAuthentication):
    """
    ``Authorization: Token <key>``, as DRF's ``TokenAuthentication``; ``request.user`` is the
    token's user and ``request.auth`` the ``Token``. A 2SV user's token must be the one issued
    after the second step. The user's 2SV profile comes in the token's query.
    """

    issuer_class = AuthTokenIssuer

    def authenticate_credentials(self, key):
        model = self.get_model()
        try:
            token = model.objects.select_related("user", "user__two_step").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)


class TwoStepSessionAuthentication(TwoStepEnforcementMixin, SessionAuthentication):
    """
    Django's session, as DRF's ``SessionAuthentication`` (with its CSRF check). A 2SV user's
    session must have been marked verified by the package's login or setup flows. Where
    ``AuthenticationMiddleware``'s ``request.user`` is still unread, the user is loaded with
    their 2SV profile in one query (``session_user``): the session and the user, as DRF's.
    """

    issuer_class = SessionIssuer

    def authenticate(self, request):
        _preload_session_user(request._request)
        return super().authenticate(request)


_AUTHENTICATION_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _preload_session_user(request) -> None:
    """Resolve the middleware's lazy ``request.user`` with ``session_user`` (the middleware
    keeps what it resolves in ``request._cached_user``); a no-op once it is resolved."""
    lazy = request.__dict__.get("user")
    if (
        not isinstance(lazy, SimpleLazyObject)
        or lazy._wrapped is not empty
        or hasattr(request, "_cached_user")
        or not hasattr(request, "session")
        or _AUTHENTICATION_MIDDLEWARE not in settings.MIDDLEWARE
    ):
        return
    request._cached_user = session_user(request)


def session_user(request):
    """
    ``django.contrib.auth.get_user(request)``, with the user's 2SV profile loaded in the
    user's query when the session's backend loads users as ``ModelBackend`` does (its
    ``get_user``, inherited or itself); for any other backend, Django's own function.
    The checks are Django's: the backend must be listed in ``AUTHENTICATION_BACKENDS``, the
    user must pass ``user_can_authenticate``, and the session's hash must match the user's
    (with ``SECRET_KEY_FALLBACKS``, the session key cycled), else the session is flushed.
    """
    try:
        user_id = auth._get_user_session_key(request)
        backend_path = request.session[auth.BACKEND_SESSION_KEY]
    except KeyError:
        return auth.get_user(request)
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return auth.get_user(request)
    backend = auth.load_backend(backend_path)
    if getattr(type(backend), "get_user", None) is not ModelBackend.get_user:
        return auth.get_user(request)
    model = auth.get_user_model()
    user = model._default_manager.select_related("two_step").filter(pk=user_id).first()
    if user is not None and not backend.user_can_authenticate(user):
        user = None
    if user is not None and not _session_hash_verified(request, user):
        user = None
    return user or AnonymousUser()


def _session_hash_verified(request, user) -> bool:
    """Django's session verification (``get_user``), on ``user``."""
    if not hasattr(user, "get_session_auth_hash"):
        return True
    session_hash = request.session.get(auth.HASH_SESSION_KEY)
    session_auth_hash = user.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, session_auth_hash):
        return True
    if session_hash and any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        request.session.cycle_key()
        request.session[auth.HASH_SESSION_KEY] = session_auth_hash
        return True
    request.session.flush()
    return False


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
