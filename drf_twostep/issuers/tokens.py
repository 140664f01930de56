"""Issuers of tokens kept as rows: DRF's authtoken and django-rest-knox."""

from __future__ import annotations

import secrets

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from ..crypto import keyed_digest, matches_keyed_digest
from .base import _StoredTokenIssuer


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

    def _relation(self):
        return self.get_model()._meta.get_field("user").remote_field

    def user_relations(self):
        return (self._relation().get_accessor_name(),)

    def revoke(self, request):
        super().revoke(request)
        self._forget(getattr(request, "user", None))

    def revoke_all(self, user, *, keep=None):
        super().revoke_all(user, keep=keep)
        self._forget(user)

    def _forget(self, user):
        """Drop the token cached on ``user`` (it may just have been deleted)."""
        relation = self._relation()
        if user is not None and relation.is_cached(user):
            relation.delete_cached_value(user)

    def issue(self, request, user, *, verified, profile=None, amr=None):
        relation = self._relation()
        if relation.is_cached(user):
            # Loaded with the user (user_relations): the token, or None. A token made meanwhile
            # by another path makes the INSERT fail, and with it the caller's transaction.
            token = relation.get_cached_value(user) or self.get_model().objects.create(user=user)
        else:
            token, _ = self.get_model().objects.get_or_create(user=user)
        if verified and profile is not None:
            profile.verified_credential = keyed_digest(token.key)
        return {"token": token.key}

    def is_verified(self, request, auth, state):
        marker = state.verified_credential
        return bool(marker) and matches_keyed_digest(auth.key, marker)


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

    def issue(self, request, user, *, verified, profile=None, amr=None):
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
