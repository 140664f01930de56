"""
The adapter: what a project may change without touching the verification rules.

Point ``DRF_TWOSTEP["ADAPTER"]`` at a subclass of ``DefaultTwoStepAdapter`` and override the
hooks you need.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from .settings import twostep_settings

logger = logging.getLogger("drf_twostep")


class DefaultTwoStepAdapter:
    """Default hooks: naming, notifications, client metadata and the 2SV requirement."""

    def get_issuer_name(self) -> str:
        """Name shown in authenticator apps and on the recovery-code PDF (never with ':')."""
        name = twostep_settings.ISSUER_NAME
        if not name and apps.is_installed("django.contrib.sites"):
            from django.contrib.sites.models import Site

            try:
                name = Site.objects.get_current().name
            except Exception:  # no Site row or no SITE_ID: fall back below
                name = None
        return (name or "Django").replace(":", " ").strip()

    def get_account_name(self, user) -> str:
        """The account label shown in authenticator apps: the email, else the username."""
        name = getattr(user, "email", "") or user.get_username()
        return name.replace(":", " ").strip()

    def is_two_step_required(self, user) -> bool:
        """Whether ``user`` must have 2SV although they have not turned it on."""
        return False

    def get_client_ip(self, request) -> str | None:
        """The client's address for security events."""
        if request is None:
            return None
        if twostep_settings.TRUST_X_FORWARDED_FOR:
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                return forwarded.split(",")[0].strip() or None
        return request.META.get("REMOTE_ADDR") or None

    def get_user_agent(self, request) -> str:
        if request is None:
            return ""
        return request.META.get("HTTP_USER_AGENT", "")[:255]

    def can_notify(self, user, kind) -> bool:
        return bool(twostep_settings.NOTIFICATIONS_ENABLED and getattr(user, "email", ""))

    def send_notification(self, user, kind, context) -> None:
        """
        Email ``user`` about security event ``kind``. Templates:
        ``drf_twostep/email/<kind>_subject.txt`` and ``drf_twostep/email/<kind>_message.txt``.
        """
        if not self.can_notify(user, kind):
            return
        context = {"user": user, "site_name": self.get_issuer_name(), **context}
        subject = render_to_string(f"drf_twostep/email/{kind}_subject.txt", context)
        message = render_to_string(f"drf_twostep/email/{kind}_message.txt", context)
        try:
            send_mail(
                " ".join(subject.split()),
                message,
                getattr(settings, "DEFAULT_FROM_EMAIL", None),
                [user.email],
            )
        except Exception:
            # A mail outage must not undo or block a security change; it is logged instead.
            logger.exception("drf_twostep: could not send the %s notification", kind)


def get_adapter() -> DefaultTwoStepAdapter:
    return twostep_settings.ADAPTER()
