"""
Credential issuers: what a completed login hands out, and how it is revoked.

``DRF_TWOSTEP["TOKEN_ISSUER"]`` names the class. The default issues DRF authtoken tokens;
``SimpleJWTIssuer``, ``KnoxIssuer`` and ``SessionIssuer`` issue Simple JWT tokens, knox tokens
and Django sessions. Each is enforced by its authentication class (docs/issuers.md). The
Simple JWT and knox packages are imported only when their issuer is used.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from datetime import timezone as dt_timezone
from importlib import import_module

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .constants import SESSION_VERIFIED_AT_KEY, SESSION_VERIFIED_KEY
from .crypto import keyed_digest, matches_keyed_digest
from .models import TwoStepSession
from .settings import twostep_settings

# RFC 8176 authentication method references recorded in the ``amr`` claim of a JWT: the
# password, and a one-time code (authenticator app, SMS, email or recovery code).
AMR_PASSWORD = "pwd"
AMR_SECOND_STEP = "otp"

_BLACKLIST_APP = "rest_framework_simplejwt.token_blacklist"


class BaseIssuer:
    """
    Issue, check and revoke the credentials a completed login hands out.

    Subclasses implement ``issue()``, ``is_verified()``, ``revoke()`` and ``revoke_all()``.
    """

    # Import string of the authentication class that enforces 2SV on this issuer's
    # credentials (the check drf_twostep.W002 looks for it in DEFAULT_AUTHENTICATION_CLASSES).
    authentication_class: str | None = None
    # Whether issuing at login/ and login/verify/ sends Django's user_logged_in itself (as
    # django.contrib.auth.login() does); else the flows send it.
    sends_user_logged_in = False

    def issue(self, request, user, *, verified, profile=None) -> dict:
        """
        A new credential for ``user``, as the response fields it adds: ``token`` and, for
        some issuers, more (Simple JWT's ``refresh``, knox's ``expiry``). ``verified`` says
        whether the user passed the second step; ``profile`` (their locked
        ``TwoStepProfile``, or None) is where a marker of a verified credential may be kept,
        and the caller saves it.
        """
        raise NotImplementedError

    def is_verified(self, request, auth, state) -> bool:
        """Whether ``auth`` (``request.auth`` as this issuer's authentication class sets it)
        passed the second step; ``state`` is the user's ``EnforcementState``."""
        raise NotImplementedError

    def verified_at(self, request, auth, state) -> datetime | None:
        """When ``auth`` last passed a second step (the sign-in, or a re-verification), None
        if it never did. By default the user's last verification, for issuers whose
        credentials all verify together (DRF's one token per user)."""
        return state.last_verified_at if self.is_verified(request, auth, state) else None

    def reverify(self, request, user, profile) -> dict:
        """Mark the request's credential as verified now (``two-step/reverify/``); returns
        the response fields of a new credential when the issuer must hand one out (Simple
        JWT, knox), else nothing. ``profile`` is locked, and saved by the caller."""
        profile.last_verified_at = timezone.now()
        return {}

    def revoke(self, request) -> None:
        """Revoke the credential used for ``request`` (logout)."""
        raise NotImplementedError

    def revoke_all(self, user, *, keep=None) -> None:
        """Revoke every credential of ``user`` (2SV turned on or off, a reset, a new
        password), except the one ``keep`` (a request) was made with, if it is this
        issuer's."""
        raise NotImplementedError

    @classmethod
    def check(cls) -> list[str]:
        """What this issuer lacks in the project's configuration (for the system checks)."""
        return []


class _StoredTokenIssuer(BaseIssuer):
    """Tokens kept as rows of ``get_model()`` that belong to a user: deleting one revokes it."""

    def get_model(self):
        raise NotImplementedError

    def revoke(self, request):
        token = getattr(request, "auth", None)
        if isinstance(token, self.get_model()):
            token.delete()

    def revoke_all(self, user, *, keep=None):
        tokens = self.get_model().objects.filter(user=user)
        current = getattr(keep, "auth", None)
        if isinstance(current, self.get_model()):
            tokens = tokens.exclude(pk=current.pk)
        tokens.delete()


class AuthTokenIssuer(_StoredTokenIssuer):
    """
    DRF's ``rest_framework.authtoken`` tokens (one per user).

    The keyed digest of a token issued after the second step is kept on the user's
    ``TwoStepProfile``; ``TwoStepTokenAuthentication`` accepts a 2SV user's token only if it
    matches, so a token minted elsewhere (``obtain_auth_token``, the admin) does not bypass 2SV.
    """

    authentication_class = "drf_twostep.authentication.TwoStepTokenAuthentication"

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
        return {"token": token.key}

    def is_verified(self, request, auth, state):
        marker = state.verified_credential
        return bool(marker) and matches_keyed_digest(auth.key, marker)


class SimpleJWTIssuer(BaseIssuer):
    """
    Simple JWT (``djangorestframework-simplejwt``): ``token`` is an access token and
    ``refresh`` its refresh token, made as Simple JWT's own views make them (its ``SIMPLE_JWT``
    settings apply), with three claims added, which refreshed tokens keep:

    - ``amr`` (RFC 8176): ``["pwd"]`` after the password alone, ``["pwd", "otp"]`` after the
      second step. ``TwoStepJWTAuthentication`` refuses a 2SV user's token without ``"otp"``,
      so tokens from Simple JWT's password-only views do not bypass 2SV.
    - ``auth_time`` (OpenID Connect): when the user passed the last step, in epoch seconds.
    - ``sid``: the sign-in the tokens belong to, the ``jti`` of its first refresh token.

    With ``rest_framework_simplejwt.token_blacklist`` installed, logout blacklists the refresh
    tokens of the sign-in, and turning 2SV on or a reset blacklists all the user's refresh
    tokens. Access tokens cannot be revoked: they stay valid until they expire
    (``ACCESS_TOKEN_LIFETIME``), so keep them short-lived.
    """

    authentication_class = "drf_twostep.authentication.TwoStepJWTAuthentication"

    def issue(self, request, user, *, verified, profile=None):
        from rest_framework_simplejwt.settings import api_settings
        from rest_framework_simplejwt.tokens import RefreshToken

        refresh = RefreshToken.for_user(user)
        refresh["amr"] = [AMR_PASSWORD, AMR_SECOND_STEP] if verified else [AMR_PASSWORD]
        refresh["auth_time"] = int(timezone.now().timestamp())
        refresh["sid"] = refresh[api_settings.JTI_CLAIM]
        if self.blacklist_installed():
            # for_user() stored the token before the claims above were added.
            from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

            OutstandingToken.objects.filter(jti=refresh[api_settings.JTI_CLAIM]).update(
                token=str(refresh)
            )
        return {"token": str(refresh.access_token), "refresh": str(refresh)}

    @staticmethod
    def blacklist_installed() -> bool:
        return apps.is_installed(_BLACKLIST_APP)

    def is_verified(self, request, auth, state):
        """Whether the validated token records the second step in its ``amr`` claim."""
        amr = auth.get("amr")
        return isinstance(amr, list) and AMR_SECOND_STEP in amr

    def verified_at(self, request, auth, state):
        """The ``auth_time`` claim of a token that records the second step."""
        auth_time = auth.get("auth_time") if self.is_verified(request, auth, state) else None
        if not isinstance(auth_time, int):
            return None
        return datetime.fromtimestamp(auth_time, tz=dt_timezone.utc)

    def reverify(self, request, user, profile):
        """A new access and refresh token of the same sign-in (``sid``), with ``auth_time``
        now: access tokens cannot be changed once issued."""
        fields = self.issue(request, user, verified=True, profile=profile)
        sid = request.auth.get("sid")
        if sid:
            from rest_framework_simplejwt.tokens import RefreshToken

            refresh = RefreshToken(fields["refresh"])
            refresh["sid"] = sid
            fields = {"token": str(refresh.access_token), "refresh": str(refresh)}
            if self.blacklist_installed():
                from rest_framework_simplejwt.settings import api_settings
                from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

                OutstandingToken.objects.filter(jti=refresh[api_settings.JTI_CLAIM]).update(
                    token=str(refresh)
                )
        profile.last_verified_at = timezone.now()
        return fields

    def revoke(self, request):
        token = getattr(request, "auth", None)
        sid = token.get("sid") if hasattr(token, "get") else None
        if sid and self.blacklist_installed():
            self._blacklist(request.user, sid=sid)

    def revoke_all(self, user, *, keep=None):
        if self.blacklist_installed():
            current = getattr(keep, "auth", None)
            self._blacklist(user, keep_sid=current.get("sid") if hasattr(current, "get") else None)

    @staticmethod
    def _blacklist(user, sid=None, keep_sid=None) -> None:
        """Blacklist the user's unexpired refresh tokens: only those of the sign-in ``sid``,
        or all but those of the sign-in ``keep_sid``."""
        from rest_framework_simplejwt.state import token_backend
        from rest_framework_simplejwt.token_blacklist.models import (
            BlacklistedToken,
            OutstandingToken,
        )

        outstanding = OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        )
        for token in outstanding:
            if sid is not None or keep_sid is not None:
                # A rotated refresh token carries its sign-in's sid.
                found = token.jti if token.jti in (sid, keep_sid) else None
                found = found or token_backend.decode(token.token, verify=False).get("sid")
                if (sid is not None and found != sid) or (
                    keep_sid is not None and found == keep_sid
                ):
                    continue
            BlacklistedToken.objects.get_or_create(token=token)

    @classmethod
    def check(cls):
        try:
            import rest_framework_simplejwt  # noqa: F401
        except ImportError:
            return ["it needs djangorestframework-simplejwt: pip install 'drf-twostep[jwt]'"]
        return []


