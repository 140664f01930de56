"""
Credential issuers: what a completed login hands out, and how it is revoked.

``DRF_TWOSTEP["TOKEN_ISSUER"]`` names the class. The default issues DRF authtoken tokens;
``SimpleJWTIssuer``, ``KnoxIssuer`` and ``SessionIssuer`` issue Simple JWT tokens, knox tokens
and Django sessions. Each is enforced by its authentication class (docs/issuers.md). The
Simple JWT and knox packages are imported only when their issuer is used.
"""

from __future__ import annotations

import secrets

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .constants import SESSION_VERIFIED_KEY
from .crypto import keyed_digest, matches_keyed_digest
from .settings import twostep_settings

# RFC 8176 authentication method references recorded in the ``amr`` claim of a JWT: the
# password, and a one-time code (authenticator app, SMS, email or recovery code).
AMR_PASSWORD = "pwd"
AMR_SECOND_STEP = "otp"

_BLACKLIST_APP = "rest_framework_simplejwt.token_blacklist"


class BaseIssuer:
    """
    Issue and revoke credentials for a user.

    ``issue()`` returns the value put in the response's ``token`` field; ``verified`` says
    whether the user passed the second step, and ``profile`` (a ``TwoStepProfile`` or None)
    is where a marker of a verified credential may be kept for enforcement.
    ``issue_credential()`` returns every field the credential adds to the response (``token``
    and, for some issuers, more, such as Simple JWT's ``refresh``).
    """

    # Import string of the authentication class that enforces 2SV on this issuer's
    # credentials (the check drf_twostep.W002 looks for it in DEFAULT_AUTHENTICATION_CLASSES).
    authentication_class: str | None = None
    # Whether issuing at login/ and login/verify/ sends Django's user_logged_in itself (as
    # django.contrib.auth.login() does); else the flows send it.
    sends_user_logged_in = False

    def issue(self, request, user, *, verified, profile=None):
        raise NotImplementedError

    def issue_credential(self, request, user, *, verified, profile=None) -> dict:
        """The response fields of a new credential: ``{"token": issue(...)}`` by default."""
        return {"token": self.issue(request, user, verified=verified, profile=profile)}

    def revoke(self, request) -> None:
        """Revoke the credential used for ``request`` (logout)."""
        raise NotImplementedError

    def revoke_all(self, user) -> None:
        """Revoke every credential of ``user`` (2SV turned on, or reset)."""
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

    def revoke_all(self, user):
        self.get_model().objects.filter(user=user).delete()


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
        return token.key

    @staticmethod
    def is_verified(token, state) -> bool:
        """``state`` carries ``verified_credential`` (a TwoStepProfile or an EnforcementState)."""
        marker = state.verified_credential
        return bool(marker) and matches_keyed_digest(token.key, marker)


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
        return self.issue_credential(request, user, verified=verified, profile=profile)["token"]

    def issue_credential(self, request, user, *, verified, profile=None):
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

    @staticmethod
    def is_verified(token) -> bool:
        """Whether the validated token ``token`` records the second step in ``amr``."""
        amr = token.get("amr")
        return isinstance(amr, list) and AMR_SECOND_STEP in amr

    def revoke(self, request):
        token = getattr(request, "auth", None)
        sid = token.get("sid") if hasattr(token, "get") else None
        if sid and self.blacklist_installed():
            self._blacklist(request.user, sid=sid)

    def revoke_all(self, user):
        if self.blacklist_installed():
            self._blacklist(user)

    @staticmethod
    def _blacklist(user, sid=None) -> None:
        """Blacklist the user's unexpired refresh tokens (only those of the sign-in ``sid``)."""
        from rest_framework_simplejwt.state import token_backend
        from rest_framework_simplejwt.token_blacklist.models import (
            BlacklistedToken,
            OutstandingToken,
        )

        outstanding = OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        )
        for token in outstanding:
            if sid is not None and token.jti != sid:
                # A rotated refresh token carries its sign-in's sid.
                if token_backend.decode(token.token, verify=False).get("sid") != sid:
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
        return self.issue_credential(request, user, verified=verified, profile=profile)["token"]

    def issue_credential(self, request, user, *, verified, profile=None):
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

    @classmethod
    def _tag(cls, value: str) -> str:
        return keyed_digest("knox:" + value)[: cls.TAG_LENGTH]

    @classmethod
    def is_verified(cls, token: str) -> bool:
        """Whether the raw token ``token`` was issued after the second step."""
        if len(token) <= cls.TAG_LENGTH:
            return False
        body, tag = token[: -cls.TAG_LENGTH], token[-cls.TAG_LENGTH :]
        return matches_keyed_digest("knox:" + body, tag, cls.TAG_LENGTH)

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
    ``X-CSRFToken`` header. Logout ends the session. Turning 2SV on and a reset end the
    user's other sessions when sessions are kept in the database (the ``db`` and
    ``cached_db`` engines); other engines cannot list a user's sessions (docs/issuers.md).
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
        return None

    def revoke(self, request):
        from django.contrib.auth import logout as django_logout

        django_logout(getattr(request, "_request", request))

    def revoke_all(self, user):
        from importlib import import_module

        from django.conf import settings
        from django.contrib.auth import SESSION_KEY

        store = import_module(settings.SESSION_ENGINE).SessionStore
        if not hasattr(store, "get_model_class"):
            return  # cache, file and cookie sessions cannot be listed per user
        user_key = str(user._meta.pk.value_to_string(user))
        sessions = store.get_model_class().objects.filter(expire_date__gt=timezone.now())
        for session in sessions.iterator():
            if str(session.get_decoded().get(SESSION_KEY)) == user_key:
                store(session.session_key).delete()

    @classmethod
    def check(cls):
        if not apps.is_installed("django.contrib.sessions"):
            return ["it needs 'django.contrib.sessions' in INSTALLED_APPS"]
        return []


def get_issuer() -> BaseIssuer:
    return twostep_settings.TOKEN_ISSUER()


def mark_session_verified(request) -> None:
    """Mark the request's Django session as having passed the second step."""
    session = getattr(getattr(request, "_request", request), "session", None)
    if session is not None:
        session.cycle_key()
        session[SESSION_VERIFIED_KEY] = True
