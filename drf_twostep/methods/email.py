"""Codes sent by email, by default to the user's own address."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..adapter import get_adapter
from ..constants import MethodKind
from .delivery import DeliveredCodeMethod


class EmailMethod(DeliveredCodeMethod):
    kind = MethodKind.EMAIL.value
    verbose_name = _("Email")

    @classmethod
    def clean_destination(cls, user, data):
        address = data.get("email") or getattr(user, "email", "") or ""
        if not address:
            raise serializers.ValidationError(
                {"email": [gettext("Your account has no email address. Enter one.")]}
            )
        try:
            validate_email(address)
        except ValidationError:
            raise serializers.ValidationError(
                {"email": [gettext("Enter a valid email address.")]}
            ) from None
        return address.strip()

    @classmethod
    def default_name(cls, destination):
        local, _at, domain = destination.partition("@")
        return gettext("Email to %(address)s") % {"address": f"{local[:1]}…@{domain}"}

    def deliver(self, code, *, purpose, lifetime):
        get_adapter().send_code_email(
            self.instance.user, self.instance.destination, code, purpose, lifetime
        )
