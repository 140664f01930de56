"""
``authentication.session_user`` against ``django.contrib.auth.get_user``: for every branch of
Django's function (no session, unlisted backend, missing or inactive user, wrong, missing or
fallback-key session hash, a backend with its own ``get_user``) both give the same user and
leave the session in the same state; only the profile comes with the user, in its query.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from drf_twostep.authentication import session_user
from drf_twostep.models import TwoStepProfile

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
ALLOW_ALL = "django.contrib.auth.backends.AllowAllUsersModelBackend"
OWN_GET_USER = "tests.test_session_user.OwnGetUserBackend"


class OwnGetUserBackend:
    """A backend with its own get_user (as a remote-user or LDAP backend may have)."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(pk=user_id, is_staff=False).first()


def signed_in(user, backend=MODEL_BACKEND, **changes):
    """The session data of ``user`` signed in by ``backend``, with ``changes`` applied (None
    deletes a key)."""
    data = {
        auth.SESSION_KEY: str(user.pk),
        auth.BACKEND_SESSION_KEY: backend,
        auth.HASH_SESSION_KEY: user.get_session_auth_hash(),
        "other": "kept",
    }
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return data


def run(function, data):
    """``function(request)`` on a request whose stored session holds ``data``; returns the
    user, the session key before and after, and the session's data after."""
    session = SessionStore()
    session.update(data)
    session.save()
    before = session.session_key
    request = RequestFactory().get("/")
    request.session = SessionStore(before)
    user = function(request)
    return user, before, request.session.session_key, dict(request.session.items())


def assert_same(data):
    django_user, d_before, d_after, d_data = run(auth.get_user, data)
    ours, o_before, o_after, o_data = run(session_user, data)
    assert type(ours) is type(django_user)
    assert getattr(ours, "pk", None) == getattr(django_user, "pk", None)
    assert (d_after == d_before) == (o_after == o_before)  # key cycled (or flushed) alike
    assert o_data == d_data
    return ours, o_data


@pytest.fixture
def backends(settings):
    settings.AUTHENTICATION_BACKENDS = [MODEL_BACKEND, ALLOW_ALL, OWN_GET_USER]
    return settings


def test_a_signed_in_user_comes_with_their_profile_in_one_query(backends, user):
    TwoStepProfile.objects.create(user=user, enabled=True)
    ours, _ = assert_same(signed_in(user))
    assert ours.pk == user.pk
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.session.update(signed_in(user))
    with CaptureQueriesContext(connection) as captured:
        loaded = session_user(request)
        assert loaded.two_step.enabled is True
    assert len(captured) == 1


def test_a_user_without_a_profile_is_loaded_as_django_loads_them(backends, user):
    ours, _ = assert_same(signed_in(user))
    assert ours.pk == user.pk


@pytest.mark.parametrize(
    "changes",
    [
        {auth.SESSION_KEY: None},
        {auth.BACKEND_SESSION_KEY: None},
        {auth.BACKEND_SESSION_KEY: "django.contrib.auth.backends.RemoteUserBackend"},
        {auth.SESSION_KEY: "987654"},
        {auth.HASH_SESSION_KEY: None},
        {auth.HASH_SESSION_KEY: "0" * 64},
    ],
    ids=["no user", "no backend", "unlisted backend", "deleted user", "no hash", "wrong hash"],
)
def test_sessions_django_refuses_are_refused_alike(backends, user, changes):
    ours, data = assert_same(signed_in(user, **changes))
    assert isinstance(ours, AnonymousUser)


def test_a_new_password_ends_the_session_alike(backends, user):
    data = signed_in(user)
    user.set_password("another password entirely")
    user.save()
    ours, after = assert_same(data)
    assert isinstance(ours, AnonymousUser) and after == {}


@pytest.mark.parametrize(
    "backend, accepted", [(MODEL_BACKEND, False), (ALLOW_ALL, True)], ids=["model", "allow-all"]
)
def test_an_inactive_user_is_refused_by_the_backend_that_refuses_them(
    backends, user, backend, accepted
):
    user.is_active = False
    user.save()
    ours, _ = assert_same(signed_in(user, backend))
    assert (ours.pk == user.pk) is accepted


def test_a_hash_under_a_fallback_secret_key_is_accepted_and_the_key_cycled_alike(
    backends, user, settings
):
    old_hash = user.get_session_auth_hash()
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a new secret key " * 4
    ours, after = assert_same(signed_in(user, **{auth.HASH_SESSION_KEY: old_hash}))
    assert ours.pk == user.pk
    assert after[auth.HASH_SESSION_KEY] == user.get_session_auth_hash() != old_hash


@pytest.mark.parametrize("is_staff", [False, True])
def test_a_backend_with_its_own_get_user_is_asked_as_django_asks_it(backends, user, is_staff):
    user.is_staff = is_staff
    user.save()
    ours, _ = assert_same(signed_in(user, OWN_GET_USER))
    assert isinstance(ours, AnonymousUser) is is_staff


def test_a_user_read_before_the_class_runs_is_kept_and_enforced(api, user_with_totp, clock):
    """A middleware that reads request.user first: the class takes the user it resolved
    (one query more, for the state) and enforces as ever."""
    session = APIClient()
    session.force_login(user_with_totp.user)
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, READS_USER]):
        with CaptureQueriesContext(connection) as captured:
            response = session.get("/api/me/")
    assert response.status_code == 403  # signed in by password only: not verified
    assert response.json()["code"] == "two_step_verification_required"
    assert len(captured) == 3


READS_USER = "tests.test_session_user.ReadsUserMiddleware"


class ReadsUserMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        assert request.user.is_authenticated
        return self.get_response(request)
