"""
Credentials follow the password and 2SV: a new password, set by any path, revokes the user's
other API credentials of every issuer (the one the change was made with stays, unless
PASSWORD_CHANGE_KEEPS_CURRENT_CREDENTIAL is off); turning 2SV off revokes the others too.
"""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from tests.helpers import AUTH, PASSWORD
from tests.test_issuers import (
    KNOX,
    SESSION,
    needs_jwt,
    needs_knox,
    refresh_is_blacklisted,
    sign_in_on_two_devices,
    turn_two_step_on,
)

ME = "/api/me/"
NEW_PASSWORD = "an entirely new passphrase 42"


def change_password(client):
    response = client.post("/api/password/", {"password": NEW_PASSWORD}, format="json")
    assert response.status_code == 204, response.content


@needs_knox
def test_a_new_password_revokes_the_other_knox_tokens_and_keeps_the_one_used(
    with_knox, user, clock
):
    _, totp = turn_two_step_on(KNOX, clock)
    (first, _), (second, _) = sign_in_on_two_devices(KNOX, totp, clock)
    change_password(first)
    assert first.get(ME).status_code == 200
    assert second.get(ME).status_code == 401


@needs_knox
def test_without_keeping_the_current_one_every_knox_token_goes(with_knox, settings, user, clock):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "PASSWORD_CHANGE_KEEPS_CURRENT_CREDENTIAL": False,
    }
    _, totp = turn_two_step_on(KNOX, clock)
    (first, _), (second, _) = sign_in_on_two_devices(KNOX, totp, clock)
    change_password(first)
    assert first.get(ME).status_code == 401
    assert second.get(ME).status_code == 401


@needs_jwt
def test_a_new_password_blacklists_the_refresh_tokens_of_other_sign_ins(with_jwt, user, clock):
    from tests.test_issuers import JWT

    _, totp = turn_two_step_on(JWT, clock)
    (first, first_body), (_, second_body) = sign_in_on_two_devices(JWT, totp, clock)
    change_password(first)
    assert refresh_is_blacklisted(second_body["refresh"])
    assert not refresh_is_blacklisted(first_body["refresh"])


def test_a_password_set_outside_any_request_revokes_the_drf_token(api, user_with_totp):
    client = user_with_totp.client()
    assert client.get(ME).status_code == 200
    user = user_with_totp.user
    user.set_password(NEW_PASSWORD)
    user.save()
    assert client.get(ME).status_code == 401
    assert not Token.objects.filter(user=user).exists()


def test_a_password_changed_in_the_admin_revokes_the_drf_token(client, admin_user, user_with_totp):
    client.force_login(admin_user)
    user = user_with_totp.user
    response = client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content
    assert user_with_totp.client().get(ME).status_code == 401


def test_saving_a_user_without_a_new_password_revokes_nothing(user_with_totp):
    user = user_with_totp.user
    user.first_name = "Alice"
    user.save()
    assert user_with_totp.client().get(ME).status_code == 200


def test_a_new_password_through_the_session_keeps_that_session_only(with_sessions, user, clock):
    session, totp = turn_two_step_on(SESSION, clock)
    (other, _), (current, _) = sign_in_on_two_devices(SESSION, totp, clock)
    csrf = {"HTTP_X_CSRFTOKEN": current.cookies["csrftoken"].value}
    current.cookies  # noqa: B018 - the session cookie goes with the client
    response = current.post("/api/password/", {"password": NEW_PASSWORD}, format="json", **csrf)
    assert response.status_code == 204, response.content
    assert current.get(ME).status_code == 200
    assert other.get(ME).status_code == 403  # Django's session hash ended it


@needs_knox
def test_turning_two_step_off_revokes_the_other_credentials(with_knox, user, clock):
    client, totp = turn_two_step_on(KNOX, clock)
    (first, _), (second, _) = sign_in_on_two_devices(KNOX, totp, clock)
    method = first.get(AUTH + "two-step/methods/").json()[0]["id"]
    removed = first.delete(
        f"{AUTH}two-step/methods/{method}/", {"password": PASSWORD}, format="json"
    )
    assert removed.status_code == 204, removed.content
    assert first.get(ME).status_code == 200
    assert second.get(ME).status_code == 401
    assert client.get(ME).status_code == 401


@pytest.fixture
def with_knox(settings, monkeypatch):
    from tests.test_issuers import HAS_KNOX, use

    if not HAS_KNOX:
        pytest.skip(needs_knox.kwargs["reason"])
    use(KNOX, settings, monkeypatch)


@pytest.fixture
def with_jwt(settings, monkeypatch):
    from tests.test_issuers import HAS_JWT, JWT, use

    if not HAS_JWT:
        pytest.skip(needs_jwt.kwargs["reason"])
    use(JWT, settings, monkeypatch)


@pytest.fixture
def with_sessions(settings, monkeypatch):
    from tests.test_issuers import use

    use(SESSION, settings, monkeypatch)
