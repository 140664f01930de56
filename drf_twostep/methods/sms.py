"""Codes sent by text message to a phone number given in E.164 form (``+14155552671``)."""

from __future__ import annotations

import re

import phonenumbers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..adapter import get_adapter
from ..constants import MethodKind
from ..sms import send_sms
from .delivery import DeliveredCodeMethod

_E164_LIKE = re.compile(r"\+[0-9][0-9 ().\-]{5,24}")


def clean_phone_number(value) -> str:
    """``value`` as an E.164 number that is valid for its country; ``ValidationError`` if not."""
    message = gettext(
        "Enter a valid mobile number in international format, with + and the country code "
        "(for example +14155552671)."
    )
    if not isinstance(value, str) or not value.strip():
        raise serializers.ValidationError({"phone_number": [message]})
    raw = value.strip()
    # Digits with the usual separators only: libphonenumber would also read letters (vanity
    # numbers) and a doubled "+", which nobody means in a phone number for codes.
    if not _E164_LIKE.fullmatch(raw):
        raise serializers.ValidationError({"phone_number": [message]})
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise serializers.ValidationError({"phone_number": [message]}) from None
    if not phonenumbers.is_valid_number(number):
        raise serializers.ValidationError({"phone_number": [message]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class SmsMethod(DeliveredCodeMethod):
    kind = MethodKind.SMS.value
    verbose_name = _("Text message (SMS)")

    @classmethod
    def clean_destination(cls, user, data):
        return clean_phone_number(data.get("phone_number"))

    @classmethod
    def default_name(cls, destination):
        return gettext("SMS to number ending %(last)s") % {"last": destination[-4:]}

    def deliver(self, code, *, purpose, lifetime):
        text = get_adapter().format_sms(self.instance.user, code, purpose, lifetime)
        send_sms(self.instance.destination, text)
