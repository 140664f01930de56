"""RecentlyVerified: a sensitive view asks for a second step within max_age, for every issuer,
at no query of its own."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error
from tests.test_issuers import STACKS, sign_in_with_code, turn_two_step_on, use

SENSITIVE = "/api/sensitive/"


@pytest.fixture(params=STACKS)
def stack(request, settings, monkeypatch):
    use(request.param, settings, monkeypatch)
    return request.param


def test_a_recent_sign_in_passes_and_an_old_one_is_asked_to_reverify(stack, user, clock):
    _, totp = turn_two_step_on(stack, clock)
    client, _ = sign_in_with_code(stack, totp)
    assert client.get(SENSITIVE).status_code == 200
    clock.shift(61)
    body = assert_error(client.get(SENSITIVE), 403, "reverification_required")
    assert body["max_age"] == 60
    assert client.get("/api/me/").status_code == 200  # other views are not affected


def test_a_credential_without_a_second_step_is_asked_to_reverify(stack, user, clock):
    from tests.test_issuers import sign_in_with_password

    client = sign_in_with_password(stack)
    assert client.get("/api/me/").status_code == 200
    assert_error(client.get(SENSITIVE), 403, "reverification_required")


def test_the_check_costs_no_query_with_the_token_class(
    api, user_with_totp, clock, django_assert_num_queries
):
    from tests.helpers import login, token_client, verify

    clock.shift(30)
    challenge = login(api).json()["challenge"]
    token = verify(api, challenge, code=user_with_totp.code()).json()["token"]
    client = token_client(token)
    with django_assert_num_queries(1):
        assert client.get(SENSITIVE).status_code == 200
