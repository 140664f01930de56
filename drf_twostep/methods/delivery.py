"""
What SMS and email methods share: codes that the server makes, sends and checks.

A code is ``DELIVERED_CODE_DIGITS`` random digits from ``secrets``, stored only as a keyed
digest bound to its method and to one login challenge (or to the method's pending setup), and
valid for ``DELIVERED_CODE_LIFETIME`` seconds. Sending a new code for the same binding deletes
the previous one; a code is deleted when used and after ``MAX_ATTEMPTS_PER_CHALLENGE`` wrong
tries. Subclasses say how to validate a destination and how to deliver.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from .. import crypto
from ..exceptions import InvalidCode
from ..settings import twostep_settings
from .base import BaseMethod


def new_code() -> str:
    digits = twostep_settings.DELIVERED_CODE_DIGITS
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def _binding(method, challenge, code: str) -> str:
    return f"delivered-code:{method.pk}:{getattr(challenge, 'pk', '') or ''}:{code}"


def code_digest(method, challenge, code: str) -> str:
    """The stored form of ``code``: an HMAC that also binds the method and the challenge, so
    a digest copied to another row or challenge matches nothing."""
    return crypto.keyed_digest(_binding(method, challenge, code))


class DeliveredCodeMethod(BaseMethod):
    """Base for methods whose codes the server sends (SMS, email)."""

    sends_code = True

    # -- what a kind provides -----------------------------------------------------------

    @classmethod
    def clean_destination(cls, user, data) -> str:
        """The destination (phone number, address) from the setup ``data``, validated;
        raises ``serializers.ValidationError``."""
        raise NotImplementedError

    @classmethod
    def default_name(cls, destination: str) -> str:
        raise NotImplementedError

    def deliver(self, code: str, *, purpose: str, lifetime: int) -> None:
        """Send ``code`` to ``self.instance.destination``; raise ``DeliveryFailed`` if it
        cannot be sent. ``purpose`` is ``"login"`` or ``"setup"``."""
        raise NotImplementedError

    # -- the common flow ----------------------------------------------------------------

    @classmethod
    def begin_setup(cls, instance, data):
        instance.destination = cls.clean_destination(instance.user, data)
        if not instance.name:
            instance.name = cls.default_name(instance.destination)
        return {}

    def send_code(self, challenge=None) -> int:
        """A fresh code for this method and ``challenge`` (None: the pending setup); the
        previous one for the same binding stops working. Returns its lifetime in seconds."""
        from ..models import DeliveredCode

        lifetime = twostep_settings.DELIVERED_CODE_LIFETIME
        code = new_code()
        now = timezone.now()
        self._codes(challenge).delete()
        DeliveredCode.objects.create(
            method=self.instance,
            challenge=challenge,
            digest=code_digest(self.instance, challenge, code),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
        self.deliver(code, purpose="login" if challenge else "setup", lifetime=lifetime)
        return lifetime

    def verify(self, code, challenge=None):
        """Accept the code sent for ``challenge`` (None: the pending setup) once. A wrong code
        counts on the sent code, which stops working after MAX_ATTEMPTS_PER_CHALLENGE."""
        sent = self._codes(challenge).filter(expires_at__gt=timezone.now()).order_by("-pk").first()
        if sent is None:
            raise InvalidCode(detail=_no_code_detail())
        if not crypto.matches_keyed_digest(_binding(self.instance, challenge, code), sent.digest):
            sent.failed_attempts = F("failed_attempts") + 1
            sent.save(update_fields=["failed_attempts"])
            sent.refresh_from_db(fields=["failed_attempts"])
            if sent.failed_attempts >= twostep_settings.MAX_ATTEMPTS_PER_CHALLENGE:
                sent.delete()
            raise InvalidCode(detail=_wrong_code_detail())
        # The caller holds the user's profile lock; deleting the row makes the code single use.
        if not type(sent).objects.filter(pk=sent.pk).delete()[0]:
            raise InvalidCode(detail=_no_code_detail())
        now = timezone.now()
        type(self.instance).objects.filter(pk=self.instance.pk).update(last_used_at=now)
        self.instance.last_used_at = now

    def _codes(self, challenge):
        from ..models import DeliveredCode

        codes = DeliveredCode.objects.filter(method=self.instance)
        if challenge is None:
            return codes.filter(challenge__isnull=True)
        return codes.filter(challenge=challenge)


def _no_code_detail():
    from django.utils.translation import gettext

    return gettext("No valid code was sent for this sign-in or it expired. Ask for a new code.")


def _wrong_code_detail():
    from django.utils.translation import gettext

    return gettext("That code is not right. Check the latest message and try again.")
