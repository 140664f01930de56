"""
Enforcement (API.md): ``TwoStepTokenAuthentication`` and ``TwoStepSessionAuthentication`` on a
project view, and what requests cost in queries.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.test import APIClient, APIRequestFactory

from drf_twostep.authentication import (
    TwoStepSessionAuthentication,
    TwoStepTokenAuthentication,
    allow_without_two_step,
)
from drf_twostep.models import OrganizationPolicy, SecurityEvent
from tests.helpers import (
    AUTH,
    PASSWORD,
    assert_error,
    enable_totp,
    login,
    start_setup,
    statements,
    token_client,
    totp_from_uri,
    verify,
)
from tests.testapp.views import MeView

ME = "/api/me/"


def verified_token(api, two_step_user) -> str:
    challenge = login(api).json()["challenge"]
    response = verify(api, challenge, code=two_step_user.code())
    assert response.status_code == 200, response.content
    return response.json()["token"]


def me_view(*authentication_classes):
    """The project view with the given authentication classes, called without URL routing."""
    return MeView.as_view(authentication_classes=list(authentication_classes))


def token_request(key):
    return APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Token {key}")


def count_queries(func):
    with CaptureQueriesContext(connection) as queries:
        result = func()
    return len(queries), result


def require_two_step(user, **policy):
    clinic = Group.objects.create(name="Demo Clinic")
    user.groups.add(clinic)
    return OrganizationPolicy.objects.create(organization=clinic, required=True, **policy)


# -- token authentication ------------------------------------------------------------------


def test_token_of_user_without_two_step_passes(api, user):
    token = login(api).json()["token"]
    response = token_client(token).get(ME)
    assert response.status_code == 200
    assert response.json() == {"username": "alice"}


def test_token_issued_by_verify_passes(api, user_with_totp):
    response = token_client(verified_token(api, user_with_totp)).get(ME)
    assert response.status_code == 200
    assert response.json() == {"username": "alice"}


def test_token_issued_by_confirm_passes(user_with_totp):
    assert user_with_totp.client().get(ME).status_code == 200


def test_token_created_directly_for_two_step_user_is_refused(user_with_totp):
    Token.objects.filter(user=user_with_totp.user).delete()
    token = Token.objects.create(user=user_with_totp.user)
    assert_error(token_client(token.key).get(ME), 403, "two_step_verification_required")


def test_token_from_obtain_auth_token_for_two_step_user_is_refused(user_with_totp):
    # A project that also mounts DRF's password-only token view.
    Token.objects.filter(user=user_with_totp.user).delete()
    request = APIRequestFactory().post(
        "/api/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    response = ObtainAuthToken.as_view()(request)
    assert response.status_code == 200
    assert_error(
        token_client(response.data["token"]).get(ME), 403, "two_step_verification_required"
    )


# With a verified token already issued, DRF's obtain_auth_token would return that same token for
# the password alone: one DRF Token per user cannot tell the two apart. The system check
# drf_twostep.E009 refuses a URLconf that routes it (tests/test_checks.py).


def test_unverified_token_is_refused_on_the_package_endpoints_too(user_with_totp):
    Token.objects.filter(user=user_with_totp.user).delete()
    client = token_client(Token.objects.create(user=user_with_totp.user).key)
    assert_error(client.get(AUTH + "two-step/"), 403, "two_step_verification_required")
    assert_error(client.get(AUTH + "two-step/methods/"), 403, "two_step_verification_required")


def test_turning_two_step_on_revokes_other_tokens_and_issues_a_working_one(api, user, clock):
    old = login(api).json()["token"]
    client = token_client(old)
    setup = start_setup(client).json()
    totp = totp_from_uri(setup["otpauth_uri"])
    confirmed = client.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/", {"code": totp.now()}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    new = confirmed.json()["token"]
    assert new and new != old
    assert not Token.objects.filter(key=old).exists()
    assert list(Token.objects.filter(user=user).values_list("key", flat=True)) == [new]
    assert client.get(ME).status_code == 401
    assert token_client(new).get(ME).status_code == 200


def test_second_method_does_not_revoke_the_token(api, user_with_totp):
    client = user_with_totp.client()
    setup = start_setup(client, name="Second phone").json()
    totp = totp_from_uri(setup["otpauth_uri"])
    confirmed = client.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/", {"code": totp.now()}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["token"] is None
    assert client.get(ME).status_code == 200


def test_pending_challenge_is_not_a_credential(api, user_with_totp):
    challenge = login(api).json()["challenge"]
    for header in (f"Token {challenge}", f"Token {challenge[:40]}", f"Bearer {challenge}"):
        response = APIClient().get(ME, HTTP_AUTHORIZATION=header)
        assert response.status_code in (401, 403), header
        assert response.json()["code"] in {
            "authentication_failed",
            "not_authenticated",
            "two_step_verification_required",
        }
    # The challenge itself still completes normally.
    assert verify(api, challenge, code=user_with_totp.code()).status_code == 200


def test_logged_out_token_is_refused(api, user_with_totp):
    client = token_client(verified_token(api, user_with_totp))
    assert client.post(AUTH + "logout/").status_code == 204
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_two_step_token_class_enforces_without_url_routing(api, user_with_totp):
    Token.objects.filter(user=user_with_totp.user).delete()
    unverified = Token.objects.create(user=user_with_totp.user).key
    plain = me_view(TokenAuthentication)(token_request(unverified))
    assert plain.status_code == 200
    enforced = me_view(TwoStepTokenAuthentication)(token_request(unverified))
    assert enforced.status_code == 403
    assert enforced.data["code"] == "two_step_verification_required"


# -- session authentication ----------------------------------------------------------------


def test_session_of_user_without_two_step_passes(user):
    client = APIClient()
    client.force_login(user)
    assert client.get(ME).status_code == 200


def test_forced_session_login_of_two_step_user_is_refused(user_with_totp):
    client = APIClient()
    client.force_login(user_with_totp.user)
    assert_error(client.get(ME), 403, "two_step_verification_required")


def test_password_session_login_of_two_step_user_is_refused(user_with_totp):
    client = APIClient()
    assert client.login(username="alice", password=PASSWORD)
    assert_error(client.get(ME), 403, "two_step_verification_required")
    assert_error(client.get(AUTH + "two-step/"), 403, "two_step_verification_required")


def test_session_from_before_two_step_was_turned_on_is_refused_after(api, user, clock):
    session = APIClient()
    session.force_login(user)
    assert session.get(ME).status_code == 200
    enable_totp(api, user, clock)
    assert_error(session.get(ME), 403, "two_step_verification_required")


def test_session_that_confirmed_the_method_is_verified_and_others_are_not(user, clock):
    session = APIClient()
    session.force_login(user)
    setup = start_setup(session).json()
    totp = totp_from_uri(setup["otpauth_uri"])
    confirmed = session.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/", {"code": totp.now()}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    assert session.get(ME).status_code == 200
    assert token_client(confirmed.json()["token"]).get(ME).status_code == 200
    other = APIClient()
    other.force_login(user)
    assert_error(other.get(ME), 403, "two_step_verification_required")


def test_session_logout_ends_the_session(user):
    session = APIClient()
    session.force_login(user)
    assert session.post(AUTH + "logout/").status_code == 204
    assert session.get(ME).status_code in (401, 403)


def test_two_step_session_class_enforces_without_url_routing(user_with_totp):
    client = APIClient()
    client.force_login(user_with_totp.user)
    request = APIRequestFactory().get(ME)
    request.session = client.session
    request.user = user_with_totp.user
    request._dont_enforce_csrf_checks = True
    assert me_view(SessionAuthentication)(request).status_code == 200
    enforced = me_view(TwoStepSessionAuthentication)(request)
    assert enforced.status_code == 403
    assert enforced.data["code"] == "two_step_verification_required"


# -- organizations require 2SV -------------------------------------------------------------


def test_user_who_must_set_up_is_limited_to_the_setup_endpoints(api, user, clock):
    require_two_step(user)
    token = login(api).json()["token"]
    client = token_client(token)
    assert_error(client.get(ME), 403, "two_step_setup_required")
    assert client.get(AUTH + "two-step/").status_code == 200
    assert client.get(AUTH + "two-step/methods/").status_code == 200
    setup = start_setup(client)
    assert setup.status_code == 201, setup.content
    totp = totp_from_uri(setup.json()["otpauth_uri"])
    confirmed = client.post(
        f"{AUTH}two-step/methods/{setup.json()['id']}/confirm/", {"code": totp.now()}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    assert token_client(confirmed.json()["token"]).get(ME).status_code == 200


def test_user_who_must_set_up_may_log_out(api, user):
    require_two_step(user)
    client = token_client(login(api).json()["token"])
    assert client.post(AUTH + "logout/").status_code == 204
    assert client.get(AUTH + "two-step/").status_code == 401


def test_view_marked_allow_without_two_step_is_reachable_before_setup(api, user):
    require_two_step(user)
    token = login(api).json()["token"]

    @allow_without_two_step
    class HelpView(MeView):
        pass

    view = HelpView.as_view(authentication_classes=[TwoStepTokenAuthentication])
    assert view(token_request(token)).status_code == 200
    refused = me_view(TwoStepTokenAuthentication)(token_request(token))
    assert refused.status_code == 403
    assert refused.data["code"] == "two_step_setup_required"


def test_grace_period_lets_the_credential_work_until_it_ends(api, user, clock):
    require_two_step(user, grace_period_days=7)
    client = token_client(login(api).json()["token"])
    assert client.get(ME).status_code == 200
    clock.shift(timedelta(days=7) - timedelta(seconds=1))
    assert client.get(ME).status_code == 200
    clock.shift(1)
    assert_error(client.get(ME), 403, "two_step_setup_required")


def test_requirement_added_later_applies_to_an_existing_token(api, user):
    client = token_client(login(api).json()["token"])
    assert client.get(ME).status_code == 200
    require_two_step(user)
    assert_error(client.get(ME), 403, "two_step_setup_required")


# -- query counts --------------------------------------------------------------------------


def test_plain_drf_token_authentication_costs_one_query(api, user):
    token = login(api).json()["token"]
    queries, response = count_queries(lambda: me_view(TokenAuthentication)(token_request(token)))
    assert response.status_code == 200
    assert queries == 1


def test_two_step_token_authentication_costs_what_drf_costs(api, user_with_totp):
    token = verified_token(api, user_with_totp)
    base, plain = count_queries(lambda: me_view(TokenAuthentication)(token_request(token)))
    assert plain.status_code == 200
    enforced_queries, enforced = count_queries(
        lambda: me_view(TwoStepTokenAuthentication)(token_request(token))
    )
    assert enforced.status_code == 200
    # The token, its user and the 2SV state come in one query, as the token and user do in
    # DRF's class.
    assert enforced_queries == base == 1


def test_authenticated_get_of_a_project_view_costs_one_query(
    api, user_with_totp, django_assert_num_queries
):
    client = token_client(verified_token(api, user_with_totp))
    with django_assert_num_queries(1):
        response = client.get(ME)
    assert response.status_code == 200


def test_authenticated_get_without_two_step_costs_one_query(api, user, django_assert_num_queries):
    client = token_client(login(api).json()["token"])
    with django_assert_num_queries(1):
        response = client.get(ME)
    assert response.status_code == 200


def test_refused_unverified_token_costs_one_query(user_with_totp, django_assert_num_queries):
    Token.objects.filter(user=user_with_totp.user).delete()
    client = token_client(Token.objects.create(user=user_with_totp.user).key)
    with django_assert_num_queries(1):
        response = client.get(ME)
    assert response.status_code == 403


def test_the_token_class_reads_the_state_with_the_token_and_never_from_the_cache(
    api, user_with_totp, settings, django_assert_num_queries
):
    settings.DRF_TWOSTEP = {"ISSUER_NAME": "Test Clinic", "ENFORCEMENT_CACHE": "default"}
    client = token_client(verified_token(api, user_with_totp))
    for _ in range(2):
        with django_assert_num_queries(1):
            assert client.get(ME).status_code == 200


def test_enforcement_cache_makes_a_warm_session_request_cost_what_drf_costs(
    user, clock, settings, django_assert_num_queries
):
    settings.DRF_TWOSTEP = {"ISSUER_NAME": "Test Clinic", "ENFORCEMENT_CACHE": "default"}
    session = APIClient()
    session.force_login(user)
    setup = start_setup(session).json()
    totp = totp_from_uri(setup["otpauth_uri"])
    session.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/", {"code": totp.now()}, format="json"
    )
    # Session row and user row (with the state), as DRF's SessionAuthentication, cold or warm.
    for _ in range(2):
        with django_assert_num_queries(2):
            assert session.get(ME).status_code == 200


def test_verified_session_get_costs_two_queries(user, clock, django_assert_num_queries):
    session = APIClient()
    session.force_login(user)
    setup = start_setup(session).json()
    totp = totp_from_uri(setup["otpauth_uri"])
    session.post(
        f"{AUTH}two-step/methods/{setup['id']}/confirm/", {"code": totp.now()}, format="json"
    )
    # Session row, user row with the enforcement state: DRF's SessionAuthentication's two.
    with django_assert_num_queries(2):
        response = session.get(ME)
    assert response.status_code == 200


def test_login_of_a_two_step_user_costs_four_queries(
    api, user_with_totp, django_assert_num_queries
):
    # The password's user; the user again with their profile outer-joined (and whether the
    # client is known, which only a sign-in completed here uses); the challenge's INSERT; the
    # active methods.
    with django_assert_num_queries(4):
        response = login(api)
    assert response.json()["status"] == "verification_required"


# The statements of login/verify/ before and after the code check.
VERIFY_OPENS = [
    "BEGIN",
    # The challenge with its user and their profile, locked; with the recovery codes' count
    # and whether an organization of the user has a policy, for the status object. Whether
    # the client is new is on the challenge's row: login/ looked it up (tests/test_new_device.py).
    "SELECT drf_twostep_loginchallenge",
    # All of the user's methods: the one checked, and the status object's.
    "SELECT drf_twostep_twostepmethod",
]
VERIFY_COMPLETES = [
    # Completed once: a conditional UPDATE.
    "UPDATE drf_twostep_loginchallenge",
    # (The user's token came with the challenge's row.)
    "UPDATE drf_twostep_twostepprofile",
    # The events of the sign-in, in one INSERT (with new_device_sign_in when the client is
    # new: tests/test_new_device.py).
    "INSERT drf_twostep_securityevent",
    # Django's user_logged_in: last_login.
    "UPDATE auth_user",
    "COMMIT",
]


# In a real transaction, so that BEGIN and COMMIT are the flow's own.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "kind, checks",
    [
        # The replay guard, with last_used_at.
        ("code", ["UPDATE drf_twostep_twostepmethod"]),
        # The code used, and its replacement.
        ("recovery_code", ["DELETE drf_twostep_recoverycode", "INSERT drf_twostep_recoverycode"]),
    ],
)
def test_login_verify_costs_nine_or_eleven_queries(api, user_with_totp, kind, checks):
    challenge = login(api).json()["challenge"]
    given = user_with_totp.code() if kind == "code" else user_with_totp.recovery_codes[0]
    with CaptureQueriesContext(connection) as captured:
        response = verify(api, challenge, **{kind: given})
    assert response.status_code == 200, response.content
    # After a recovery code, the status object counts the codes again.
    after = ["SELECT drf_twostep_recoverycode"] if kind == "recovery_code" else []
    assert statements(captured) == VERIFY_OPENS + checks + VERIFY_COMPLETES + after
    assert len(captured) == {"code": 9, "recovery_code": 11}[kind]


@pytest.mark.django_db(transaction=True)
def test_login_verify_inserts_a_missing_token_without_a_savepoint(api, user_with_totp):
    Token.objects.filter(user=user_with_totp.user).delete()
    challenge = login(api).json()["challenge"]
    with CaptureQueriesContext(connection) as captured:
        response = verify(api, challenge, code=user_with_totp.code())
    assert response.status_code == 200, response.content
    done = statements(captured)
    assert done[:4] == VERIFY_OPENS + ["UPDATE drf_twostep_twostepmethod"]
    assert done[4:6] == ["UPDATE drf_twostep_loginchallenge", "INSERT authtoken_token"]
    assert "SAVEPOINT" not in done and len(done) == 10
    assert token_client(response.json()["token"]).get(ME).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_token_made_meanwhile_elsewhere_makes_login_verify_start_over(api, user_with_totp):
    user = user_with_totp.user
    Token.objects.filter(user=user).delete()
    challenge = login(api).json()["challenge"]
    raced = []

    def obtain_auth_token_meanwhile(execute, sql, params, many, context):
        # Another path (obtain_auth_token, the admin) creates the user's token between the
        # second step's SELECT and its INSERT.
        # The table's name as each database quotes it ("authtoken_token", `authtoken_token`).
        if (
            sql.startswith("INSERT INTO " + connection.ops.quote_name("authtoken_token"))
            and not raced
        ):
            raced.append(sql)
            execute(sql, [Token.generate_key(), *params[1:]], many, context)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(obtain_auth_token_meanwhile):
        response = verify(api, challenge, code=user_with_totp.code())
    assert raced and response.status_code == 200, response.content
    assert token_client(response.json()["token"]).get(ME).status_code == 200
    # Started over from the start: the challenge, the code and the events count once.
    kinds = list(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert kinds.count("verification_succeeded") == 1
    assert_error(verify(api, challenge, code=user_with_totp.code()), 400, "invalid_challenge")


# In a real transaction, so that BEGIN and COMMIT are the flow's own.
@pytest.mark.django_db(transaction=True)
def test_wrong_code_on_login_verify_costs_seven_queries(api, user_with_totp):
    challenge = login(api).json()["challenge"]
    near = {user_with_totp.code(offset) for offset in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in near)
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            response = verify(api, challenge, code=wrong)
        assert response.status_code == 400
        assert statements(captured) == [
            "BEGIN",
            "SELECT drf_twostep_loginchallenge",
            "SELECT drf_twostep_twostepmethod",
            # The attempt counted on the challenge and on the user.
            "UPDATE drf_twostep_loginchallenge",
            "UPDATE drf_twostep_twostepprofile",
            # verification_failed, committed with the counters.
            "INSERT drf_twostep_securityevent",
            "COMMIT",
        ]


def test_wrong_code_that_locks_out_records_both_events_in_one_insert(api, user_with_totp, settings):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "LOCKOUT_THRESHOLD": 1}
    challenge = login(api).json()["challenge"]
    near = {user_with_totp.code(offset) for offset in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in near)
    with CaptureQueriesContext(connection) as captured:
        response = verify(api, challenge, code=wrong)
    assert response.status_code == 400
    assert statements(captured).count("INSERT drf_twostep_securityevent") == 1
    kinds = SecurityEvent.objects.filter(user=user_with_totp.user).values_list("kind", flat=True)
    assert {"verification_failed", "locked_out"} <= set(kinds)


# -- REQUIRED_FOR_STAFF --------------------------------------------------------------------


@pytest.fixture
def staff_required(settings):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "REQUIRED_FOR_STAFF": True}


def test_staff_need_two_step_only_when_the_setting_says_so(api, user, settings):
    user.is_staff = True
    user.save()
    assert login(api).json()["status"] == "authenticated"
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "REQUIRED_FOR_STAFF": True}
    body = login(api).json()
    assert body["status"] == "setup_required"
    assert_error(token_client(body["token"]).get(ME), 403, "two_step_setup_required")


def test_staff_requirement_applies_to_a_credential_issued_before_promotion(
    api, user, staff_required, django_assert_num_queries
):
    client = token_client(login(api).json()["token"])
    assert client.get(ME).status_code == 200
    user.is_staff = True
    user.save()
    with django_assert_num_queries(1):  # no query more than any enforced request
        assert_error(client.get(ME), 403, "two_step_setup_required")


def test_staff_with_two_step_on_pass_and_cannot_remove_their_last_method(
    api, user, clock, staff_required
):
    user.is_superuser = True
    user.save()
    alice = enable_totp(api, user, clock)
    assert alice.client().get(ME).status_code == 200
    response = alice.client().delete(
        f"{AUTH}two-step/methods/{alice.method_id}/", {"password": PASSWORD}, format="json"
    )
    assert_error(response, 409, "method_required_by_organization")
