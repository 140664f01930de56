"""
Credentials follow the password: when a user's password changes, by any path that sets it
(``set_password()`` and ``save()``: the API of a project, the admin, ``changepassword``), the
user's API credentials of every issuer are revoked, except the one the change was made with
(``PASSWORD_CHANGE_KEEPS_CURRENT_CREDENTIAL``). Django's own session hash already ends the
other sessions.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_save

from .settings import twostep_settings

# The request being served, if the package's authentication classes accepted its credential;
# cleared when a request starts and when it finishes.
_current_request: ContextVar = ContextVar("drf_twostep_current_request", default=None)


def authenticated(request) -> None:
    """Record that ``request`` was authenticated by one of the package's classes."""
    _current_request.set(request)


def current_request():
    return _current_request.get()


def _forget(**kwargs):
    _current_request.set(None)


def api_issuers() -> list:
    """An instance of every issuer of API credentials that the project has installed."""
    from .issuers import AuthTokenIssuer, BaseIssuer, KnoxIssuer, SimpleJWTIssuer

    found: list[BaseIssuer] = []
    if apps.is_installed("rest_framework.authtoken"):
        found.append(AuthTokenIssuer())
    if apps.is_installed("knox"):
        found.append(KnoxIssuer())
    if SimpleJWTIssuer.blacklist_installed():
        found.append(SimpleJWTIssuer())
    return found


def revoke_api_credentials(user, *, keep=None) -> None:
    """Revoke the API credentials of ``user`` of every installed issuer, but ``keep``'s."""
    for issuer in api_issuers():
        issuer.revoke_all(user, keep=keep)


def _user_saved(sender, instance, created=False, raw=False, **kwargs):
    # AbstractBaseUser.set_password() keeps the new password in _password until save() has
    # run the validators' password_changed hooks, after this signal.
    if created or raw or getattr(instance, "_password", None) is None:
        return
    keep = current_request() if twostep_settings.PASSWORD_CHANGE_KEEPS_CURRENT_CREDENTIAL else None
    if keep is not None and getattr(keep, "user", None) != instance:
        keep = None
    revoke_api_credentials(instance, keep=keep)
    # Trusted devices are bound to the password they were remembered under; forget them.
    from .services.devices import forget_all

    forget_all(instance)


def connect() -> None:
    request_started.connect(_forget, dispatch_uid="drf_twostep.credentials")
    request_finished.connect(_forget, dispatch_uid="drf_twostep.credentials")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="drf_twostep.credentials")
