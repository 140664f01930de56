"""
Passkeys: the second step is a signature by a key that never leaves the user's authenticator
and works only on this site's origins (WebAuthn Level 3, verified by py_webauthn:
``pip install "drf-twostep[passkeys]"``).

Four ceremonies, each with a challenge of its own (``PasskeyChallenge``): the registration
of a pending method (``registration_options``, then ``register``), the second step of a login
challenge (``login_options``, then ``verify_second_step``), a signed-in user's step-up
(``reverify_options``, then ``verify_reverify``), and a sign-in with a passkey alone
(``passwordless_options``, then ``verify_passwordless``). A ceremony's challenge is
bound to what it is for, expires with it, is compared in constant time and works once:
py_webauthn is stateless and would accept the same assertion twice.

Each verify runs inside the caller's transaction (it locks the method row it uses) and
raises ``InvalidPasskey`` for anything that does not verify, leaving the challenge usable;
``PasskeyCloneSuspected`` (an ``InvalidPasskey``) means the signature was good but the sign
count went backwards, and the challenge is used up.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import crypto
from ..adapter import get_adapter
from ..constants import WEBAUTHN_CHALLENGE_BYTES, WEBAUTHN_USER_HANDLE_BYTES, MethodStatus
from ..exceptions import InvalidPasskey, PasskeyCloneSuspected
from ..models import PasskeyChallenge, PasskeyCredential, PasskeyUserHandle, TwoStepMethod
from ..settings import twostep_settings
from . import _webauthn
from .base import BaseMethod

KIND = "passkey"


class PasskeyMethod(BaseMethod):
    """A passkey or a security key; its public key and sign count are a ``PasskeyCredential``."""

    kind = KIND
    verbose_name = _("Passkey")

    @classmethod
    def is_available(cls):
        rp_id, origins = _webauthn.relying_party()
        return _webauthn.installed() and bool(rp_id and origins)

    @classmethod
    def begin_setup(cls, instance, data):
        return {}

    def after_setup(self):
        return {"public_key": registration_options(self.instance)}

    def verify(self, code, challenge=None):
        """``code`` is the credential's JSON: while pending (``challenge`` None) a
        registration, else an assertion by this method's passkey for the login challenge."""
        if challenge is None:
            register(self.instance, code)
        else:
            verify_second_step(challenge, code, method=self.instance)


# -- registration -------------------------------------------------------------------------


def user_handle(user) -> bytes:
    """The user's WebAuthn user handle (64 random bytes), made the first time it is asked for."""
    handle = _webauthn.encode(secrets.token_bytes(WEBAUTHN_USER_HANDLE_BYTES))
    row, _ = PasskeyUserHandle.objects.get_or_create(user=user, defaults={"handle": handle})
    return _webauthn.decode(row.handle)


def registration_options(method) -> dict:
    """
    Creation options (``PublicKeyCredentialCreationOptionsJSON``) for the saved, pending
    passkey ``method``, with a fresh challenge bound to it that expires with the pending
    method and replaces any earlier one; the user's other passkeys are excluded.
    """
    user = method.user
    expires_at = method.created_at + timedelta(seconds=twostep_settings.PENDING_METHOD_LIFETIME)
    challenge = _new_challenge(expires_at, method=method)
    adapter = get_adapter()
    account = adapter.get_account_name(user)
    full_name = getattr(user, "get_full_name", None)
    return _webauthn.creation_options(
        user_handle=user_handle(user),
        user_name=account,
        display_name=(full_name() if callable(full_name) else "") or account,
        rp_name=adapter.get_issuer_name(),
        challenge=challenge,
        timeout=_seconds_until(expires_at),
        exclude=_credentials_of(user),
    )


