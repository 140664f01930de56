"""
Throttles and the enforcement cache across worker processes, with Redis as Django's cache:
a rate limit counts the requests that every worker answered, and a policy changed through one
worker applies at once on all of them.
"""

from __future__ import annotations

import secrets

from clinics.models import Clinic, Membership
from live import PASSWORD, Race, call, make_user, parallel, signed_in

LOGIN = "/api/auth/login/"
WRONG_PASSWORD = {"username": "nobody", "password": PASSWORD}


def client_address() -> dict:
    # Without NUM_PROXIES, DRF counts anonymous requests by X-Forwarded-For: a fresh address
    # gives each test a count of its own on the shared cache.
    return {"X-Forwarded-For": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"}


def test_the_login_throttle_counts_the_requests_of_every_worker(throttled_server):
    race = Race("login throttle 10/min, 30 requests one after another", 1)
    headers = client_address()
    for _ in range(30):
        race.send(throttled_server.url, "POST", LOGIN, WRONG_PASSWORD, headers=headers)
    outcomes = [a.outcome for a in race.answers]
    # 10 a minute, whichever worker answered: the 11th request on is refused.
    assert outcomes == ["400 invalid_credentials"] * 10 + ["429 throttled"] * 20, outcomes
    assert len(race.pids) >= 2, "the requests should have been spread over the workers"
    race.report()


def test_the_login_throttle_under_concurrent_requests(throttled_server):
    # Each request that passes takes one of the 10 slots with an atomic add on Redis, so of
    # requests that arrive together on every worker exactly 10 pass (DRF's own throttle, which
    # reads its history and writes it back, let 22 to 28 of these 30 through).
    race = Race("login throttle 10/min, 30 requests at once", 1)
    headers = client_address()
    _, outcomes = race.fire(
        throttled_server.url, [("POST", LOGIN, WRONG_PASSWORD, None, headers)] * 30
    )
    assert outcomes == {"400 invalid_credentials": 10, "429 throttled": 20}, outcomes
    later = call(throttled_server.url, "POST", LOGIN, WRONG_PASSWORD, headers=headers)
    assert later.outcome == "429 throttled"
    race.report()


def test_a_policy_change_through_one_worker_applies_on_all_at_once(server):
    race = Race("policy change seen by every worker", 1)
    clinic = Clinic.objects.create(name=f"Live Clinic {secrets.token_hex(3)}")
    admin, [(_method, totp)], _ = make_user("clinic-admin", authenticator_apps=1)
    member, _, _ = make_user("clinic-staff")
    Membership.objects.create(user=admin, clinic=clinic, role=Membership.Role.ADMIN)
    Membership.objects.create(user=member, clinic=clinic, role=Membership.Role.STAFF)
    admin_token = signed_in(server.url, admin, totp)
    member_token = signed_in(server.url, member)
    me = ("GET", "/api/me/", None, member_token)
    policy = f"/api/auth/organizations/{clinic.pk}/two-step-policy/"

    def everywhere(expected):
        # Enough requests at once that every worker answers some.
        answers, outcomes = race.fire(server.url, [me] * 24)
        assert outcomes == {expected: 24}
        assert len({a.pid for a in answers}) >= 2

    def change(body):
        answer = call(server.url, "PATCH", policy, body, admin_token)
        assert answer.status == 200, answer

    everywhere("200")
    # The workers read the member's state with their token (its row), in no memory of their
    # own: the change applies on every worker at the next request.
    change({"required": True, "grace_period_days": 0})
    everywhere("403 two_step_setup_required")
    change({"required": False})
    everywhere("200")
    # Warm again on every worker, then required once more: no worker answers from before.
    parallel(server.url, [me] * 24)
    change({"required": True})
    everywhere("403 two_step_setup_required")
    race.report()
