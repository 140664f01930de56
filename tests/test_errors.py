"""
Errors fit DRF: ``detail`` is a string whose code is the class's ``default_code``, and the
package's handler runs the project's ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` before shaping its
answer into the contract's body (``detail``, ``code`` and the fields some errors add).
"""

from __future__ import annotations

import pytest
from rest_framework import exceptions as drf_exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from drf_twostep import exceptions
from drf_twostep.settings import DEFAULTS
from tests.helpers import AUTH, assert_error, login, verify
from tests.test_login import wrong_code

CALLS: list = []


def recording_handler(exc, context):
    """A project's handler: DRF's, recorded, with a header of its own and its own body."""
    CALLS.append((type(exc).__name__, type(context["view"]).__name__))
    response = drf_exception_handler(exc, context)
    if response is not None:
        response["X-Project-Handler"] = "yes"
        response.data = {"errors": [{"message": str(exc)}]}
    return response


def declining_handler(exc, context):
    """A project's handler that handles nothing (Django then answers 500)."""
    CALLS.append(type(exc).__name__)


@pytest.fixture
def project_handler(settings):
    CALLS.clear()

    def use(dotted):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": dotted}

    return use


ERRORS = sorted(
    (
        cls
        for cls in vars(exceptions).values()
        if isinstance(cls, type) and issubclass(cls, exceptions.TwoStepError)
    ),
    key=lambda cls: cls.__name__,
)


def make(cls):
    if cls is exceptions.TooManyAttempts:
        return cls(30)
    if cls is exceptions.ReverificationRequired:
        return cls(60)
    return cls()


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_detail_is_the_sentence_and_the_code_is_drfs(cls):
    exc = make(cls)
    assert isinstance(exc.detail, drf_exceptions.ErrorDetail)
    assert str(exc) == str(cls.default_detail)
    assert exc.get_codes() == cls.default_code == exc.code
    assert exc.get_full_details() == {"message": str(cls.default_detail), "code": exc.code}


def test_the_body_of_an_error_with_extra_fields_keeps_them():
    body = exceptions.error_body(exceptions.ReverificationRequired(60))
    assert body == {
        "detail": str(exceptions.ReverificationRequired.default_detail),
        "code": "reverification_required",
        "max_age": 60,
    }


def test_the_projects_handler_runs_and_the_body_is_the_contracts(api, user, project_handler):
    project_handler("tests.test_errors.recording_handler")
    response = login(api, password="wrong")
    assert_error(response, 400, "invalid_credentials")
    assert set(response.json()) == {"detail", "code"}
    assert response["X-Project-Handler"] == "yes"
    assert CALLS == [("InvalidCredentials", "LoginView")]


def test_drfs_own_errors_on_the_package_views_get_their_code(api, db, project_handler):
    project_handler("tests.test_errors.recording_handler")
    body = assert_error(api.post(AUTH + "login/", {}, format="json"), 400, "invalid")
    assert body["username"] and body["password"]
    assert_error(api.get(AUTH + "two-step/"), 401, "not_authenticated")
    assert_error(api.get(AUTH + "login/"), 405, "http_method_not_allowed")
    assert [name for name, _ in CALLS] == [
        "ValidationError",
        "NotAuthenticated",
        "MethodNotAllowed",
    ]


def test_with_drfs_default_handler_the_package_views_keep_the_contract(
    api, user_with_totp, project_handler, clock
):
    project_handler("rest_framework.views.exception_handler")
    challenge = login(api).json()["challenge"]
    for _ in range(DEFAULTS["LOCKOUT_THRESHOLD"]):
        verify(api, challenge, code=wrong_code(user_with_totp))
    locked = verify(api, login(api).json()["challenge"], code=user_with_totp.code())
    body = assert_error(locked, 429, "too_many_attempts")
    assert set(body) == {"detail", "code"}
    assert int(locked["Retry-After"]) >= 1


def test_the_reverification_answer_keeps_max_age_under_the_package_handler(
    user_with_totp, project_handler, clock
):
    # conftest's REST_FRAMEWORK names the package's handler for the project's views.
    clock.shift(61)
    body = assert_error(
        user_with_totp.client().get("/api/sensitive/"), 403, "reverification_required"
    )
    assert body["max_age"] == 60


def test_under_drfs_default_handler_a_project_view_answers_drfs_body(
    user_with_totp, project_handler, clock
):
    project_handler("rest_framework.views.exception_handler")
    clock.shift(61)
    response = user_with_totp.client().get("/api/sensitive/")
    assert response.status_code == 403
    assert response.json() == {"detail": str(exceptions.ReverificationRequired.default_detail)}


def test_a_handler_that_declines_is_not_overruled(api, user, project_handler):
    project_handler("tests.test_errors.declining_handler")
    with pytest.raises(exceptions.InvalidCredentials):
        login(api, password="wrong")
    assert CALLS == ["InvalidCredentials"]


def test_without_a_credential_the_token_class_first_answers_401(api, db):
    response = api.get(AUTH + "two-step/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_without_a_credential_session_only_answers_403_with_the_same_code(db):
    from rest_framework.test import APIRequestFactory

    from drf_twostep.authentication import TwoStepSessionAuthentication
    from drf_twostep.views import StatusView

    # A project whose only authentication class is the session class (DRF reads the
    # default classes when the view class is defined, so the view is built with them here).
    view = type(
        "SessionOnly", (StatusView,), {"authentication_classes": [TwoStepSessionAuthentication]}
    )
    response = view.as_view()(APIRequestFactory().get("/"))
    assert response.status_code == 403
    assert response.data["code"] == "not_authenticated" and response.data["detail"]
    assert not response.has_header("WWW-Authenticate")
