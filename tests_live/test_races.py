"""
Races across worker processes on a real database: requests released at the same moment, each
race repeated ``LIVE_ROUNDS`` times (50) with a fresh user per round, since an authenticator
code works once per 30-second step. Where one success is allowed there is exactly one; every
wrong code that is counted shows in the counters, none twice, none lost; nothing answers 5xx.
"""

from __future__ import annotations

import os

import pyotp
from django.db.models import Sum
from live import (
    PASSWORD,
    VERIFY,
    Race,
    call,
    challenges,
    emailed_code,
    make_user,
    signed_in,
    wrong_code,
)

from drf_twostep.models import (
    LoginChallenge,
    RecoveryCode,
    SecurityEvent,
    TwoStepMethod,
    TwoStepProfile,
)
from drf_twostep.settings import twostep_settings

ROUNDS = int(os.environ.get("LIVE_ROUNDS", "50"))


def challenge_failures(user) -> int:
    total = LoginChallenge.objects.filter(user=user).aggregate(n=Sum("failed_attempts"))["n"]
    return total or 0


def events(user, kind) -> int:
    return SecurityEvent.objects.filter(user=user, kind=kind).count()


def test_the_same_totp_code_on_20_challenges_signs_in_once(server):
    race = Race("same TOTP code on 20 challenges", ROUNDS)
    for _ in range(ROUNDS):
        user, [(_method, totp)], _ = make_user("totp", authenticator_apps=1)
        raws = challenges(server.url, user, 20)
        code = totp.now()
        answers, outcomes = race.fire(
            server.url, [("POST", VERIFY, {"challenge": c, "code": code}) for c in raws]
        )
        assert outcomes == {"200": 1, "400 code_already_used": 19}, outcomes
        done = LoginChallenge.objects.filter(user=user).exclude(completed_at=None)
        assert done.count() == 1
        # Every replay counted once on its own challenge.
        assert challenge_failures(user) == 19
        profile = TwoStepProfile.objects.get(user=user)
        assert 0 <= profile.failed_attempts <= 19
        assert profile.locked_until is None
        assert events(user, "code_replayed") == 19
        assert events(user, "verification_succeeded") == 1
        [winner] = [a for a in answers if a.status == 200]
        assert call(server.url, "GET", "/api/me/", token=winner.body["token"]).status == 200
    race.report()


def test_the_same_recovery_code_on_10_logins_signs_in_once(server):
    race = Race("same recovery code on 10 logins", ROUNDS)
    for _ in range(ROUNDS):
        user, _, code = make_user("recovery", authenticator_apps=1, recovery_code=True)
        raws = challenges(server.url, user, 10)
        answers, outcomes = race.fire(
            server.url, [("POST", VERIFY, {"challenge": c, "recovery_code": code}) for c in raws]
        )
        assert outcomes == {"200": 1, "400 invalid_recovery_code": 9}, outcomes
        [winner] = [a for a in answers if a.status == 200]
        [replacement] = winner.body["recovery_codes"]
        assert replacement != code
        # The used code is gone and exactly one replacement took its place.
        assert RecoveryCode.objects.filter(user=user).count() == 1
        assert events(user, "recovery_code_used") == 1
        assert challenge_failures(user) == 9
        assert events(user, "verification_failed") == 9
    race.report()


def test_one_challenge_completed_10_times_at_once_signs_in_once(server):
    # Ten authenticator apps, each with a valid code of its own: only the challenge's single
    # completion stands between the requests.
    race = Race("one challenge completed 10 times", ROUNDS)
    for _ in range(ROUNDS):
        user, methods, _ = make_user("challenge", authenticator_apps=10)
        [raw] = challenges(server.url, user, 1)
        answers, outcomes = race.fire(
            server.url,
            [
                ("POST", VERIFY, {"challenge": raw, "code": totp.now(), "method": method.pk})
                for method, totp in methods
            ],
        )
        assert outcomes == {"200": 1, "400 invalid_challenge": 9}, outcomes
        used = TwoStepMethod.objects.filter(user=user).exclude(last_used_step=None)
        assert used.count() == 1
        assert TwoStepProfile.objects.get(user=user).failed_attempts == 0
        assert challenge_failures(user) == 0
        assert events(user, "verification_succeeded") == 1
    race.report()


