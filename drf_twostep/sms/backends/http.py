"""
An SMS backend that POSTs each message as JSON to a provider's HTTP API.

Configure ``SMS_HTTP_URL``, ``SMS_HTTP_BODY`` (a JSON-able template whose strings may use
``{to}``, ``{message}`` and ``{sender}``), ``SMS_HTTP_AUTH_HEADER`` and ``SMS_HTTP_TIMEOUT``.
Any answer other than 2xx, and any network error or timeout, is ``DeliveryFailed``.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from django.core.exceptions import ImproperlyConfigured

from ...exceptions import DeliveryFailed
from ...settings import twostep_settings
from .base import BaseSmsBackend

logger = logging.getLogger("drf_twostep.sms")


def render_body(template, values: dict):
    """``template`` with ``{to}``, ``{message}`` and ``{sender}`` filled in every string."""
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, dict):
        return {key: render_body(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [render_body(value, values) for value in template]
    return template


class SmsBackend(BaseSmsBackend):
    def __init__(self):
        self.url = twostep_settings.SMS_HTTP_URL
        if not self.url:
            raise ImproperlyConfigured(
                "DRF_TWOSTEP['SMS_HTTP_URL'] must be set to use the HTTP SMS backend."
            )
        self.body = twostep_settings.SMS_HTTP_BODY
        self.auth_header = twostep_settings.SMS_HTTP_AUTH_HEADER
        self.timeout = twostep_settings.SMS_HTTP_TIMEOUT

    def send(self, message):
        values = {"to": message.to, "message": message.body, "sender": message.sender}
        payload = json.dumps(render_body(self.body, values)).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.auth_header:
            headers["Authorization"] = self.auth_header
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            # The number is not logged: it is personal data, and the provider has it.
            logger.warning("SMS provider answered HTTP %s", exc.code)
            raise DeliveryFailed() from exc
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
            logger.warning("SMS provider unreachable: %s", exc.__class__.__name__)
            raise DeliveryFailed() from exc
