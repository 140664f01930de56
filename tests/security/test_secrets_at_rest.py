"""
Secrets at rest (STANDARDS #13, #30, #34): after every kind of method is set up and used, no
authenticator secret, recovery code or sent code is anywhere in the database, in any spelling;
``twostep_rotate_key`` re-encrypts every secret, is idempotent and finishes after an
interruption.
"""

from __future__ import annotations

import base64
import re
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test import override_settings

from drf_twostep import crypto, sms
from drf_twostep.exceptions import InvalidCode
from drf_twostep.methods import enabled_kinds, get_method
from drf_twostep.models import (
    DeliveredCode,
    LoginChallenge,
    RecoveryCode,
    SecurityEvent,
    TwoStepMethod,
)
from tests.helpers import (
    AUTH,
    PASSWORD,
    assert_error,
    enable_totp,
    login,
    start_setup,
    token_client,
    totp_from_uri,
    verify,
)
from tests.security.dbdump import database_cells, find_in_database, spellings
from tests.security.faults import fail_on, table_statement

PHONE = "+14155552671"


# -- what each kind leaves behind ----------------------------------------------------------------


class Secrets:
    """The secrets handed out during a test, by name, each with all its spellings."""

    def __init__(self):
        self.found: dict[str, set[bytes]] = {}

    def totp_secret(self, name, setup_key: str):
        plain = setup_key.replace(" ", "")
        self.found[name] = spellings(plain, base64.b32decode(plain))

    def recovery_code(self, name, code: str):
        plain = code.replace("-", "")
        self.found[name] = spellings(code, base64.b32decode(plain))

    def code(self, name, code: str):
        self.found[name] = spellings(code)

    def challenge(self, name, raw: str):
        padded = raw + "=" * (-len(raw) % 4)
        self.found[name] = spellings(raw, base64.urlsafe_b64decode(padded))


def _sent_code(outbox) -> str:
    return re.search(r"\b(\d{6,10})\b", outbox[-1].body).group(1)