def test_two_setups_confirmed_at_once_turn_2sv_on_once(server):
    race = Race("two setups confirmed at once", ROUNDS)
    for _ in range(ROUNDS):
        user, _, _ = make_user("setup")
        token = signed_in(server.url, user)
        methods = "/api/auth/two-step/methods/"
        app = call(
            server.url, "POST", methods, {"kind": "authenticator_app", "password": PASSWORD}, token
        )
        mail = call(server.url, "POST", methods, {"kind": "email", "password": PASSWORD}, token)
        assert (app.status, mail.status) == (201, 201), (app, mail)
        totp = pyotp.TOTP(app.body["setup_key"].replace(" ", ""))
        mailed = emailed_code(server.mail_dir, user.email)
        answers, outcomes = race.fire(
            server.url,
            [
                ("POST", f"{methods}{app.body['id']}/confirm/", {"code": totp.now()}, token),
                ("POST", f"{methods}{mail.body['id']}/confirm/", {"code": mailed}, token),
            ],
        )
        confirmed = [a for a in answers if a.status == 200]
        # The second may come after the first turned 2SV on and revoked the token the two were
        # sent with: refused as unknown (401) or as lacking the second step (403).
        refused = {"401 authentication_failed", "403 two_step_verification_required"}
        assert confirmed and all(a.status == 200 or a.outcome in refused for a in answers), outcomes
        turned_on = [a for a in confirmed if a.body.get("recovery_codes")]
        assert len(turned_on) == 1, outcomes
        assert turned_on[0].body["token"]
        assert all(a.body.get("token") is None for a in confirmed if a is not turned_on[0])
        assert TwoStepProfile.objects.get(user=user).enabled
        active = TwoStepMethod.objects.active().filter(user=user)
        assert active.count() == len(confirmed)
        assert active.filter(is_default=True).count() == 1
        assert RecoveryCode.objects.filter(user=user).count() == 1
        assert events(user, "two_step_enabled") == 1
        me = call(server.url, "GET", "/api/me/", token=turned_on[0].body["token"])
        assert me.status == 200, me
    race.report()


def test_wrong_codes_from_40_clients_lock_the_user_out_exactly(server):
    # 10 challenges x 4 wrong codes: under the per-challenge limit, over the per-user one.
    threshold = twostep_settings.LOCKOUT_THRESHOLD
    assert twostep_settings.MAX_ATTEMPTS_PER_CHALLENGE > 4 and threshold < 40
    race = Race(f"wrong codes from 40 clients (lockout at {threshold})", ROUNDS)
    for _ in range(ROUNDS):
        user, [(_method, totp)], _ = make_user("wrong", authenticator_apps=1)
        raws = challenges(server.url, user, 10)
        calls = [("POST", VERIFY, {"challenge": c, "code": wrong_code(totp)}) for c in raws * 4]
        answers, outcomes = race.fire(server.url, calls)
        expected = {"400 invalid_code": threshold, "429 too_many_attempts": 40 - threshold}
        assert outcomes == expected, outcomes
        profile = TwoStepProfile.objects.get(user=user)
        assert profile.failed_attempts == threshold
        assert profile.locked_until is not None
        assert challenge_failures(user) == threshold
        assert events(user, "verification_failed") == threshold
        assert events(user, "locked_out") == 1
    race.report()


def test_wrong_codes_on_one_challenge_stop_at_its_limit(server):
    limit = twostep_settings.MAX_ATTEMPTS_PER_CHALLENGE
    race = Race(f"wrong codes on one challenge (limit {limit})", ROUNDS)
    for _ in range(ROUNDS):
        user, [(_method, totp)], _ = make_user("limit", authenticator_apps=1)
        [raw] = challenges(server.url, user, 1)
        answers, outcomes = race.fire(
            server.url, [("POST", VERIFY, {"challenge": raw, "code": wrong_code(totp)})] * 12
        )
        assert outcomes == {"400 invalid_code": limit, "429 too_many_attempts": 12 - limit}
        assert challenge_failures(user) == limit
        assert TwoStepProfile.objects.get(user=user).failed_attempts == limit
    race.report()
