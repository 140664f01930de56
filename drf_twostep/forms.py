"""Forms of the HTML pages the package renders (the Django admin's second step)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .exceptions import InvalidPasskey
from .methods import get_method_class
from .methods._webauthn import MAX_CREDENTIAL_JSON
from .methods.passkey import KIND as PASSKEY


def method_label(method) -> str:
    """How a method is named to its user: its name, else its kind's name."""
    cls = get_method_class(method.kind)
    kind = cls.verbose_name if cls else method.kind
    return f"{method.name} ({kind})" if method.name else str(kind)


class AdminCodeForm(forms.Form):
    """
    The second step: a code of one of ``methods`` (the user's active methods that take a
    code: not passkeys), a recovery code, or a passkey's assertion (``credential``, its JSON,
    which the page's script fills in). Sending a code (the ``twostep_send`` button) needs
    only the method.
    """

    method = forms.TypedChoiceField(label=_("Method"), coerce=int, required=False, empty_value=None)
    code = forms.CharField(
        label=_("Code"),
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
    recovery_code = forms.CharField(
        label=_("Recovery code"),
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )

    credential = forms.CharField(
        required=False, max_length=MAX_CREDENTIAL_JSON, widget=forms.HiddenInput
    )

    def __init__(self, *args, methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.all_methods = list(methods)
        self.methods = [m for m in self.all_methods if m.kind != PASSKEY]
        self.fields["method"].choices = [(m.pk, method_label(m)) for m in self.methods]

    def clean(self):
        data = super().clean()
        if self.data.get("twostep_send"):
            if data.get("method") is None:
                self.add_error("method", _("Choose the method to send a code by."))
            return data
        if "credential" in self.errors:  # too long to be one
            raise forms.ValidationError(InvalidPasskey.default_detail)
        if data.get("credential"):
            # A passkey's assertion: what was typed beside it is not sent.
            data["code"] = data["recovery_code"] = ""
            data["method"] = None
            return data
        code, recovery_code = data.get("code", "").strip(), data.get("recovery_code", "").strip()
        if bool(code) == bool(recovery_code):
            raise forms.ValidationError(_("Enter a code, or a recovery code."))
        data["code"], data["recovery_code"] = code, recovery_code
        return data