def _confirm(client, method_id, code):
    response = client.post(
        f"{AUTH}two-step/methods/{method_id}/confirm/", {"code": code}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _setup(client, **body):
    response = start_setup(client, **body)
    assert response.status_code == 201, response.content
    return response.json()


def _authenticator_app(client, secrets, label, *, confirm=True):
    body = _setup(client)
    secrets.totp_secret(f"{label} authenticator secret", body["setup_key"])
    if not confirm:
        return None
    code = totp_from_uri(body["otpauth_uri"]).now()
    secrets.code(f"{label} authenticator code", code)
    return _confirm(client, body["id"], code)


def _sms(client, secrets, label, *, confirm=True):
    body = _setup(client, kind="sms", phone_number=PHONE)
    code = _sent_code(sms.outbox)
    secrets.code(f"{label} sms setup code", code)
    return _confirm(client, body["id"], code) if confirm else None


def _email(client, secrets, label, *, confirm=True):
    body = _setup(client, kind="email")
    code = _sent_code(mail.outbox)
    secrets.code(f"{label} email setup code", code)
    return _confirm(client, body["id"], code) if confirm else None


# How to set up each method kind through the API. A new kind needs a recipe here, or
# test_every_enabled_kind_has_a_recipe fails.
RECIPES = {"authenticator_app": _authenticator_app, "sms": _sms, "email": _email}


def test_every_enabled_kind_has_a_recipe():
    missing = sorted(set(enabled_kinds()) - set(RECIPES))
    assert not missing, f"add a setup recipe for {missing} to this module"


def _set_up_everything(api, user, secrets) -> tuple:
    """Every enabled kind set up, confirmed and used by ``user``; returns (client, method ids)."""
    client = token_client(login(api, user.get_username()).json()["token"])
    for kind in enabled_kinds():
        body = RECIPES[kind](client, secrets, f"{user} {kind}")
        for index, code in enumerate(body.get("recovery_codes") or []):
            secrets.recovery_code(f"{user} first recovery code {index}", code)
        if body["token"]:
            client = token_client(body["token"])
    # A second, pending setup of each kind: a secret or a sent code that is still waiting.
    for kind in enabled_kinds():
        RECIPES[kind](client, secrets, f"{user} pending {kind}", confirm=False)
    regenerated = client.post(AUTH + "two-step/recovery-codes/", {"password": PASSWORD})
    assert regenerated.status_code == 201, regenerated.content
    for index, code in enumerate(regenerated.json()["recovery_codes"]):
        secrets.recovery_code(f"{user} regenerated recovery code {index}", code)
    methods = TwoStepMethod.objects.filter(user=user).active()
    return client, {method.kind: method.pk for method in methods}


def test_no_secret_or_code_is_stored_in_any_spelling(api, user, other_user, clock):
    secrets = Secrets()
    _set_up_everything(api, user, secrets)
    _, bob_methods = _set_up_everything(api, other_user, secrets)

    # A sign-in in progress: a challenge with a code sent by each kind that sends one.
    challenge = login(api, "bob").json()["challenge"]
    secrets.challenge("bob's challenge", challenge)
    for kind, outbox in (("sms", sms.outbox), ("email", mail.outbox)):
        if kind in bob_methods:
            sent = api.post(
                AUTH + "login/send-code/",
                {"challenge": challenge, "method": bob_methods[kind]},
                format="json",
            )
            assert sent.status_code == 202, sent.content
            secrets.code(f"bob's {kind} login code", _sent_code(outbox))
    # A sign-in completed with a recovery code, which hands out a replacement.
    challenge = login(api, "alice").json()["challenge"]
    secrets.challenge("alice's completed challenge", challenge)
    code = next(v for k, v in secrets.found.items() if k.startswith("alice regenerated"))
    used = verify(api, challenge, recovery_code=_code_from(code))
    assert used.status_code == 200, used.content
    secrets.recovery_code("alice's replacement recovery code", used.json()["recovery_codes"][0])

    # The secrets are really there, in every table that holds them (so the search below
    # searches something): encrypted secrets, digests of codes and of challenges.
    assert TwoStepMethod.objects.exclude(secret="").count() >= 4
    assert RecoveryCode.objects.count() >= 2
    assert DeliveredCode.objects.exists() and LoginChallenge.objects.exists()
    assert find_in_database(secrets.found) == []


def _code_from(spelled: set[bytes]) -> str:
    """The display form (ABCD-EFGH-...) among a recovery code's spellings."""
    return next(s.decode() for s in spelled if re.fullmatch(rb"[A-Z2-7]{4}(-[A-Z2-7]{4})+", s))


def test_the_dump_reads_every_table_of_every_model(user_with_totp):
    visited = set()
    cells = list(database_cells(visited))
    assert {model._meta.db_table for model in apps.get_models()} <= visited
    assert {table for table, _column, _value in cells} >= {"drf_twostep_twostepmethod"}


@pytest.mark.parametrize("kind", ["totp secret", "recovery code", "code"])
def test_the_search_finds_a_planted_secret_in_every_spelling(user, kind):
    """The search is not blind: each spelling, planted in a text column, is found."""
    secrets = Secrets()
    if kind == "totp secret":
        secrets.totp_secret(kind, "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP")
    elif kind == "recovery code":
        secrets.recovery_code(kind, "ABCD-EFGH-IJKL-MNOP-QRST-UVWX")
    else:
        secrets.code(kind, "482913")
    assert find_in_database(secrets.found) == []
    planted = [s for s in secrets.found[kind] if s.isascii() and s.decode().isprintable()]
    assert len(planted) >= 10
    for spelling in planted:
        for text in {spelling.decode(), spelling.decode().lower(), f"x:{spelling.decode()}"}:
            event = SecurityEvent.objects.create(user=user, kind="test", user_agent=text)
            assert find_in_database(secrets.found), f"{text!r} was not found"
            event.delete()


def test_a_code_kept_in_a_number_column_is_found(user):
    secrets = Secrets()
    secrets.code("code", "482913")
    SecurityEvent.objects.create(user=user, kind="test", method_id=482913)
    assert find_in_database(secrets.found) == [
        "code as a number in drf_twostep_securityevent.method_id"
    ]


# -- twostep_rotate_key ------------------------------------------------------------------------


OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def keys(*values):
    """The test settings with ENCRYPTION_KEYS set to ``values``."""
    return override_settings(
        DRF_TWOSTEP={**django_settings.DRF_TWOSTEP, "ENCRYPTION_KEYS": list(values)}
    )


def rotate(**options) -> str:
    out = StringIO()
    call_command("twostep_rotate_key", stdout=out, **options)
    return out.getvalue()


def stored_secrets() -> dict[int, str]:
    return dict(TwoStepMethod.objects.exclude(secret="").values_list("pk", "secret"))


@pytest.fixture
def encrypted_under_old(api, user, other_user, clock):
    """alice and bob with an authenticator app each and alice with a pending one, under OLD;
    returns {method id: TOTP generator}."""
    with keys(OLD):
        totps = {}
        for person in (user, other_user):
            two_step = enable_totp(api, person, clock)
            totps[two_step.method_id] = two_step.totp
        pending = start_setup(two_step.client()).json()
        totps[pending["id"]] = totp_from_uri(pending["otpauth_uri"])
    return totps


def _readable_under(*key_list) -> set[int]:
    readable = set()
    with keys(*key_list):
        for pk, secret in stored_secrets().items():
            try:
                crypto.decrypt(secret)
            except InvalidToken:
                continue
            readable.add(pk)
    return readable


def _all_sign_in(api, totps, clock) -> bool:
    """Every active method's user signs in with a code of it."""
    clock.shift(30)
    for method in TwoStepMethod.objects.active().select_related("user"):
        challenge = login(api, method.user.get_username()).json()["challenge"]
        response = verify(api, challenge, code=totps[method.pk].now())
        assert response.status_code == 200, response.content
    return True


def test_rotation_re_encrypts_every_secret_under_the_newest_key(api, encrypted_under_old, clock):
    before = stored_secrets()
    assert len(before) == 3
    with keys(NEW, OLD):
        assert "Re-encrypted 3 secret(s); 0 already" in rotate()
    after = stored_secrets()
    assert all(after[pk] != before[pk] for pk in before)
    assert _readable_under(NEW) == set(before)
    assert _readable_under(OLD) == set()
    with keys(NEW):
        for pk, totp in encrypted_under_old.items():
            assert f"secret={totp.secret}" in crypto.decrypt(after[pk])
        assert _all_sign_in(api, encrypted_under_old, clock)


def test_rotation_is_idempotent(encrypted_under_old):
    with keys(NEW, OLD):
        rotate()
        once = stored_secrets()
        assert "Re-encrypted 0 secret(s); 3 already under the newest key." in rotate()
    assert stored_secrets() == once
    with keys(NEW):
        assert "Re-encrypted 0 secret(s); 3 already" in rotate()
    assert stored_secrets() == once


@pytest.mark.parametrize("batch_size", [1, 500])
def test_rotation_interrupted_midway_finishes_when_run_again(
    api, encrypted_under_old, clock, batch_size
):
    before = stored_secrets()
    # The second UPDATE: the second batch of one, or the second row of a batch written row by
    # row; PostgreSQL writes a whole batch in one UPDATE, so there it is the first.
    one_statement_batch = batch_size > 1 and connection.vendor == "postgresql"
    nth = 1 if one_statement_batch else 2
    with keys(NEW, OLD):
        with fail_on(table_statement("UPDATE", "drf_twostep_twostepmethod"), nth=nth) as failure:
            with pytest.raises(OperationalError):
                rotate(batch_size=batch_size)
        assert failure.fired
        # Nothing is lost: every secret still opens with the configured keys, and the batches
        # that committed before the failure are under the new key.
        assert _readable_under(NEW, OLD) == set(before)
        committed = 1 if batch_size == 1 else 0
        assert len(_readable_under(NEW)) == committed
        output = rotate(batch_size=batch_size)
        assert f"Re-encrypted {3 - committed} secret(s); {committed} already" in output
    assert _readable_under(NEW) == set(before)
    assert _readable_under(OLD) == set()
    with keys(NEW):
        assert _all_sign_in(api, encrypted_under_old, clock)


def test_rotation_reports_secrets_that_no_key_opens_and_rotates_the_rest(encrypted_under_old):
    stray = Fernet(Fernet.generate_key()).encrypt(b"otpauth://totp/x?secret=AAAA").decode()
    pk = next(iter(encrypted_under_old))
    TwoStepMethod.objects.filter(pk=pk).update(secret=stray)
    with keys(NEW, OLD), pytest.raises(CommandError, match=rf"1 secret\(s\).*{pk}"):
        rotate()
    assert _readable_under(NEW) == set(encrypted_under_old) - {pk}
    assert stored_secrets()[pk] == stray


def test_rotation_after_a_secret_key_change_uses_the_fallbacks(settings, encrypted_under_old):
    # Without ENCRYPTION_KEYS the keys come from SECRET_KEY and SECRET_KEY_FALLBACKS.
    settings.DRF_TWOSTEP = {"ISSUER_NAME": "Test Clinic"}
    old_secret_key = settings.SECRET_KEY
    with keys(OLD):
        TwoStepMethod.objects.update(secret="")  # start from secrets under SECRET_KEY
    for pk in encrypted_under_old:
        TwoStepMethod.objects.filter(pk=pk).update(secret=crypto.encrypt(f"secret {pk}"))
    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 40
    settings.SECRET_KEY_FALLBACKS = [old_secret_key]
    assert "Re-encrypted 3 secret(s)" in rotate()
    settings.SECRET_KEY_FALLBACKS = []
    assert {crypto.decrypt(s) for s in stored_secrets().values()} == {
        f"secret {pk}" for pk in encrypted_under_old
    }


# -- digests made under the old key --------------------------------------------------------


def test_digests_made_under_the_old_key_match_while_it_is_listed(api, user, clock):
    """A token verified and codes sent just before a rotation still work while the old key is
    listed (second), and stop when it is dropped."""
    with keys(OLD):
        alice = enable_totp(api, user, clock)
        client = alice.client()
        first = start_setup(client, kind="sms", phone_number="+14155552671").json()
        first_code = sms.outbox[-1].body.split()[0]
    with keys(NEW, OLD):
        assert client.get("/api/me/").status_code == 200
        confirmed = client.post(
            f"{AUTH}two-step/methods/{first['id']}/confirm/", {"code": first_code}, format="json"
        )
        assert confirmed.status_code == 200, confirmed.content
    with keys(OLD):
        second = start_setup(client, kind="sms", phone_number="+14155552672").json()
        second_code = sms.outbox[-1].body.split()[0]
    with keys(NEW):
        assert_error(client.get("/api/me/"), 403, "two_step_verification_required")
        with pytest.raises(InvalidCode):
            get_method(TwoStepMethod.objects.get(pk=second["id"])).verify(second_code)


@pytest.mark.parametrize("listed", [(OLD,), (NEW, OLD), (OLD, NEW)])
def test_a_keyed_digest_matches_under_any_listed_key(listed):
    with keys(OLD):
        stored = crypto.keyed_digest("value")
    with keys(*listed):
        assert crypto.matches_keyed_digest("value", stored)
        assert crypto.matches_keyed_digest("value", stored[:12], 12)
        assert not crypto.matches_keyed_digest("other value", stored)
    with keys(NEW):
        assert not crypto.matches_keyed_digest("value", stored)
