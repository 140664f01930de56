"""
JSON in (docs/API.md, Conventions): the package's endpoints parse application/json only. A form
or multipart body is 415 ``unsupported_media_type`` in the contract's error body, and nothing
happens: no sign-in, no setup, no change.
"""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from drf_twostep.models import TwoStepMethod
from tests.helpers import AUTH, PASSWORD, assert_error, login, token_client

FORMATS = ["multipart", "form"]


def post_form(client, path, body, fmt):
    if fmt == "multipart":
        return client.post(path, body, format="multipart")
    return client.generic(
        "POST",
        path,
        "&".join(f"{key}={value}" for key, value in body.items()),
        content_type="application/x-www-form-urlencoded",
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_form_login_is_refused_and_signs_nobody_in(api, user, fmt):
    response = post_form(api, AUTH + "login/", {"username": "alice", "password": PASSWORD}, fmt)
    assert_error(response, 415, "unsupported_media_type")
    assert not Token.objects.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_form_setup_is_refused_and_starts_nothing(api, user, fmt):
    client = token_client(login(api).json()["token"])
    body = {"kind": "authenticator_app", "password": PASSWORD}
    response = post_form(client, AUTH + "two-step/methods/", body, fmt)
    assert_error(response, 415, "unsupported_media_type")
    assert not TwoStepMethod.objects.exists()


def test_the_same_login_as_json_signs_in(api, user):
    # The control: what the refused bodies above held works as JSON.
    assert login(api).json()["status"] == "authenticated"
    assert Token.objects.count() == 1
