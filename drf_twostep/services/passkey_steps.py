"""
What the sign-in flows ask of passkeys: the request options of a second step or a step-up,
an assertion as either, and a passkey's RFC 8176 reference.
The ceremonies are ``drf_twostep.methods.passkey``'s; ``services.passkeys`` is the sign-in
with a passkey alone.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ..constants import AMR_HARDWARE_KEY, AMR_SOFTWARE_KEY
from ..exceptions import MethodNotAllowed
from ..methods import get_method_class
from ..methods import passkey as ceremonies
from ..models import TwoStepMethod

KIND = ceremonies.KIND


def available() -> bool:
    """Whether the passkey kind is enabled (its extra installed, the relying party set)."""
    return get_method_class(KIND) is not None


def require() -> None:
    if not available():
        raise MethodNotAllowed()


def key_amr(method) -> str:
    """RFC 8176's reference for the passkey of ``method``: a synced passkey (backup
    eligible) is a software-secured key, one bound to its device a hardware-secured key."""
    return AMR_SOFTWARE_KEY if method.passkey.backup_eligible else AMR_HARDWARE_KEY


# -- the second step ------------------------------------------------------------------------


def challenge_options(login_challenge, methods, *, replace=False) -> dict:
    """``{"passkey": request options}`` for the ``verification_required`` answer when one of
    the user's active ``methods`` is a passkey (whatever the default), else nothing. With
    ``replace``, options given earlier for ``login_challenge`` stop working (a page that
    shows the second step again)."""
    if not available() or not any(method.kind == KIND for method in methods):
        return {}
    options = ceremonies.login_options(login_challenge, replace=replace)
    return {"passkey": options} if options else {}


def second_step(login_challenge, credential, method_id=None) -> TwoStepMethod:
    """The passkey method whose assertion ``credential`` completes ``login_challenge``
    (locked by the caller); ``method_id``, when given, must be that method."""
    require()
    method = None if method_id is None else TwoStepMethod(pk=method_id)
    return ceremonies.verify_second_step(login_challenge, credential, method=method)


# -- a step-up ------------------------------------------------------------------------------


def reverify_options(user) -> dict:
    """``two-step/reverify/options/``'s request options for ``user``'s passkeys;
    ``MethodNotAllowed`` when the kind is off or the user has no active passkey."""
    require()
    options = ceremonies.reverify_options(user)
    if options is None:
        raise MethodNotAllowed(_("You have no passkey. Re-verify with a code instead."))
    return options


def reverify_step(user, credential, method_id=None) -> TwoStepMethod:
    """The passkey method of ``user`` whose assertion ``credential`` answers their step-up
    challenge (the profile locked by the caller); ``method_id``, when given, must be it."""
    require()
    method = None if method_id is None else TwoStepMethod(pk=method_id)
    return ceremonies.verify_reverify(user, credential, method=method)
