"""
The Django admin's second step with a passkey: the page carries the request options of the
login challenge and a field for the credential's JSON, which the server checks as
``login/verify/`` does (``services.verify_login``: the lockout, the events, the verified
session). The software authenticator of tests/authenticator.py against the real py_webauthn.
"""

from __future__ import annotations

import json
import re
from html import unescape as html_unescape

import pytest
from django.test import Client

pytest.importorskip("webauthn")
pytest.importorskip("cbor2")

from rest_framework.test import APIClient  # noqa: E402

from drf_twostep.admin_site import ADMIN_CHALLENGE_KEY  # noqa: E402
from drf_twostep.constants import SESSION_VERIFIED_KEY  # noqa: E402
from drf_twostep.models import PasskeyChallenge, SecurityEvent, TwoStepMethod  # noqa: E402
from tests import test_passkeys_api  # noqa: E402
from tests.helpers import login, token_client  # noqa: E402
from tests.test_admin_login import (  # noqa: E402
    INDEX,
    code_step,
    errors_of,
    failed_attempts,
    password_step,
    signed_in_user_id,
)
from tests.test_passkeys_api import add_passkey  # noqa: E402

# The fixtures of that module: passkeys on, alice with a passkey.
_passkeys_on = test_passkeys_api._passkeys_on
with_passkey = test_passkeys_api.with_passkey

OPTIONS = re.compile(r'<script id="twostep-passkey-options" type="application/json">(.*?)</script>')
INVALID_PASSKEY = "This passkey could not be verified. Try again, or use another method."


def options_of(response) -> dict:
    """The request options the second step's page carries."""
    found = OPTIONS.search(response.content.decode())
    assert found, "no passkey options on the page"
    return json.loads(found.group(1))


def with_credential(browser, credential):
    return code_step(browser, credential=json.dumps(credential))


def make_staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])


@pytest.fixture
def staff(user, with_passkey):
    """alice, staff, whose only method is a passkey: her authenticator."""
    make_staff(user)
    return with_passkey[0]


@pytest.fixture
def browser():
    return Client()


def last_event(user):
    return SecurityEvent.objects.filter(user=user).latest("pk")


def test_a_passkey_completes_the_admins_second_step(browser, user, staff):
    page = password_step(browser)
    html = page.content.decode()
    assert "Use a passkey" in html and 'name="credential"' in html
    assert "drf_twostep/admin/passkey.js" in html
    # A passkey is no method to type a code of: no code field, no method to choose.
    assert 'name="code"' not in html and 'name="method"' not in html
    options = options_of(page)
    assert options["rpId"] == "example.com" and len(options["allowCredentials"]) == 1

    response = with_credential(browser, staff.get(options))
    assert response.status_code == 302 and response["Location"] == INDEX
    assert signed_in_user_id(browser) == str(user.pk)
    assert browser.session[SESSION_VERIFIED_KEY] is True
    assert ADMIN_CHALLENGE_KEY not in browser.session
    assert browser.get(INDEX).status_code == 200
    event = last_event(user)
    assert (event.kind, event.method_id) == (
        "verification_succeeded",
        TwoStepMethod.objects.get(kind="passkey").pk,
    )
    assert not PasskeyChallenge.objects.exists()


def test_a_wrong_passkey_is_refused_and_counted_and_the_page_asks_afresh(browser, user, staff):
    options = options_of(password_step(browser))
    response = with_credential(browser, staff.get(options, tamper=True))
    assert response.status_code == 200
    assert errors_of(response) == [INVALID_PASSKEY]
    assert failed_attempts(user) == 1
    assert last_event(user).kind == "verification_failed"
    assert signed_in_user_id(browser) is None
    # The page shown again has options of its own: the first ones no longer work.
    fresh = options_of(response)
    assert fresh["challenge"] != options["challenge"]
    stale = with_credential(browser, staff.get(options))
    assert errors_of(stale) == [INVALID_PASSKEY]
    assert failed_attempts(user) == 2
    response = with_credential(browser, staff.get(options_of(stale)))
    assert response.status_code == 302 and response["Location"] == INDEX


def test_an_assertion_works_once(browser, user, staff):
    credential = staff.get(options_of(password_step(browser)))
    assert with_credential(browser, credential).status_code == 302
    # The same assertion at a new sign-in, in another browser.
    other = Client()
    password_step(other)
    replayed = with_credential(other, credential)
    assert errors_of(replayed) == [INVALID_PASSKEY]
    assert signed_in_user_id(other) is None
    assert failed_attempts(user) == 1


def test_another_users_passkey_is_refused(browser, user, other_user, staff):
    client = token_client(login(APIClient(), "bob").json()["token"])
    confirmed, bobs = add_passkey(client)
    assert confirmed.status_code == 200, confirmed.content
    options = options_of(password_step(browser))
    assert errors_of(with_credential(browser, bobs.get(options))) == [INVALID_PASSKEY]
    assert failed_attempts(user) == 1


@pytest.mark.parametrize(
    "credential",
    ["{", "null", "[]", '"x"', '{"type": "public-key"}', "x" * 300_000],
    ids=["truncated", "null", "list", "string", "partial", "huge"],
)
def test_a_malformed_credential_is_a_form_error_never_a_500(browser, user, staff, credential):
    password_step(browser)
    response = code_step(browser, credential=credential)
    assert response.status_code == 200
    assert errors_of(response) == [INVALID_PASSKEY]
    assert signed_in_user_id(browser) is None


def test_the_code_methods_stay_beside_the_passkey(browser, user_with_totp):
    make_staff(user_with_totp.user)
    confirmed, authenticator = add_passkey(user_with_totp.client())
    assert confirmed.status_code == 200, confirmed.content
    page = password_step(browser)
    html = page.content.decode()
    assert 'name="code"' in html and "Use a passkey" in html
    # The code is of the authenticator app, the only method offered to type one of.
    assert f'name="method" value="{user_with_totp.method_id}"' in html
    assert code_step(browser, code=user_with_totp.code()).status_code == 302


def test_without_a_passkey_the_page_offers_none(browser, user_with_totp):
    make_staff(user_with_totp.user)
    html = password_step(browser).content.decode()
    assert "Use a passkey" not in html and "twostep-passkey-options" not in html


def test_the_passkey_step_speaks_the_users_language(browser, staff):
    from django.utils import translation

    with translation.override("fr"):
        page = password_step(browser)
        html = page.content.decode()
        assert "Utiliser une clé d’accès" in html
        assert "Utilisez votre clé d’accès ou un code de secours." in html
        refused = with_credential(browser, staff.get(options_of(page), tamper=True))
    assert [html_unescape(error) for error in errors_of(refused)] == [
        "Cette clé d'accès n'a pas pu être vérifiée. Réessayez ou utilisez une autre méthode."
    ]


def test_the_queries_of_the_passkey_step(browser, staff, django_assert_num_queries):
    credential = staff.get(options_of(password_step(browser)))
    # What the same step costs with a code of an authenticator app (36: the session, the
    # challenge and methods for the form, login/verify/'s transaction with the session
    # signed in, rotated and recorded, whether the client is new (the admin's password step
    # does not look it up), the session saved), less the code's UPDATE, plus the ceremony's:
    # the passkey method locked, its challenge found and deleted, the sign count and the
    # last use.
    with django_assert_num_queries(40):
        response = with_credential(browser, credential)
    assert response.status_code == 302
