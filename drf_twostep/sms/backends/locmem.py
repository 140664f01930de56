"""An SMS backend for tests: messages are appended to ``drf_twostep.sms.outbox``."""

from __future__ import annotations

from .base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    def send(self, message):
        from .. import outbox

        outbox.append(message)
