"""
Sending text messages, the way ``django.core.mail`` sends email: ``send_sms(to, message)``
goes through the backend named in ``DRF_TWOSTEP["SMS_BACKEND"]``.

``outbox`` holds what the in-memory backend (``drf_twostep.sms.backends.locmem``) sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import twostep_settings


@dataclass(frozen=True)
class TextMessage:
    to: str
    body: str
    sender: str = ""


# Messages sent by the in-memory backend, oldest first. Tests clear it.
outbox: list[TextMessage] = []


def get_backend():
    """An instance of the configured SMS backend."""
    return twostep_settings.SMS_BACKEND()


def send_sms(to: str, message: str) -> None:
    """Send ``message`` to the E.164 number ``to``; ``DeliveryFailed`` if the backend cannot."""
    get_backend().send(TextMessage(to=to, body=message, sender=twostep_settings.SMS_SENDER))
