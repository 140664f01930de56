"""The Django session issuer, and the sessions it tracks so that revoking is one delete."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from importlib import import_module

from django.apps import apps
from django.utils import timezone

from ..constants import SESSION_VERIFIED_AT_KEY, SESSION_VERIFIED_KEY
from ..models import TwoStepSession
from .base import BaseIssuer


class SessionIssuer(BaseIssuer):
    """
    Django sessions, for browser clients. A completed login logs the request's session in
    (``django.contrib.auth.login``: a new session key and CSRF token) and, after the second
    step, marks it verified for ``TwoStepSessionAuthentication``; ``token`` is ``null``.

    The requests that log a session in (``login/``, ``login/verify/`` and the confirmation
    that turns 2SV on) must pass Django's CSRF check, as DRF's ``SessionAuthentication``
    requires of authenticated requests: send the ``csrftoken`` cookie's value in the
    ``X-CSRFToken`` header. Logout ends the session. The sessions it signs in are recorded
    (``TwoStepSession``), so turning 2SV on and a reset end the user's other sessions with
    any server-side session engine (not signed cookies), without reading other sessions.
    """

    authentication_class = "drf_twostep.authentication.TwoStepSessionAuthentication"
    sends_user_logged_in = True

    def issue(self, request, user, *, verified, profile=None, amr=None):
        from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
        from django.contrib.auth import login as django_login
        from rest_framework.authentication import SessionAuthentication

        # DRF's check, on the DRF request: it reads a form's csrfmiddlewaretoken from the
        # parsed data (the body stream has been read).
        SessionAuthentication().enforce_csrf(request)
        django_request = getattr(request, "_request", request)
        session = django_request.session
        signed_in = getattr(request, "user", None) == user and session.get(
            SESSION_KEY
        ) == user._meta.pk.value_to_string(user)
        if not signed_in:
            # A sign-in (login/, login/verify/): Django's login(), which sends user_logged_in.
            # A session that turns 2SV on is already signed in: it only gets a new key below.
            backend = getattr(user, "backend", None) or session.get(BACKEND_SESSION_KEY)
            django_login(django_request, user, backend=backend)
        if verified:
            mark_session_verified(request)
        _track(session, user)
        return {"token": None}

    def is_verified(self, request, auth, state):
        session = getattr(getattr(request, "_request", request), "session", None)
        return bool(session is not None and session.get(SESSION_VERIFIED_KEY) is True)

    def verified_at(self, request, auth, state):
        session = getattr(getattr(request, "_request", request), "session", None)
        if not self.is_verified(request, auth, state):
            return None
        at = session.get(SESSION_VERIFIED_AT_KEY)
        if isinstance(at, int):
            return datetime.fromtimestamp(at, tz=dt_timezone.utc)
        return state.last_verified_at  # a session verified before the time was kept

    def reverify(self, request, user, profile):
        session = getattr(request, "_request", request).session
        session[SESSION_VERIFIED_AT_KEY] = int(timezone.now().timestamp())
        profile.last_verified_at = timezone.now()
        return {}

    def revoke(self, request):
        from django.contrib.auth import logout as django_logout

        django_request = getattr(request, "_request", request)
        key = django_request.session.session_key
        django_logout(django_request)
        if key:
            TwoStepSession.objects.filter(session_key=key).delete()

    def revoke_all(self, user, *, keep=None):
        store = _session_store()
        tracked = TwoStepSession.objects.filter(user=user)
        session = getattr(getattr(keep, "_request", keep), "session", None)
        if session is not None and session.session_key:
            tracked = tracked.exclude(session_key=session.session_key)
        if _database_sessions(store):
            # One indexed delete, whatever the number of sessions.
            store.get_model_class().objects.filter(
                session_key__in=tracked.values("session_key")
            ).delete()
        else:
            for key in tracked.values_list("session_key", flat=True):
                store(key).delete()
        tracked.delete()

    @classmethod
    def check(cls):
        if not apps.is_installed("django.contrib.sessions"):
            return ["it needs 'django.contrib.sessions' in INSTALLED_APPS"]
        return []


def _session_store():
    from django.conf import settings

    return import_module(settings.SESSION_ENGINE).SessionStore


def _database_sessions(store) -> bool:
    """Sessions kept in the database alone (Django's ``db`` engine or a subclass)."""
    from django.contrib.sessions.backends.cached_db import SessionStore as CachedDb
    from django.contrib.sessions.backends.db import SessionStore as Db

    return issubclass(store, Db) and not issubclass(store, CachedDb)


def _track(session, user) -> None:
    """Record that ``session`` (now under its current key) is signed in as ``user``."""
    if session.session_key is None:
        session.save()
    TwoStepSession.objects.update_or_create(
        session_key=session.session_key, defaults={"user_id": user.pk}
    )


def mark_session_verified(request) -> None:
    """Mark the request's Django session as having passed the second step (under a new key)."""
    session = getattr(getattr(request, "_request", request), "session", None)
    if session is None:
        return
    previous = session.session_key
    session.cycle_key()
    session[SESSION_VERIFIED_KEY] = True
    session[SESSION_VERIFIED_AT_KEY] = int(timezone.now().timestamp())
    if previous:
        TwoStepSession.objects.filter(session_key=previous).update(session_key=session.session_key)
