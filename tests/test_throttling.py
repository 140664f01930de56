"""
The package's throttles: N requests a period, each holding a slot in the cache for one period,
taken with ``cache.add`` so that concurrent requests cannot pass together (DRF's own history
is read and written back, and requests that arrive together all pass). Across processes on
Redis: tests_live/test_shared_cache.py.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from drf_twostep.throttling import DeliveryThrottle
from tests.helpers import login, run_concurrently
from tests.test_login import retry_after


@pytest.fixture
def rate(settings):
    def set_rate(scope, value):
        settings.DRF_TWOSTEP = {
            **settings.DRF_TWOSTEP,
            "THROTTLE_RATES": {scope: value},
        }

    return set_rate


def throttle(ident="alice"):
    return DeliveryThrottle("twostep_deliver_user", ident)


def test_n_requests_pass_in_any_period_and_the_next_when_the_oldest_is_a_period_old(rate, clock):
    rate("twostep_deliver_user", "3/min")
    for _ in range(3):
        assert throttle().allow_request(None, None)
        clock.shift(10)
    refused = throttle()
    assert not refused.allow_request(None, None)
    # The first was let through 30 s ago: its slot frees itself in 30 s.
    assert refused.wait() == 30
    clock.shift(29)
    assert not throttle().allow_request(None, None)
    clock.shift(1)
    assert throttle().allow_request(None, None)
    # The second, 50 s old now, frees the next slot in 10 s; refused requests held none.
    refused = throttle()
    assert not refused.allow_request(None, None)
    assert refused.wait() == 10
    assert throttle("bob").allow_request(None, None)


class SlowCache:
    """The default cache, each call of which waits a little first (a cache on another
    machine): concurrent requests then all read before any of them writes."""

    def __getattr__(self, name):
        method = getattr(cache, name)

        def slow(*args, **kwargs):
            time.sleep(0.002)
            return method(*args, **kwargs)

        return slow


def test_concurrent_requests_pass_no_more_than_the_rate(rate):
    rate("twostep_deliver_user", "10/min")

    def request(_):
        limit = throttle()
        limit.cache = SlowCache()
        return limit.allow_request(None, None)

    passed = run_concurrently(40, request)
    assert passed.count(True) == 10 and len(passed) == 40


class StaleReads:
    """The default cache, whose reads find every slot free (as a read just before concurrent
    requests took them)."""

    def get_many(self, keys):
        return {}

    def __getattr__(self, name):
        return getattr(cache, name)


def test_a_slot_taken_after_the_read_is_not_taken_twice(rate):
    rate("twostep_deliver_user", "2/min")
    assert throttle().allow_request(None, None)  # slot 0, read as free by the next ones
    racing = throttle()
    racing.cache = StaleReads()
    assert racing.allow_request(None, None)  # slot 0 is refused to it; it takes slot 1
    refused = throttle()
    refused.cache = StaleReads()
    assert not refused.allow_request(None, None)
    assert refused.wait() == 60
    assert not throttle().allow_request(None, None)


def test_rates_above_the_slots_use_drfs_history(rate, clock):
    rate("twostep_deliver_user", "150/min")
    for _ in range(150):
        assert throttle().allow_request(None, None)
    refused = throttle()
    assert not refused.allow_request(None, None)
    assert refused.wait() is None or refused.wait() > 0


def test_the_login_answers_429_with_the_time_until_a_slot_frees(api, user, rate, clock):
    rate("twostep_login", "2/min")
    assert login(api).status_code == 200
    clock.shift(15)
    assert login(api).status_code == 200
    clock.shift(5)
    response = login(api)
    assert response.status_code == 429
    assert retry_after(response) == 40


class NoExpiry:
    """The default cache, whose entries never expire on their own: a cache whose clock is not
    the server's (Redis, under a test's frozen clock) or whose expiry comes late."""

    def add(self, key, value, timeout=None):
        return cache.add(key, value, None)

    def set(self, key, value, timeout=None):
        return cache.set(key, value, None)

    def __getattr__(self, name):
        return getattr(cache, name)


def unexpiring(ident="alice"):
    limit = throttle(ident)
    limit.cache = NoExpiry()
    return limit


def test_a_slot_a_period_old_by_the_servers_clock_is_free_though_still_cached(rate, clock):
    rate("twostep_deliver_user", "2/min")
    assert unexpiring().allow_request(None, None)
    clock.shift(30)
    assert unexpiring().allow_request(None, None)
    assert not unexpiring().allow_request(None, None)
    clock.shift(30)  # the first slot is a period old, though still in the cache
    assert unexpiring().allow_request(None, None)
    refused = unexpiring()
    assert not refused.allow_request(None, None)
    assert refused.wait() == 30  # the second slot, taken 30 s ago


def test_a_stale_slot_is_taken_over_by_one_of_concurrent_requests(rate, clock):
    rate("twostep_deliver_user", "3/min")
    for _ in range(3):
        assert unexpiring().allow_request(None, None)
    clock.shift(60)  # every slot is stale now, and still cached

    class SlowNoExpiry(NoExpiry):
        def __getattr__(self, name):
            return getattr(SlowCache(), name)

    def request(_):
        limit = throttle()
        limit.cache = SlowNoExpiry()
        return limit.allow_request(None, None)

    passed = run_concurrently(30, request)
    assert passed.count(True) == 3 and len(passed) == 30
