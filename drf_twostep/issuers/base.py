"""The issuer interface, and the base of issuers whose tokens are rows."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ..constants import AMR_HARDWARE_KEY, AMR_SOFTWARE_KEY

# RFC 8176 authentication method references recorded in the ``amr`` claim of a JWT: the
# password, and a one-time code (authenticator app, SMS, email or recovery code). A passkey
# is a hardware- or software-secured key (constants.py); any of these second steps makes a
# token verified.
AMR_PASSWORD = "pwd"
AMR_SECOND_STEP = "otp"
AMR_SECOND_STEPS = frozenset({AMR_SECOND_STEP, AMR_HARDWARE_KEY, AMR_SOFTWARE_KEY})


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

    def issue(self, request, user, *, verified, profile=None, amr=None) -> dict:
        """
        A new credential for ``user``, as the response fields it adds: ``token`` and, for
        some issuers, more (Simple JWT's ``refresh``, knox's ``expiry``). ``verified`` says
        whether the user passed the second step; ``profile`` (their locked
        ``TwoStepProfile``, or None) is where a marker of a verified credential may be kept,
        and the caller saves it. ``amr`` names the steps passed as RFC 8176 does, and is
        given only when they were not the password and a code: after a passkey (``["pwd",
        "hwk"]``, ``"swk"`` for a synced one) or a passkey alone (``["hwk", "mfa"]``).
        """
        raise NotImplementedError

    def user_relations(self) -> tuple[str, ...]:
        """The one-to-one relations of the user (accessor names) that ``issue()`` reads: the
        second step loads them in the statement that loads the user, so that ``issue()``
        finds them cached on it (``None`` for no row) and needs no query to look."""
        return ()

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