def register(method, credential) -> PasskeyCredential:
    """
    Verify the registration ``credential`` (``toJSON()`` of ``navigator.credentials.create``)
    against the challenge of the pending ``method``, whose row the caller has locked, and
    store the credential; the challenge is used up. Raises ``InvalidPasskey``, also for a
    credential id that is already registered.
    """
    parsed = _webauthn.parse_registration(credential)
    row, challenge = _challenge_for(parsed, PasskeyChallenge.objects.filter(method=method))
    verified = _webauthn.verify_registration(parsed, challenge)
    if verified.credential_id != parsed.raw_id:
        raise InvalidPasskey()
    _use(row)
    try:
        with transaction.atomic():
            return PasskeyCredential.objects.create(
                method=method,
                credential_id=_webauthn.encode(verified.credential_id),
                credential_id_digest=_webauthn.digest(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=[t.value for t in parsed.response.transports or []],
                aaguid=verified.aaguid,
                backup_eligible=_webauthn.backup_eligible(verified),
                backup_state=verified.credential_backed_up,
            )
    except IntegrityError:
        raise InvalidPasskey(detail=_registered_detail()) from None


# -- assertions ---------------------------------------------------------------------------


def login_options(login_challenge, *, replace=False) -> dict | None:
    """
    Request options (``PublicKeyCredentialRequestOptionsJSON``) for the second step of
    ``login_challenge``: the user's active passkeys in ``allowCredentials``, user verification
    preferred, a fresh challenge bound to it that expires with it. None when the user has no
    active passkey. With ``replace`` the login challenge's earlier options stop working (a
    page that asks again); without, it has none yet (it is being made).
    """
    allow = _credentials_of(login_challenge.user)
    if not allow:
        return None
    challenge = _new_challenge(
        login_challenge.expires_at, replace=replace, login_challenge=login_challenge
    )
    return _webauthn.request_options(
        challenge=challenge,
        timeout=_seconds_until(login_challenge.expires_at),
        allow=allow,
        user_verification_required=False,
    )


def reverify_options(user) -> dict | None:
    """
    Request options for a step-up of the signed-in ``user``: their active passkeys in
    ``allowCredentials``, user verification preferred, a fresh challenge bound to the user
    that expires after ``CHALLENGE_LIFETIME`` and replaces their earlier one. None when the
    user has no active passkey.
    """
    allow = _credentials_of(user)
    if not allow:
        return None
    lifetime = twostep_settings.CHALLENGE_LIFETIME
    challenge = _new_challenge(timezone.now() + timedelta(seconds=lifetime), user=user)
    return _webauthn.request_options(
        challenge=challenge, timeout=lifetime, allow=allow, user_verification_required=False
    )


def passwordless_options() -> dict:
    """
    A sign-in with a passkey alone: ``{"challenge", "expires_in", "public_key"}``, the request
    options with an empty ``allowCredentials`` (any discoverable credential) and user
    verification required. ``challenge`` is the ceremony's own, base64url.
    """
    lifetime = twostep_settings.CHALLENGE_LIFETIME
    challenge = _new_challenge(timezone.now() + timedelta(seconds=lifetime))
    options = _webauthn.request_options(
        challenge=challenge, timeout=lifetime, allow=[], user_verification_required=True
    )
    return {"challenge": _webauthn.encode(challenge), "expires_in": lifetime, "public_key": options}


def verify_second_step(login_challenge, credential, method=None) -> TwoStepMethod:
    """
    Accept the assertion ``credential`` (``toJSON()`` of ``navigator.credentials.get``) for
    the second step of ``login_challenge``, whose row the caller has locked, once. The
    credential must be an active passkey of the challenge's user (and ``method``, when
    given). Returns the method, its row locked and ``last_used_at`` set.
    """
    parsed = _webauthn.parse_authentication(credential)
    found = _credential_method(parsed, user=login_challenge.user)
    if method is not None and found.pk != method.pk:
        raise InvalidPasskey(method=found)
    rows = PasskeyChallenge.objects.filter(login_challenge=login_challenge)
    _accept(parsed, found, rows, require_uv=False)
    return found


def verify_reverify(user, credential, method=None) -> TwoStepMethod:
    """
    Accept the assertion ``credential`` for ``user``'s step-up challenge (of
    ``reverify_options``) once; the caller has locked the user's profile. The credential must
    be an active passkey of ``user`` (and ``method``, when given). Returns the method, its row
    locked and ``last_used_at`` set.
    """
    parsed = _webauthn.parse_authentication(credential)
    found = _credential_method(parsed, user=user)
    if method is not None and found.pk != method.pk:
        raise InvalidPasskey(method=found)
    _accept(parsed, found, PasskeyChallenge.objects.filter(user=user), require_uv=False)
    return found


def verify_passwordless(challenge, credential) -> TwoStepMethod:
    """
    Accept the assertion ``credential`` for the ``challenge`` of ``passwordless_options``
    once: a discoverable credential (its user handle names its user) with user verification.
    Unknown credentials and missing verification raise the same ``InvalidPasskey``. Returns
    the method (its ``user`` is the one signing in), its row locked.
    """
    parsed = _webauthn.parse_authentication(credential)
    ceremony = _webauthn.digest(_webauthn.decode(challenge))
    rows = PasskeyChallenge.objects.filter(
        digest=ceremony, method=None, login_challenge=None, user=None
    )
    found = _credential_method(parsed)
    if parsed.response.user_handle is None:
        raise InvalidPasskey(method=found)
    _accept(parsed, found, rows, require_uv=True)
    return found


def delete_expired_challenges(now=None) -> int:
    """Delete the ceremony challenges past their time; returns how many."""
    return PasskeyChallenge.objects.filter(expires_at__lte=now or timezone.now()).delete()[0]


# -- helpers ------------------------------------------------------------------------------


def _seconds_until(when) -> int:
    return max(1, int((when - timezone.now()).total_seconds()))


def _credentials_of(user) -> list[tuple[str, list]]:
    """``(credential id, transports)`` of the user's active passkeys."""
    return list(
        PasskeyCredential.objects.filter(
            method__user=user, method__kind=KIND, method__status=MethodStatus.ACTIVE.value
        )
        .order_by("method_id")
        .values_list("credential_id", "transports")
    )


def _new_challenge(expires_at, replace=True, **binding) -> bytes:
    """A fresh ceremony challenge bound to ``binding`` (none: a passkey alone), in place of
    the binding's earlier one when ``replace``."""
    if binding and replace:
        PasskeyChallenge.objects.filter(**binding).delete()
    challenge = secrets.token_bytes(WEBAUTHN_CHALLENGE_BYTES)
    PasskeyChallenge.objects.create(
        digest=_webauthn.digest(challenge), expires_at=expires_at, **binding
    )
    return challenge


def _challenge_for(parsed, rows):
    """The unexpired ceremony challenge among ``rows`` that ``parsed`` answers, and its bytes."""
    challenge = _webauthn.client_challenge(parsed)
    row = rows.filter(expires_at__gt=timezone.now()).first()
    if row is None or not crypto.constant_time_equals(row.digest, _webauthn.digest(challenge)):
        raise InvalidPasskey()
    return row, challenge


def _use(row) -> None:
    # Deleting the row is what makes a challenge single use, whatever the caller locked.
    if not PasskeyChallenge.objects.filter(pk=row.pk).delete()[0]:
        raise InvalidPasskey()


def _credential_method(parsed, user=None) -> TwoStepMethod:
    """The active passkey method (of ``user``) whose credential ``parsed`` is, locked, with
    its ``passkey`` and its user's handle as ``passkey_user_handle``."""
    methods = TwoStepMethod.objects.active().filter(
        kind=KIND, passkey__credential_id_digest=_webauthn.digest(parsed.raw_id)
    )
    if user is not None:
        methods = methods.filter(user=user)
    handle = PasskeyUserHandle.objects.filter(user=OuterRef("user")).values("handle")[:1]
    # A passkey alone names its user: loaded with it (and locked with the method's row).
    related = ("passkey",) if user is not None else ("passkey", "user")
    found = (
        methods.select_related(*related)
        .annotate(passkey_user_handle=Subquery(handle))
        .select_for_update()
        .first()
    )
    if found is None:
        raise InvalidPasskey()
    if user is not None:
        found.user = user
    return found


def _accept(parsed, method, rows, *, require_uv) -> None:
    """Verify the assertion by ``method``'s passkey against its challenge among ``rows``,
    use the challenge up, and apply the sign-count rule."""
    stored = method.passkey
    try:
        row, challenge = _challenge_for(parsed, rows)
        handle = parsed.response.user_handle
        if handle is not None and not crypto.constant_time_equals(
            _webauthn.encode(handle), method.passkey_user_handle or ""
        ):
            raise InvalidPasskey()
        verified = _webauthn.verify_authentication(
            parsed, challenge, bytes(stored.public_key), require_uv=require_uv
        )
        # WebAuthn L3: whether a credential can be backed up never changes.
        if _webauthn.backup_eligible(verified) != stored.backup_eligible:
            raise InvalidPasskey()
        _use(row)
    except InvalidPasskey as exc:
        exc.method = method
        raise
    _count(stored, verified, method)
    now = timezone.now()
    TwoStepMethod.objects.filter(pk=method.pk).update(last_used_at=now)
    method.last_used_at = now


def _count(stored, verified, method) -> None:
    """
    The sign-count rule (WebAuthn L3 section 7.2), in one conditional UPDATE so that it holds
    for concurrent requests on every database: a count must exceed the stored one, except
    that 0 stays acceptable from an authenticator that has never counted (synced passkeys).
    """
    count = verified.new_sign_count
    rows = PasskeyCredential.objects.filter(pk=stored.pk)
    rows = rows.filter(sign_count__lt=count) if count else rows.filter(sign_count=0)
    if not rows.update(sign_count=count, backup_state=verified.credential_backed_up):
        raise PasskeyCloneSuspected(method=method)
    stored.sign_count = count
    stored.backup_state = verified.credential_backed_up


def _registered_detail():
    from django.utils.translation import gettext

    return gettext("This passkey is already registered.")
