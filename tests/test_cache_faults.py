"""
Cache faults against a real Redis that the tests stop (killed) and pause (SIGSTOP): the
enforcement state falls back to the database (never a weaker answer) with one warning per
interval; the throttles refuse with 503 ``service_unavailable`` (THROTTLE_FAIL_OPEN False) or
let requests through with the lockout in the database still counting (True); a hung Redis
costs a request about its socket timeout; everything recovers when Redis answers again.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from importlib.util import find_spec

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import caches

from drf_twostep.enforcement import get_state
from drf_twostep.faults import WARNING_INTERVAL
from drf_twostep.models import OrganizationPolicy, SecurityEvent, TwoStepProfile
from drf_twostep.settings import DEFAULTS
from tests.helpers import PASSWORD, assert_error, login, verify
from tests.redis_server import RedisServer

TIMEOUT = 0.25


def redis_cache(server: RedisServer) -> dict:
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": server.url,
        "OPTIONS": {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT},
    }


@pytest.fixture
def redis(settings):
    """The default cache (the throttles) and ENFORCEMENT_CACHE on a Redis of the test's own."""
    if find_spec("redis") is None:
        # Django's RedisCache needs the client package: the envs without it (tox.ini's
        # "base" and the ones not named "-redis") leave these tests to the one that has it.
        pytest.skip("needs the redis client package")
    if not RedisServer.installed():
        if os.environ.get("DRF_TWOSTEP_REQUIRE_SERVICES"):
            pytest.fail("redis-server is not installed")
        pytest.skip("needs redis-server")
    server = RedisServer()
    server.start()
    settings.CACHES = {"default": redis_cache(server), "twostep": redis_cache(server)}
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "ENFORCEMENT_CACHE": "twostep",
        "THROTTLE_RATES": {"twostep_login": "3/min"},
    }
    yield server
    server.stop()
    for alias in ("default", "twostep"):
        caches[alias].close()


_later = itertools.count(1)


@pytest.fixture
def interval():
    """Wall time of a new warning interval, past those of earlier tests (ticking)."""
    with time_machine.travel(2_000_000_000 + next(_later) * 10 * WARNING_INTERVAL, tick=True):
        yield


def warnings_of(caplog, text):
    return [r for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage()]


@pytest.fixture
def required(user):
    """alice in an organization that requires 2SV: her state has a setup requirement."""
    clinic = Group.objects.create(name="Clinic")
    user.groups.add(clinic)
    OrganizationPolicy.objects.create(organization=clinic, required=True)
    return user


def fresh(user):
    """The user as an authentication class without the profile join loads it."""
    return get_user_model().objects.get(pk=user.pk)


def test_the_enforcement_state_comes_from_the_database_while_redis_is_down(
    redis, required, interval, caplog, django_assert_num_queries
):
    truth = get_state(fresh(required))
    assert truth.setup_required_from is not None
    user = fresh(required)
    with django_assert_num_queries(0):
        assert get_state(user) == truth  # from the cache
    redis.kill()
    for _ in range(3):
        user = fresh(required)
        with django_assert_num_queries(1):
            assert get_state(user) == truth
    assert len(warnings_of(caplog, "ENFORCEMENT_CACHE failed")) == 1
    redis.start()
    get_state(fresh(required))
    user = fresh(required)
    with django_assert_num_queries(0):
        assert get_state(user) == truth


def test_a_change_while_redis_is_down_is_seen_at_once(redis, required, interval):
    before = get_state(fresh(required))
    assert before.setup_required_from is not None
    redis.kill()
    OrganizationPolicy.objects.update(required=False)
    OrganizationPolicy.objects.get().save()  # the signal refreshes the row, the cache fails
    assert get_state(fresh(required)).setup_required_from is None
    assert TwoStepProfile.objects.get(user=required).setup_required_from is None


def test_a_change_while_redis_hangs_is_not_undone_by_its_old_copy(redis, required, interval):
    get_state(fresh(required))  # cached: setup required
    redis.pause()
    OrganizationPolicy.objects.get().delete()  # forgetting the cached copy fails
    assert get_state(fresh(required)).setup_required_from is None
    redis.resume()
    # Redis answers again with the copy from before the change: it no longer counts.
    assert get_state(fresh(required)).setup_required_from is None
    user = fresh(required)
    get_state(user)
    assert get_state(fresh(required)).setup_required_from is None


def test_a_hung_redis_costs_a_request_about_its_socket_timeout(redis, required, interval, api):
    truth = get_state(fresh(required))
    redis.pause()
    started = time.monotonic()
    assert get_state(fresh(required)) == truth
    # A read and the write after it, each cut at the timeout.
    assert time.monotonic() - started < 4 * TIMEOUT + 0.5
    started = time.monotonic()
    assert_error(login(api), 503, "service_unavailable")
    assert time.monotonic() - started < 4 * TIMEOUT + 0.5
    redis.resume()
    assert login(api).status_code == 200


def test_throttles_on_a_failed_cache_refuse_with_503_by_default(redis, user, interval, api, caplog):
    redis.kill()
    for _ in range(3):
        response = login(api)
        assert_error(response, 503, "service_unavailable")
        assert int(response["Retry-After"]) >= 1
    assert len(warnings_of(caplog, "the throttles' cache failed")) == 1
    # Refused before the view: nothing was written.
    assert not SecurityEvent.objects.exists()
    redis.start()
    assert [login(api).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_throttles_on_a_failed_cache_let_requests_through_when_fail_open(
    redis, user, api, settings, clock
):
    from tests.helpers import enable_totp
    from tests.test_login import wrong_code

    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "THROTTLE_FAIL_OPEN": True}
    two_step = enable_totp(api, user, clock)
    redis.kill()
    threshold = DEFAULTS["LOCKOUT_THRESHOLD"]
    # More sign-ins than the login rate allows: no cache, no count.
    challenges = [login(api).json()["challenge"] for _ in range(threshold + 1)]
    for challenge in challenges[:threshold]:
        assert_error(verify(api, challenge, code=wrong_code(two_step)), 400, "invalid_code")
    # The lockout in the database still counts: now even the right code is refused.
    assert_error(verify(api, challenges[-1], code=two_step.code()), 429, "too_many_attempts")
    assert TwoStepProfile.objects.get(user=user).failed_attempts == threshold
    assert get_user_model().objects.get(pk=user.pk).check_password(PASSWORD)
