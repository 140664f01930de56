"""
Step-up with a passkey (docs/API.md, ``two-step/reverify/options/`` and ``{"credential"}`` at
``two-step/reverify/``): the software authenticator of tests/authenticator.py against the real
py_webauthn; the challenge is the caller's, works once and expires; failures count toward the
lockout; bad input is a 400 with a code; the exact queries.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from rest_framework.test import APIClient

pytest.importorskip("webauthn")
pytest.importorskip("cbor2")

from drf_twostep.models import (  # noqa: E402
    PasskeyChallenge,
    PasskeyCredential,
    SecurityEvent,
    TwoStepMethod,
    TwoStepProfile,
)
from tests import test_issuers, test_passkeys_api  # noqa: E402
from tests.authenticator import SoftAuthenticator, unb64url  # noqa: E402
from tests.helpers import AUTH, assert_error, login, token_client  # noqa: E402
from tests.test_passkeys_api import (  # noqa: E402
    ASSERTION_FIELDS,
    JUNK,
    PASSKEYS,
    REMOVE,
    RP_ID,
    _afresh,
    add_passkey,
    events,
    mutated,
)

# The fixtures of those modules: passkeys on, alice with a passkey, every issuer.
_passkeys_on = test_passkeys_api._passkeys_on
with_passkey = test_passkeys_api.with_passkey
stack = test_issuers.stack

REVERIFY = AUTH + "two-step/reverify/"
OPTIONS = AUTH + "two-step/reverify/options/"
PASSWORDLESS = AUTH + "login/passkey/"
SENSITIVE = "/api/sensitive/"  # RecentlyVerified.within(60)
BAD_CHALLENGE = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def options_for(client):
    response = client.post(OPTIONS, format="json")
    assert response.status_code == 200, response.content
    return response.json()["public_key"]


def reverify(client, credential, **body):
    return client.post(REVERIFY, {"credential": credential, **body}, format="json")


def failed_attempts(user) -> int:
    return TwoStepProfile.objects.get(user=user).failed_attempts


@pytest.fixture
def alice(with_passkey):
    """``(client, authenticator)`` of alice signed in with a token, her passkey set up."""
    authenticator, token = with_passkey
    return token_client(token), authenticator


def test_options_ask_for_the_callers_passkeys_with_a_challenge_bound_to_them(user, alice):
    client, _ = alice
    options = options_for(client)
    assert options["rpId"] == RP_ID and options["userVerification"] == "preferred"
    assert [c["id"] for c in options["allowCredentials"]] == [
        PasskeyCredential.objects.get().credential_id
    ]
    assert options["allowCredentials"][0]["transports"] == ["internal", "hybrid"]
    assert len(unb64url(options["challenge"])) == 32
    assert options["timeout"] == 300_000
    [row] = PasskeyChallenge.objects.all()
    assert (row.user_id, row.method_id, row.login_challenge_id) == (user.pk, None, None)
    # Asking again replaces the challenge: one per user.
    options_for(client)
    assert PasskeyChallenge.objects.count() == 1


def test_an_assertion_reverifies_and_is_recorded(user, clock, alice):
    client, authenticator = alice
    clock.shift(61)
    assert_error(client.get(SENSITIVE), 403, "reverification_required")
    response = reverify(client, authenticator.get(options_for(client)))
    assert response.status_code == 200, response.content
    profile = TwoStepProfile.objects.get(user=user)
    assert response.json() == {
        "verified_at": profile.last_verified_at.isoformat().replace("+00:00", "Z")
    }
    assert client.get(SENSITIVE).status_code == 200
    passkey = TwoStepMethod.objects.get(kind="passkey")
    event = SecurityEvent.objects.filter(user=user).latest("pk")
    assert (event.kind, event.method_id) == ("reverified", passkey.pk)
    assert passkey.last_used_at is not None
    assert not PasskeyChallenge.objects.exists()  # used up


def test_every_issuer_is_reverified_by_a_passkey(user, clock, stack):
    api = APIClient()
    client = stack.client(api, login(api).json())
    confirmed, authenticator = add_passkey(client)
    assert confirmed.status_code == 200, confirmed.content
    client = stack.client(client, confirmed.json())
    clock.shift(61)
    assert_error(client.get(SENSITIVE), 403, "reverification_required")
    response = reverify(client, authenticator.get(options_for(client)))
    assert response.status_code == 200, response.content
    body = response.json()
    assert ("token" in body) == (stack.name in ("jwt", "knox"))
    fresh = stack.client(APIClient(), body) if "token" in body else client
    assert fresh.get(SENSITIVE).status_code == 200


def test_a_wrong_challenge_is_refused_and_counted(user, alice):
    client, authenticator = alice
    options = options_for(client)
    response = reverify(client, authenticator.get(options, challenge=BAD_CHALLENGE))
    assert_error(response, 400, "invalid_passkey")
    assert failed_attempts(user) == 1
    assert events(user)[-1] == "verification_failed"
    # The challenge stays usable for a good assertion, which resets the count.
    assert reverify(client, authenticator.get(options)).status_code == 200
    assert failed_attempts(user) == 0


def test_options_and_their_assertion_work_once(user, alice):
    client, authenticator = alice
    first = authenticator.get(options_for(client))
    second = authenticator.get(options_for(client))  # replaces the first options
    assert_error(reverify(client, first), 400, "invalid_passkey")
    assert reverify(client, second).status_code == 200
    assert_error(reverify(client, second), 400, "invalid_passkey")
    assert failed_attempts(user) == 1
    assert events(user)[-3:] == ["verification_failed", "reverified", "verification_failed"]


def test_an_expired_challenge_is_refused(user, clock, alice):
    client, authenticator = alice
    credential = authenticator.get(options_for(client))
    clock.shift(301)
    assert_error(reverify(client, credential), 400, "invalid_passkey")


def test_another_users_credential_or_challenge_is_refused(user, other_user, alice):
    client, authenticator = alice
    bob_token = login(APIClient(), "bob").json()["token"]
    confirmed, bobs = add_passkey(token_client(bob_token))
    assert confirmed.status_code == 200, confirmed.content
    bob = token_client(confirmed.json()["token"])
    alices_options = options_for(client)
    # Bob's passkey on alice's credential, for her own challenge.
    assert_error(reverify(client, bobs.get(alices_options)), 400, "invalid_passkey")
    # Alice's challenge signed by bob's passkey, sent with bob's credential.
    assert_error(reverify(bob, bobs.get(alices_options)), 400, "invalid_passkey")
    assert failed_attempts(user) == 1 and failed_attempts(other_user) == 1
    # Alice's options still work for her.
    assert reverify(client, authenticator.get(alices_options)).status_code == 200


def test_a_step_up_challenge_does_not_sign_anyone_in(alice):
    client, authenticator = alice
    options = options_for(client)
    body = {"challenge": options["challenge"], "credential": authenticator.get(options)}
    assert_error(APIClient().post(PASSWORDLESS, body, format="json"), 400, "invalid_passkey")
    assert reverify(client, body["credential"]).status_code == 200


def test_a_sign_count_that_goes_back_is_refused_and_recorded(api, user):
    client = token_client(login(api).json()["token"])
    confirmed, authenticator = add_passkey(client, SoftAuthenticator(counter=10))
    client = token_client(confirmed.json()["token"])
    assert reverify(client, authenticator.get(options_for(client))).status_code == 200
    copied = authenticator.get(options_for(client), sign_count=5)
    assert_error(reverify(client, copied), 400, "invalid_passkey")
    assert events(user)[-1] == "passkey_clone_suspected"
    assert PasskeyCredential.objects.get().sign_count == 11


def test_failed_assertions_lock_the_user_out_as_codes_do(user, alice):
    client, authenticator = alice
    for _ in range(5):
        bad = authenticator.get(options_for(client), tamper=True)
        assert_error(reverify(client, bad), 400, "invalid_passkey")
    good = authenticator.get(options_for(client))
    assert_error(reverify(client, good), 429, "too_many_attempts")
    assert "locked_out" in events(user)


def test_the_method_must_be_the_passkey_that_signed(user_with_totp):
    client = user_with_totp.client()
    confirmed, authenticator = add_passkey(client)
    assert confirmed.status_code == 200, confirmed.content
    passkey = TwoStepMethod.objects.get(kind="passkey")
    credential = authenticator.get(options_for(client))
    response = reverify(client, credential, method=user_with_totp.method_id)
    assert_error(response, 400, "invalid_passkey")
    assert reverify(client, credential, method=passkey.pk).status_code == 200


def test_without_a_passkey_there_are_no_options(user_with_totp):
    client = user_with_totp.client()
    body = assert_error(client.post(OPTIONS, format="json"), 400, "method_not_allowed")
    assert "passkey" in body["detail"]
    assert_error(reverify(client, {"id": "x"}), 400, "invalid_passkey")


def test_without_two_step_or_a_credential_there_is_nothing_to_reverify(api, user):
    client = token_client(login(api).json()["token"])
    assert_error(client.post(OPTIONS, format="json"), 409, "two_step_not_enabled")
    assert_error(api.post(OPTIONS, format="json"), 401, "not_authenticated")


def test_without_the_relying_party_the_kind_is_not_allowed(alice):
    client, authenticator = alice
    credential = authenticator.get(options_for(client))
    unset = {k: v for k, v in django_settings.DRF_TWOSTEP.items() if k not in PASSKEYS}
    with override_settings(DRF_TWOSTEP=unset):
        assert_error(client.post(OPTIONS, format="json"), 400, "method_not_allowed")
        assert_error(reverify(client, credential), 400, "method_not_allowed")


def test_options_are_throttled_like_the_second_step(alice, settings):
    client, _ = alice
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "THROTTLE_RATES": {"twostep_verify": "1/min"}}
    options_for(client)
    assert_error(client.post(OPTIONS, format="json"), 429, "throttled")


def test_every_field_of_an_assertion_malformed_is_invalid_passkey(alice):
    client, authenticator = alice
    for path, junk in [(path, junk) for path in ASSERTION_FIELDS for junk in [*JUNK, REMOVE]]:
        _afresh()
        bad = mutated(authenticator.get(options_for(client)), path, junk)
        assert_error(reverify(client, bad), 400, "invalid_passkey")
    for junk in [None, *JUNK]:
        _afresh()
        assert_error(reverify(client, junk), 400, "invalid_passkey")


def test_the_queries_of_a_step_up_with_a_passkey(alice, django_assert_num_queries):
    client, authenticator = alice
    # The token with its user and 2SV state; savepoint, the passkeys, the earlier challenge
    # deleted, the new one, release.
    with django_assert_num_queries(6):
        options = options_for(client)
    credential = authenticator.get(options)
    # The token; savepoint, the locked profile, the locked passkey method (with its
    # credential and the user handle), the challenge found and deleted, the sign count, the
    # last use, the profile saved, the event; release.
    with django_assert_num_queries(11):
        assert reverify(client, credential).status_code == 200
