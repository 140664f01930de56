"""Starting the second step: the challenge, the code sent with it or asked for again, and the
method a code is for."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import Throttled

from ..constants import CHALLENGE_BYTES, LoginStatus
from ..crypto import digest
from ..exceptions import DeliveryFailed, MethodDoesNotSend, NotFound
from ..methods import get_method, get_method_class
from ..models import LoginChallenge, TwoStepMethod
from ..settings import twostep_settings
from ._challenges import check_not_locked, open_challenge
from ._common import active_methods, deliver
from .passkey_steps import challenge_options


def start_second_step(request, user) -> dict:
    """The ``verification_required`` answer for ``user``, whose password another front end
    checked (the Django admin's login form): a new challenge, as ``login()`` starts one."""
    return start_challenge(user, request)


def start_challenge(user, request=None, *, client=None, new=None) -> dict:
    """A new challenge for ``user``, and the ``verification_required`` answer. ``client``
    (``sign_ins.Client``) gave the password and was ``new`` to the user (``sign_ins.is_new``),
    when the caller looked it up."""
    raw = secrets.token_urlsafe(CHALLENGE_BYTES)
    lifetime = twostep_settings.CHALLENGE_LIFETIME
    now = timezone.now()
    login_challenge = LoginChallenge.objects.create(
        digest=digest(raw),
        user=user,
        backend=getattr(user, "backend", "") or "",
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        client_key=client.key if client else "",
        client_new=new,
    )
    methods = active_methods(user)
    default = next((m for m in methods if m.is_default), methods[0] if methods else None)
    if default is not None:
        _send_at_login_start(request, login_challenge, default)
    return {
        "status": LoginStatus.VERIFICATION_REQUIRED.value,
        "challenge": raw,
        "expires_in": lifetime,
        "methods": methods,
        "default_method": default.pk if default else None,
        **challenge_options(login_challenge, methods),
    }


def _send_at_login_start(request, login_challenge, method) -> None:
    """With an SMS or email default, send its code as the login starts. A failure here is
    not the login's: the client can ask again with ``login/send-code/`` and see it."""
    handler = get_method(method)
    if handler is None or not handler.sends_code:
        return
    try:
        deliver(request, handler, login_challenge)
    except (DeliveryFailed, Throttled):
        pass


def send_login_code(request, challenge, method_id) -> int:
    """``login/send-code/``: a fresh code for the challenge's user by the method
    ``method_id``; the previous code for this challenge stops working. Returns its lifetime."""
    now = timezone.now()
    with transaction.atomic():
        login_challenge = open_challenge(challenge, now)
        user = login_challenge.user
        check_not_locked(user.two_step, login_challenge, now)
        method = login_method(TwoStepMethod.objects.filter(user=user), method_id)
        handler = get_method(method)
        if not handler.sends_code:
            raise MethodDoesNotSend()
    return deliver(request, handler, login_challenge)


def login_method(methods, method_id) -> TwoStepMethod:
    """The active method ``method_id`` of ``methods`` (the user's), else the default one."""
    active = [m for m in methods if m.is_active]
    if method_id is None:
        method = next((m for m in active if m.is_default), active[0] if active else None)
    else:
        method = next((m for m in active if str(m.pk) == str(method_id)), None)
    if method is None or get_method_class(method.kind) is None:
        raise NotFound()
    return method
