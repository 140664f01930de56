"""
The adapter: what a project may change without touching the verification rules.

Point ``DRF_TWOSTEP["ADAPTER"]`` at a subclass of ``DefaultTwoStepAdapter`` and override the
hooks you need.
"""

from __future__ import annotations

import ipaddress
import logging
import operator
from dataclasses import dataclass
from functools import reduce

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.core.mail import send_mail
from django.db import models
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.translation import gettext

from .clients import user_agent_family
from .settings import twostep_settings

logger = logging.getLogger("drf_twostep")


@dataclass(frozen=True)
class Membership:
    """
    A model that records who belongs to which organization: ``model`` (the class, or its
    ``"app_label.ModelName"``), ``user`` and ``organization``, the names of its fields that
    point at the user and at the organization. For example
    ``Membership("clinics.Membership", user="user", organization="clinic")``.
    """

    model: type[models.Model] | str
    user: str
    organization: str

    def get_model(self) -> type[models.Model]:
        return apps.get_model(self.model) if isinstance(self.model, str) else self.model

    def user_attname(self) -> str:
        field = self.get_model()._meta.get_field(self.user)
        return field.get_attname() if isinstance(field, models.Field) else self.user

    def organizations_of(self, user):
        """The pks of the organizations of ``user`` (a user, a pk or an expression)."""
        return (
            self.get_model()._default_manager.filter(**{self.user: user}).values(self.organization)
        )

    def members_of(self, organization):
        """The pks of the users who belong to ``organization``."""
        return (
            self.get_model()
            ._default_manager.filter(**{self.organization: organization})
            .values(self.user)
        )


def _any(conditions) -> Q:
    return reduce(operator.or_, conditions)