class KnoxIssuer(_StoredTokenIssuer):
    """
    django-rest-knox tokens (``Authorization: Token <token>`` by default), one per sign-in,
    stored as knox stores them (a digest) and expiring after knox's ``TOKEN_TTL``. The
    response has the ``token`` and its ``expiry``.

    A token issued after the second step ends in a keyed tag of the rest of it;
    ``TwoStepKnoxAuthentication`` accepts a 2SV user's token only with a valid tag, so tokens
    from knox's password-only ``LoginView`` do not bypass 2SV. Logout deletes the token;
    turning 2SV on and a reset delete all the user's tokens.
    """

    authentication_class = "drf_twostep.authentication.TwoStepKnoxAuthentication"

    TAG_LENGTH = 16  # hex digits: 64 bits

    def get_model(self):
        from knox.models import get_token_model

        return get_token_model()

    def issue(self, request, user, *, verified, profile=None):
        from knox.crypto import hash_token
        from knox.settings import CONSTANTS, knox_settings

        prefix = knox_settings.TOKEN_PREFIX
        length = knox_settings.AUTH_TOKEN_CHARACTER_LENGTH
        if verified:
            body = secrets.token_hex(length // 2)[: length - self.TAG_LENGTH]
            token = prefix + body + self._tag(prefix + body)
        else:
            token = prefix + secrets.token_hex(length // 2)
        ttl = knox_settings.TOKEN_TTL
        expiry = timezone.now() + ttl if ttl is not None else None
        instance = self.get_model()(
            token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH],
            digest=hash_token(token),
            user=user,
            expiry=expiry,
        )
        instance.save(force_insert=True)
        return {"token": token, "expiry": expiry.isoformat() if expiry else None}

    def verified_at(self, request, auth, state):
        """Knox tokens verify when they are made: the token's ``created``."""
        return auth.created if self.is_verified(request, auth, state) else None

    def reverify(self, request, user, profile):
        """A new token in place of the request's (knox keeps only digests)."""
        fields = self.issue(request, user, verified=True, profile=profile)
        request.auth.delete()
        profile.last_verified_at = timezone.now()
        return fields

    @classmethod
    def _tag(cls, value: str) -> str:
        return keyed_digest("knox:" + value)[: cls.TAG_LENGTH]

    def is_verified(self, request, auth, state):
        """Whether the token the request presented (knox keeps only a digest) ends in a valid
        tag, so was issued after the second step."""
        from rest_framework.authentication import get_authorization_header

        parts = get_authorization_header(request).split()
        if len(parts) != 2 or len(parts[1]) <= self.TAG_LENGTH:
            return False
        token = parts[1].decode(errors="replace")
        body, tag = token[: -self.TAG_LENGTH], token[-self.TAG_LENGTH :]
        return matches_keyed_digest("knox:" + body, tag, self.TAG_LENGTH)

    @classmethod
    def check(cls):
        try:
            import knox  # noqa: F401
        except ImportError:
            return ["it needs django-rest-knox: pip install 'drf-twostep[knox]'"]
        if not apps.is_installed("knox"):
            return ["it needs 'knox' in INSTALLED_APPS"]
        return []


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

    def issue(self, request, user, *, verified, profile=None):
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


def get_issuer() -> BaseIssuer:
    return twostep_settings.TOKEN_ISSUER()


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
