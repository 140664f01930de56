"""The Simple JWT issuer: access and refresh tokens, the sign-in's claims, the blacklist."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

from django.apps import apps
from django.utils import timezone

from .base import AMR_PASSWORD, AMR_SECOND_STEP, AMR_SECOND_STEPS, BaseIssuer

_BLACKLIST_APP = "rest_framework_simplejwt.token_blacklist"


class SimpleJWTIssuer(BaseIssuer):
    """
    Simple JWT (``djangorestframework-simplejwt``): ``token`` is an access token and
    ``refresh`` its refresh token, made as Simple JWT's own views make them (its ``SIMPLE_JWT``
    settings apply), with three claims added, which refreshed tokens keep:

    - ``amr`` (RFC 8176): ``["pwd"]`` after the password alone, ``["pwd", "otp"]`` after a
      code as the second step, ``["pwd", "hwk"]`` after a passkey (``"swk"`` for a synced
      one), ``["hwk", "mfa"]`` after a passkey alone. ``TwoStepJWTAuthentication`` refuses a
      2SV user's token without a second step (``"otp"``, ``"hwk"`` or ``"swk"``), so tokens
      from Simple JWT's password-only views do not bypass 2SV.
    - ``auth_time`` (OpenID Connect): when the user passed the last step, in epoch seconds.
    - ``sid``: the sign-in the tokens belong to, the ``jti`` of its first refresh token.

    With ``rest_framework_simplejwt.token_blacklist`` installed, logout blacklists the refresh
    tokens of the sign-in, and turning 2SV on or a reset blacklists all the user's refresh
    tokens. Access tokens cannot be revoked: they stay valid until they expire
    (``ACCESS_TOKEN_LIFETIME``), so keep them short-lived.
    """

    authentication_class = "drf_twostep.authentication.TwoStepJWTAuthentication"

    def issue(self, request, user, *, verified, profile=None, amr=None):
        from rest_framework_simplejwt.settings import api_settings
        from rest_framework_simplejwt.tokens import RefreshToken

        refresh = RefreshToken.for_user(user)
        if amr is None:
            amr = [AMR_PASSWORD, AMR_SECOND_STEP] if verified else [AMR_PASSWORD]
        refresh["amr"] = list(amr)
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
        return isinstance(amr, list) and any(
            isinstance(ref, str) and ref in AMR_SECOND_STEPS for ref in amr
        )

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