class DefaultTwoStepAdapter:
    """Default hooks: naming, organizations and their members, client metadata, delivery and
    notifications."""

    def get_issuer_name(self) -> str:
        """Name shown in authenticator apps and on the recovery-code PDF (never with ':')."""
        name = twostep_settings.ISSUER_NAME
        if not name and apps.is_installed("django.contrib.sites"):
            from django.contrib.sites.models import Site

            try:
                name = Site.objects.get_current().name
            except (Site.DoesNotExist, ImproperlyConfigured):  # no Site row or no SITE_ID
                name = None
        return (name or "Django").replace(":", " ").strip()

    def get_account_name(self, user) -> str:
        """The account label shown in authenticator apps: the email, else the username."""
        name = getattr(user, "email", "") or user.get_username()
        return name.replace(":", " ").strip()

    def build_credential_response(self, request, user, response: dict) -> dict:
        """
        The body of a response that hands out a credential: ``login/`` (``authenticated`` or
        ``setup_required``), ``login/verify/`` and the confirmation that turns 2SV on.
        ``response`` holds the package's fields (``token`` and the issuer's other fields
        among them); return it with the fields the project adds, for example the user::

            def build_credential_response(self, request, user, response):
                return {**response, "user": UserSerializer(user).data}

        Added values must render as JSON. Called inside the flow's transaction for the
        confirmation, after it commits for the others.
        """
        return response

    def get_two_step_setup_url(self, request, user) -> str | None:
        """Where a user who must have 2SV and has none sets it up (the project's own page),
        shown when the Django admin refuses them; None: no link."""
        return None

    # -- organizations ----------------------------------------------------------------------
    # The defaults work for DRF_TWOSTEP["ORGANIZATION_MODEL"] = "auth.Group". A project with
    # its own organization model overrides get_memberships() (and is_organization_admin()).

    def get_organization_model(self):
        return apps.get_model(twostep_settings.ORGANIZATION_MODEL)

    def get_memberships(self) -> list[Membership]:
        """
        The models that record who belongs to which organization, each as a ``Membership``
        (the model or its label, the field to the user, the field to the organization). The
        package derives the user's organizations and the organization's members from them,
        and watches them: a membership saved, deleted, added or removed with the ORM is
        enforced on the next request. Default: Django's user-group table for ``auth.Group``.
        """
        if self.get_organization_model()._meta.label != "auth.Group":
            return []
        from django.contrib.auth import get_user_model

        try:
            groups = get_user_model()._meta.get_field("groups")
        except FieldDoesNotExist:
            return []  # a custom user model without groups
        through = getattr(groups.remote_field, "through", None)
        if not isinstance(groups, models.ManyToManyField) or through is None:
            return []
        return [
            Membership(
                through,
                user=groups.m2m_field_name(),
                organization=groups.m2m_reverse_field_name(),
            )
        ]

    def get_user_organizations(self, user):
        """A queryset of the organizations ``user`` belongs to (from ``get_memberships``)."""
        model = self.get_organization_model()
        memberships = self.get_memberships()
        if not memberships:
            raise NotImplementedError(
                f"Override DefaultTwoStepAdapter.get_memberships() for {model._meta.label}."
            )
        return model._default_manager.filter(
            _any(Q(pk__in=m.organizations_of(user)) for m in memberships)
        )

    def get_organization_members(self, organization):
        """A queryset of the users who belong to ``organization`` (from ``get_memberships``)."""
        from django.contrib.auth import get_user_model

        memberships = self.get_memberships()
        if not memberships:
            raise NotImplementedError(
                f"Override DefaultTwoStepAdapter.get_memberships() for {organization._meta.label}."
            )
        return get_user_model()._default_manager.filter(
            _any(Q(pk__in=m.members_of(organization)) for m in memberships)
        )

    def is_organization_admin(self, user, organization) -> bool:
        """Who may change ``organization``'s policy and reset members: by default superusers
        and staff users who belong to it."""
        if not user.is_authenticated:
            return False
        if user.is_superuser:
            return True
        return bool(
            user.is_staff and self.get_user_organizations(user).filter(pk=organization.pk).exists()
        )

    def get_organization(self, organization_id):
        """The organization with this id (a string from the URL), or None."""
        model = self.get_organization_model()
        pk = parse_pk(model, organization_id)
        return None if pk is None else model.objects.filter(pk=pk).first()

    def get_organization_name(self, organization) -> str:
        return str(getattr(organization, "name", None) or organization)

    def get_client_ip(self, request) -> str | None:
        """The client's address for security events."""
        if request is None:
            return None
        if twostep_settings.TRUST_X_FORWARDED_FOR:
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                first = forwarded.split(",")[0].strip()
                try:
                    return str(ipaddress.ip_address(first))
                except ValueError:
                    pass  # not an address (e.g. "unknown"): the peer's address below
        return request.META.get("REMOTE_ADDR") or None

    def get_user_agent(self, request) -> str:
        if request is None:
            return ""
        return request.META.get("HTTP_USER_AGENT", "")[:255]

    def get_device_name(self, request) -> str:
        """The name of a device remembered on ``request`` (shown in the list of trusted
        devices): by default the start of its user agent."""
        return self.get_user_agent(request)[:100]

    def get_client_family(self, request) -> tuple[str, str]:
        """The ``(browser, system)`` of ``request``'s user agent, versions left out, that a
        sign-in's client is known by (with the IP's network) for new-device notifications:
        by default ``drf_twostep.clients.user_agent_family``. Return the same pair for the
        same client, or every sign-in looks new."""
        return user_agent_family(self.get_user_agent(request))

    # -- codes sent by SMS and email -----------------------------------------------------

    def format_sms(self, user, code, purpose, lifetime) -> str:
        """The text message carrying ``code`` (``purpose``: ``"login"`` or ``"setup"``).

        The code comes first and the site last, so phones can offer to fill it in."""
        return gettext(
            "%(code)s is your %(site)s verification code. It expires in %(minutes)d minutes. "
            "Never share it."
        ) % {"code": code, "site": self.get_issuer_name(), "minutes": max(1, lifetime // 60)}

    def send_code_email(self, user, address, code, purpose, lifetime) -> None:
        """Email ``code`` to ``address``. Templates: ``drf_twostep/email/code_subject.txt``
        and ``drf_twostep/email/code_message.txt``. Raises ``DeliveryFailed`` on failure."""
        from .exceptions import DeliveryFailed

        context = {
            "user": user,
            "code": code,
            "purpose": purpose,
            "minutes": max(1, lifetime // 60),
            "site_name": self.get_issuer_name(),
        }
        subject = render_to_string("drf_twostep/email/code_subject.txt", context)
        message = render_to_string("drf_twostep/email/code_message.txt", context)
        try:
            send_mail(
                " ".join(subject.split()),
                message,
                getattr(settings, "DEFAULT_FROM_EMAIL", None),
                [address],
            )
        except Exception as exc:  # noqa: BLE001 - any mail failure is a failed delivery
            logger.warning("drf_twostep: could not email a code: %s", exc.__class__.__name__)
            raise DeliveryFailed() from exc

    # -- notifications ------------------------------------------------------------------

    def can_notify(self, user, kind) -> bool:
        if kind == "new_device_sign_in" and not twostep_settings.NEW_DEVICE_NOTIFICATIONS:
            return False
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


def parse_pk(model, raw):
    """``raw`` (from a URL) as a primary key of ``model``, or None if it cannot be one."""
    try:
        value = model._meta.pk.to_python(raw)
    except (ValidationError, ValueError, TypeError):
        return None
    if isinstance(value, int) and not 0 <= value < 2**63:
        return None
    return value


def get_adapter() -> DefaultTwoStepAdapter:
    return twostep_settings.ADAPTER()
