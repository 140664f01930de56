"""
Passkeys at the method level: the three ceremonies against a software authenticator
(tests/authenticator.py), verified by the package's real code and py_webauthn, on the test
database. Every verify runs in a transaction, as the flows that call it do.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("webauthn")
cbor2 = pytest.importorskip("cbor2")

from drf_twostep.constants import MethodStatus  # noqa: E402
from drf_twostep.exceptions import InvalidPasskey, PasskeyCloneSuspected  # noqa: E402
from drf_twostep.methods import _webauthn, get_method, get_method_class  # noqa: E402
from drf_twostep.methods import passkey as passkeys  # noqa: E402
from drf_twostep.models import (  # noqa: E402
    LoginChallenge,
    PasskeyChallenge,
    PasskeyCredential,
    PasskeyUserHandle,
    TwoStepMethod,
)
from tests.authenticator import SoftAuthenticator, b64url, unb64url  # noqa: E402

RP_ID = "example.com"
ORIGINS = ["https://example.com", "https://app.example.com"]
SETTINGS = {
    "ISSUER_NAME": "Test Clinic",
    "METHOD_CLASSES": [
        "drf_twostep.methods.totp.AuthenticatorAppMethod",
        "drf_twostep.methods.passkey.PasskeyMethod",
    ],
    "WEBAUTHN_RP_ID": RP_ID,
    "WEBAUTHN_ORIGINS": ORIGINS,
}


@pytest.fixture(autouse=True)
def _passkeys_on():
    with override_settings(DRF_TWOSTEP=SETTINGS):
        yield


def pending(user, name="Passkey"):
    return TwoStepMethod.objects.create(user=user, kind="passkey", name=name)


def setup_options(method):
    with transaction.atomic():
        return get_method(method).after_setup()["public_key"]


def committed(call, *args, **kwargs):
    """``call`` in a transaction that commits whatever it raises, as the flows do (they
    count a failure before they raise it)."""
    failure = result = None
    with transaction.atomic():
        try:
            result = call(*args, **kwargs)
        except InvalidPasskey as exc:
            failure = exc
    if failure is not None:
        raise failure
    return result


def register(method, credential):
    def locked_verify():
        locked = TwoStepMethod.objects.select_for_update().get(pk=method.pk)
        get_method(locked).verify(credential)

    committed(locked_verify)


def enroll(user, authenticator=None, **create):
    """A confirmed passkey method of ``user``: ``(method, authenticator)``."""
    authenticator = authenticator or SoftAuthenticator()
    method = pending(user)
    register(method, authenticator.create(setup_options(method), **create))
    method.status = MethodStatus.ACTIVE.value
    method.save(update_fields=["status"])
    return method, authenticator


def new_login_challenge(user, lifetime=300):
    now = timezone.now()
    return LoginChallenge.objects.create(
        digest=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        user=user,
        backend="django.contrib.auth.backends.ModelBackend",
        expires_at=now + timedelta(seconds=lifetime),
    )


def second_step(login_challenge, credential, method=None):
    def locked_verify():
        locked = LoginChallenge.objects.select_for_update().get(pk=login_challenge.pk)
        return passkeys.verify_second_step(locked, credential, method=method)

    return committed(locked_verify)


def passwordless(challenge, credential):
    return committed(passkeys.verify_passwordless, challenge, credential)


@pytest.fixture
def enrolled(user):
    return enroll(user)


# -- registration -------------------------------------------------------------------------


def test_creation_options_are_as_the_contract_gives_them(user, other_user):
    first, _ = enroll(user)
    second, _ = enroll(user)
    enroll(other_user)
    method = pending(user)
    options = setup_options(method)
    assert options["rp"] == {"id": RP_ID, "name": "Test Clinic"}
    assert len(unb64url(options["challenge"])) == 32
    assert options["attestation"] == "none"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -8, -257]
    assert {p["type"] for p in options["pubKeyCredParams"]} == {"public-key"}
    selection = options["authenticatorSelection"]
    assert selection["residentKey"] == "preferred"
    assert selection["userVerification"] == "preferred"
    # The user's other passkeys, not another user's and not the pending one.
    excluded = [c["id"] for c in options["excludeCredentials"]]
    assert excluded == [first.passkey.credential_id, second.passkey.credential_id]
    assert options["excludeCredentials"][0]["transports"] == ["internal", "hybrid"]
    # user.id: the opaque handle, 64 random bytes, the same at every setup of this user.
    handle = unb64url(options["user"]["id"])
    assert len(handle) == 64
    assert handle == unb64url(PasskeyUserHandle.objects.get(user=user).handle)
    assert handle not in (str(user.pk).encode(), user.username.encode(), user.email.encode())
    assert options["user"]["name"] == user.email
    other = PasskeyUserHandle.objects.get(user=other_user).handle
    assert other != PasskeyUserHandle.objects.get(user=user).handle
    assert options["timeout"] > 0


def test_a_registration_is_verified_and_stored_without_secrets(user):
    authenticator = SoftAuthenticator(counter=7, backup_eligible=True, backed_up=False)
    authenticator.aaguid = bytes(range(16))
    method = pending(user)
    register(method, authenticator.create(setup_options(method)))
    stored = PasskeyCredential.objects.get(method=method)
    assert unb64url(stored.credential_id) == authenticator.credential_id
    assert stored.credential_id_digest == hashlib.sha256(authenticator.credential_id).hexdigest()
    assert bytes(stored.public_key) == authenticator.key.cose()
    assert stored.sign_count == 7
    assert stored.transports == ["internal", "hybrid"]
    assert stored.aaguid == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert (stored.backup_eligible, stored.backup_state) == (True, False)
    # The setup challenge is used up.
    assert not PasskeyChallenge.objects.filter(method=method).exists()


@pytest.mark.parametrize("alg", [-7, -8, -257], ids=["ES256", "EdDSA", "RS256"])
def test_registration_and_second_step_round_trip(user, alg):
    method, authenticator = enroll(user, SoftAuthenticator(alg=alg, counter=0))
    login_challenge = new_login_challenge(user)
    options = passkeys.login_options(login_challenge)
    assert options["allowCredentials"] == [
        {
            "id": b64url(authenticator.credential_id),
            "type": "public-key",
            "transports": ["internal", "hybrid"],
        }
    ]
    assert options["userVerification"] == "preferred"
    assert options["rpId"] == RP_ID
    used = second_step(login_challenge, authenticator.get(options))
    assert used.pk == method.pk and used.last_used_at is not None
    method.refresh_from_db()
    assert method.last_used_at == used.last_used_at
    assert PasskeyCredential.objects.get(method=method).sign_count == 1


def test_an_app_origin_of_the_list_is_accepted(user):
    method, authenticator = enroll(user, origin="https://app.example.com")
    login_challenge = new_login_challenge(user)
    options = passkeys.login_options(login_challenge)
    assert second_step(login_challenge, authenticator.get(options, origin=ORIGINS[1])) == method


@pytest.mark.parametrize(
    "change",
    [
        {"origin": "https://evil.example"},
        {"origin": "https://example.com:8443"},
        {"rp_id": "evil.example"},
        {"challenge": b64url(b"\x00" * 32)},
        {"kind": "webauthn.get"},
        {"up": False},
        {"fmt": "packed"},
        {"att_stmt": {"alg": -7}},
        {"attested_credential_id": b"\x01" * 32},
        {"be": False, "bs": True},
    ],
    ids=lambda change: ",".join(change),
)
def test_a_registration_that_does_not_verify_is_refused(user, change):
    method = pending(user)
    options = setup_options(method)
    with pytest.raises(InvalidPasskey):
        register(method, SoftAuthenticator().create(options, **change))
    assert not PasskeyCredential.objects.exists()
    # Nothing was used up: the right credential still works.
    register(method, SoftAuthenticator().create(options))


@pytest.mark.parametrize(
    "cose",
    [
        cbor2.dumps(5),
        cbor2.dumps([1, 2]),
        cbor2.dumps({}),
        cbor2.dumps({1: 2}),
        cbor2.dumps({1: 2, 3: -7, -1: 1, -2: b"x" * 32}),
        # A point that is not on the curve.
        cbor2.dumps({1: 2, 3: -7, -1: 1, -2: b"x" * 32, -3: b"y" * 32}),
        # An algorithm not offered (ES384).
        cbor2.dumps({1: 2, 3: -35, -1: 2, -2: b"x" * 48, -3: b"y" * 48}),
        cbor2.dumps({1: 1, 3: -8, -1: 6, -2: b"short"}),
    ],
    ids=["int", "list", "empty", "kty only", "no y", "off the curve", "ES384", "short Ed25519"],
)
def test_a_public_key_that_cannot_verify_is_refused_at_registration(user, cose):
    method = pending(user)
    with pytest.raises(InvalidPasskey):
        register(method, SoftAuthenticator().create(setup_options(method), cose=cose))


def test_the_challenge_of_another_pending_method_is_refused(user):
    first, second = pending(user, "first"), pending(user, "second")
    options = setup_options(first)
    setup_options(second)
    with pytest.raises(InvalidPasskey):
        register(second, SoftAuthenticator().create(options))


def test_new_creation_options_replace_the_earlier_challenge(user):
    method = pending(user)
    earlier = setup_options(method)
    setup_options(method)
    with pytest.raises(InvalidPasskey):
        register(method, SoftAuthenticator().create(earlier))
    assert PasskeyChallenge.objects.filter(method=method).count() == 1


def test_a_registration_after_the_pending_lifetime_is_refused(user, clock):
    method = pending(user)
    credential = SoftAuthenticator().create(setup_options(method))
    clock.shift(900)
    with pytest.raises(InvalidPasskey):
        register(method, credential)


def test_a_credential_id_registered_before_is_refused(user, other_user):
    _, authenticator = enroll(user)
    method = pending(other_user)
    twin = SoftAuthenticator(credential_id=authenticator.credential_id)
    with pytest.raises(InvalidPasskey, match="already registered"):
        register(method, twin.create(setup_options(method)))
    assert PasskeyCredential.objects.count() == 1


def test_user_verification_is_not_required_at_registration(user):
    method = pending(user)
    register(method, SoftAuthenticator().create(setup_options(method), uv=False))
    assert PasskeyCredential.objects.filter(method=method).exists()


# -- the second step ----------------------------------------------------------------------


def test_the_same_assertion_is_accepted_once(user, enrolled):
    _, authenticator = enrolled
    login_challenge = new_login_challenge(user)
    assertion = authenticator.get(passkeys.login_options(login_challenge))
    second_step(login_challenge, assertion)
    with pytest.raises(InvalidPasskey) as raised:
        second_step(login_challenge, assertion)
    assert not isinstance(raised.value, PasskeyCloneSuspected)


def test_an_assertion_for_another_login_challenge_is_refused(user, enrolled):
    _, authenticator = enrolled
    first, second = new_login_challenge(user), new_login_challenge(user, lifetime=200)
    assertion = authenticator.get(passkeys.login_options(first))
    passkeys.login_options(second)
    with pytest.raises(InvalidPasskey):
        second_step(second, assertion)
    second_step(first, assertion)


def test_another_users_credential_is_refused(user, other_user, enrolled):
    _, bobs = enroll(other_user)
    login_challenge = new_login_challenge(user)
    options = passkeys.login_options(login_challenge)
    with pytest.raises(InvalidPasskey) as raised:
        second_step(login_challenge, bobs.get(options))
    assert raised.value.method is None


def test_an_assertion_by_another_method_than_the_one_named_is_refused(user, enrolled):
    method, authenticator = enrolled
    other, _ = enroll(user)
    login_challenge = new_login_challenge(user)
    assertion = authenticator.get(passkeys.login_options(login_challenge))
    with pytest.raises(InvalidPasskey):
        second_step(login_challenge, assertion, method=other)
    assert second_step(login_challenge, assertion, method=method) == method


def test_a_pending_or_removed_passkey_does_not_sign_in(user):
    method, authenticator = enroll(user)
    login_challenge = new_login_challenge(user)
    options = passkeys.login_options(login_challenge)
    TwoStepMethod.objects.filter(pk=method.pk).update(status=MethodStatus.PENDING.value)
    with pytest.raises(InvalidPasskey):
        second_step(login_challenge, authenticator.get(options))
    assert passkeys.login_options(new_login_challenge(user, lifetime=100)) is None


@pytest.mark.parametrize(
    "change",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://example.com"},
        {"rp_id": "evil.example"},
        {"rp_id": "app.example.com"},
        {"challenge": b64url(b"\x00" * 32)},
        {"kind": "webauthn.create"},
        {"up": False},
        {"tamper": True},
        {"key": "another"},
        {"user_handle": b"\x00" * 64},
        {"be": False, "bs": False},
    ],
    ids=lambda change: ",".join(change),
)
def test_an_assertion_that_does_not_verify_is_refused(user, enrolled, change):
    method, authenticator = enrolled
    if change.get("key") == "another":
        change = {"key": SoftAuthenticator().key}
    login_challenge = new_login_challenge(user)
    options = passkeys.login_options(login_challenge)
    with pytest.raises(InvalidPasskey) as raised:
        second_step(login_challenge, authenticator.get(options, **change))
    assert not isinstance(raised.value, PasskeyCloneSuspected)
    assert raised.value.method == method
    # Nothing was used up: the right assertion still works.
    assert second_step(login_challenge, authenticator.get(options)) == method


def test_user_verification_is_preferred_not_required_at_the_second_step(user, enrolled):
    method, authenticator = enrolled
    login_challenge = new_login_challenge(user)
    assertion = authenticator.get(passkeys.login_options(login_challenge), uv=False)
    assert second_step(login_challenge, assertion) == method


def test_an_assertion_without_a_user_handle_is_accepted_at_the_second_step(user, enrolled):
    method, authenticator = enrolled
    login_challenge = new_login_challenge(user)
    assertion = authenticator.get(passkeys.login_options(login_challenge), user_handle=None)
    assert second_step(login_challenge, assertion) == method


def test_an_assertion_after_the_login_challenge_expired_is_refused(user, enrolled, clock):
    _, authenticator = enrolled
    login_challenge = new_login_challenge(user)
    assertion = authenticator.get(passkeys.login_options(login_challenge))
    clock.shift(300)
    with pytest.raises(InvalidPasskey):
        second_step(login_challenge, assertion)


def test_the_backup_state_follows_the_authenticator(user):
    method, authenticator = enroll(user, SoftAuthenticator(backed_up=False))
    login_challenge = new_login_challenge(user)
    options = passkeys.login_options(login_challenge)
    second_step(login_challenge, authenticator.get(options, bs=True))
    assert PasskeyCredential.objects.get(method=method).backup_state is True


# -- the sign count -----------------------------------------------------------------------


def _assert_with_count(user, authenticator, count):
    login_challenge = new_login_challenge(user)
    options = passkeys.login_options(login_challenge)
    return second_step(login_challenge, authenticator.get(options, sign_count=count))


def test_a_count_that_does_not_increase_is_a_suspected_clone(user):
    method, authenticator = enroll(user, SoftAuthenticator(counter=10))
    _assert_with_count(user, authenticator, 11)
    for count in (11, 3):
        with pytest.raises(PasskeyCloneSuspected) as raised:
            _assert_with_count(user, authenticator, count)
        assert raised.value.method == method
        assert raised.value.code == "invalid_passkey"
    assert PasskeyCredential.objects.get(method=method).sign_count == 11
    _assert_with_count(user, authenticator, 12)
    assert PasskeyCredential.objects.get(method=method).sign_count == 12


def test_a_count_of_zero_after_counting_is_a_suspected_clone(user):
    method, authenticator = enroll(user, SoftAuthenticator(counter=4))
    with pytest.raises(PasskeyCloneSuspected):
        _assert_with_count(user, authenticator, 0)
    assert PasskeyCredential.objects.get(method=method).sign_count == 4


def test_a_suspected_clone_uses_the_challenge_up(user):
    _, authenticator = enroll(user, SoftAuthenticator(counter=4))
    login_challenge = new_login_challenge(user)
    options = passkeys.login_options(login_challenge)
    with pytest.raises(PasskeyCloneSuspected):
        second_step(login_challenge, authenticator.get(options, sign_count=4))
    with pytest.raises(InvalidPasskey) as raised:
        second_step(login_challenge, authenticator.get(options, sign_count=5))
    assert not isinstance(raised.value, PasskeyCloneSuspected)


def test_a_passkey_that_never_counts_is_accepted_again_and_again(user):
    method, authenticator = enroll(user, SoftAuthenticator(counter=None))
    for _ in range(3):
        assert _assert_with_count(user, authenticator, 0) == method
    assert PasskeyCredential.objects.get(method=method).sign_count == 0


def test_an_authenticator_may_start_counting(user):
    method, authenticator = enroll(user, SoftAuthenticator(counter=None))
    _assert_with_count(user, authenticator, 1)
    assert PasskeyCredential.objects.get(method=method).sign_count == 1


def test_counts_up_to_the_largest_32_bit_value_are_stored(user):
    method, authenticator = enroll(user, SoftAuthenticator(counter=2**32 - 2))
    _assert_with_count(user, authenticator, 2**32 - 1)
    assert PasskeyCredential.objects.get(method=method).sign_count == 2**32 - 1


# -- a passkey alone ----------------------------------------------------------------------


def test_a_passkey_alone_signs_its_user_in(user, other_user):
    enroll(other_user)
    method, authenticator = enroll(user)
    started = passkeys.passwordless_options()
    options = started["public_key"]
    assert started["expires_in"] == 300
    assert started["challenge"] == options["challenge"]
    assert options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    used = passwordless(started["challenge"], authenticator.get(options))
    assert used == method and used.user == user


@pytest.mark.parametrize(
    "change",
    [{"uv": False}, {"user_handle": None}, {"user_handle": b"\x01" * 64}, {"tamper": True}],
    ids=lambda change: ",".join(change),
)
def test_a_passkey_alone_needs_user_verification_and_its_user_handle(user, enrolled, change):
    method, authenticator = enrolled
    started = passkeys.passwordless_options()
    with pytest.raises(InvalidPasskey) as raised:
        passwordless(started["challenge"], authenticator.get(started["public_key"], **change))
    assert raised.value.method == method
    assert passwordless(started["challenge"], authenticator.get(started["public_key"])) == method


def test_an_unknown_credential_and_missing_verification_get_the_same_answer(user, enrolled):
    _, authenticator = enrolled
    started = passkeys.passwordless_options()
    answers = []
    for credential in (
        SoftAuthenticator().get(started["public_key"], user_handle=b"\x02" * 64),
        authenticator.get(started["public_key"], uv=False),
    ):
        with pytest.raises(InvalidPasskey) as raised:
            passwordless(started["challenge"], credential)
        answers.append((type(raised.value), raised.value.detail))
    assert answers[0] == answers[1]


def test_a_passkey_alone_works_once_per_challenge(user, enrolled):
    _, authenticator = enrolled
    started = passkeys.passwordless_options()
    assertion = authenticator.get(started["public_key"])
    passwordless(started["challenge"], assertion)
    with pytest.raises(InvalidPasskey):
        passwordless(started["challenge"], assertion)


@pytest.mark.parametrize("challenge", ["another", "login", b64url(b"\x00" * 32), None, 7, "!!"])
def test_a_passkey_alone_for_another_challenge_is_refused(user, enrolled, challenge):
    """An assertion that answers one challenge, sent with another."""
    _, authenticator = enrolled
    started = passkeys.passwordless_options()
    other = passkeys.passwordless_options()["challenge"]
    if challenge == "another":
        challenge = other
    elif challenge == "login":
        # The challenge of a second step is no passkey-alone challenge.
        challenge = passkeys.login_options(new_login_challenge(user))["challenge"]
    with pytest.raises(InvalidPasskey):
        passwordless(challenge, authenticator.get(started["public_key"]))


def test_a_passkey_alone_after_its_lifetime_is_refused(user, enrolled, clock):
    _, authenticator = enrolled
    started = passkeys.passwordless_options()
    assertion = authenticator.get(started["public_key"])
    clock.shift(300)
    with pytest.raises(InvalidPasskey):
        passwordless(started["challenge"], assertion)
    assert passkeys.delete_expired_challenges() == 1


# -- queries ------------------------------------------------------------------------------


def test_the_queries_of_each_verify(user, enrolled):
    """The method and its credential (locked), the challenge, its deletion, the sign-count
    UPDATE and last_used_at: five queries for either assertion."""
    _, authenticator = enrolled
    login_challenge = new_login_challenge(user)
    assertion = authenticator.get(passkeys.login_options(login_challenge))
    started = passkeys.passwordless_options()
    alone = authenticator.get(started["public_key"])
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            passkeys.verify_second_step(login_challenge, assertion)
        assert len(queries) == 5, [q["sql"] for q in queries]
        with CaptureQueriesContext(connection) as queries:
            passkeys.verify_passwordless(started["challenge"], alone)
        assert len(queries) == 5, [q["sql"] for q in queries]


# -- malformed credentials ----------------------------------------------------------------


def _paths(credential, prefix=()):
    for key, value in credential.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _paths(value, (*prefix, key))


def _set(credential, path, value):
    changed = copy.deepcopy(credential)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is _MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


_MISSING = object()
BAD_VALUES = {
    "missing": _MISSING,
    "null": None,
    "number": 12,
    "huge number": 10**400,
    "float": 1.5,
    "true": True,
    "list": ["a"],
    "object": {"a": 1},
    "empty": "",
    "not base64url": "ab+c/d==",
    "bad character": "abc!def",
    "one character too many": "abcde",
    "huge": "A" * 300_000,
    "nul": "\x00",
}
# Fields that do not matter to verification: any value is accepted, or refused as
# InvalidPasskey; never another exception.
IGNORED = {
    ("authenticatorAttachment",),
    ("clientExtensionResults",),
    ("response", "authenticatorData"),
    ("response", "publicKey"),
    ("response", "publicKeyAlgorithm"),
    ("response", "transports"),
    ("response", "userHandle"),
}


def _registration(user):
    method = pending(user)
    return lambda credential: register(method, credential), SoftAuthenticator().create(
        setup_options(method)
    )


def _assertion(user):
    _, authenticator = enroll(user)
    login_challenge = new_login_challenge(user)
    good = authenticator.get(passkeys.login_options(login_challenge))
    return lambda credential: second_step(login_challenge, credential), good


@pytest.mark.parametrize("bad", BAD_VALUES, ids=str)
@pytest.mark.parametrize("ceremony", [_registration, _assertion], ids=["registration", "assertion"])
def test_a_malformed_field_is_an_invalid_passkey(user, ceremony, bad):
    verify, good = ceremony(user)
    for path in _paths(good):
        try:
            verify(_set(good, path, BAD_VALUES[bad]))
        except InvalidPasskey:
            continue
        assert path in IGNORED, (path, bad)
        verify, good = ceremony(user)  # that one was used up


@pytest.mark.parametrize(
    "credential", [None, 1, [], "", "[]", "{", "null", '{"type": "public-key"}', "x" * 300_000]
)
def test_a_credential_that_is_no_object_is_an_invalid_passkey(user, credential):
    for ceremony in (_registration, _assertion):
        verify, _ = ceremony(user)
        with pytest.raises(InvalidPasskey):
            verify(credential)


def test_a_credential_given_as_a_json_string_is_read(user):
    verify, good = _registration(user)
    verify(json.dumps(good))
    assert PasskeyCredential.objects.count() == 1


def test_the_kind_is_unavailable_without_the_relying_party(user):
    assert get_method_class("passkey") is passkeys.PasskeyMethod
    for missing in ({"WEBAUTHN_RP_ID": None}, {"WEBAUTHN_ORIGINS": []}):
        with override_settings(DRF_TWOSTEP={**SETTINGS, **missing}):
            assert get_method_class("passkey") is None


# -- fuzzing the library boundary ---------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
CHALLENGE = b"\x07" * 32
OPTIONS = {
    "challenge": b64url(CHALLENGE),
    "user": {"id": b64url(b"\x05" * 64)},
}


def _mutate(data: bytes, draw_positions, draw_bytes) -> bytes:
    out = bytearray(data)
    for position, value in zip(draw_positions, draw_bytes, strict=False):
        out[position % len(out)] = value
    return bytes(out)


@st.composite
def corrupted(draw, credential, fields):
    """``credential`` with the decoded bytes of one of ``fields`` changed, cut or extended,
    re-encoded as valid base64url (so that the damage reaches the parsers behind it)."""
    field = draw(st.sampled_from(fields))
    data = unb64url(credential["response"][field])
    how = draw(st.sampled_from(["bytes", "cut", "extend"]))
    if how == "bytes":
        positions = draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=4))
        values = draw(st.lists(st.integers(0, 255), min_size=len(positions), max_size=4))
        data = _mutate(data, positions, values)
    elif how == "cut":
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
    else:
        data += draw(st.binary(min_size=1, max_size=64))
    changed = copy.deepcopy(credential)
    changed["response"][field] = b64url(data)
    return changed, changed != credential


@st.composite
def replaced(draw, credential):
    """``credential`` with one field anywhere in it replaced by any JSON value."""
    path = draw(st.sampled_from(list(_paths(credential))))
    return _set(credential, path, draw(json_values)), path


REGISTERING = SoftAuthenticator()
REGISTRATION = REGISTERING.create({**OPTIONS})
ASSERTION = REGISTERING.get(OPTIONS, sign_count=1)


def _verify_registration(credential):
    with override_settings(DRF_TWOSTEP=SETTINGS):
        parsed = _webauthn.parse_registration(credential)
        _webauthn.verify_registration(parsed, _webauthn.client_challenge(parsed))


def _verify_assertion(credential):
    with override_settings(DRF_TWOSTEP=SETTINGS):
        parsed = _webauthn.parse_authentication(credential)
        challenge = _webauthn.client_challenge(parsed)
        _webauthn.verify_authentication(parsed, challenge, REGISTERING.key.cose(), require_uv=False)


def test_the_fuzzed_credentials_verify_unchanged():
    _verify_registration(REGISTRATION)
    _verify_assertion(ASSERTION)


@FUZZ
@given(corrupted(REGISTRATION, ["clientDataJSON", "attestationObject"]))
def test_corrupted_registration_bytes_never_raise_anything_but_invalid_passkey(case):
    # Nothing signs a registration with "none" attestation: some changes (the AAGUID, a
    # flag) still verify. What matters is that nothing else is raised.
    credential, _ = case
    try:
        _verify_registration(credential)
    except InvalidPasskey:
        pass


@FUZZ
@given(corrupted(ASSERTION, ["clientDataJSON", "authenticatorData", "signature"]))
def test_corrupted_assertion_bytes_are_an_invalid_passkey(case):
    credential, changed = case
    if changed:
        with pytest.raises(InvalidPasskey):
            _verify_assertion(credential)


@FUZZ
@given(replaced(REGISTRATION))
def test_any_json_in_any_registration_field_never_raises_anything_else(case):
    credential, _ = case
    try:
        _verify_registration(credential)
    except InvalidPasskey:
        pass


@FUZZ
@given(replaced(ASSERTION))
def test_any_json_in_any_assertion_field_never_raises_anything_else(case):
    credential, path = case
    try:
        _verify_assertion(credential)
    except InvalidPasskey:
        return
    assert path in IGNORED or credential == ASSERTION, path
