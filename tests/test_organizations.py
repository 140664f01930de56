"""
Organizations (API.md: Organization policy, Enforcement): policies on ``auth.Group`` through the
default adapter, the organization admin API, allowed method kinds, and the enforcement cache.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from drf_twostep.models import OrganizationPolicy, RecoveryCode, SecurityEvent, TwoStepMethod
from tests.helpers import (
    AUTH,
    PASSWORD,
    assert_error,
    enable_totp,
    login,
    start_setup,
    token_client,
    totp_from_uri,
    verify,
)
from tests.testapp.methods import STATIC_CODE

ME = "/api/me/"
APP = "authenticator_app"
STATIC = "static_code"
WITH_STATIC_CODES = {
    "ISSUER_NAME": "Test Clinic",
    "METHOD_CLASSES": [
        "drf_twostep.methods.totp.AuthenticatorAppMethod",
        "tests.testapp.methods.StaticCodeMethod",
    ],
}


def make_user(username, *groups, is_staff=False):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.com", PASSWORD, is_staff=is_staff
    )
    user.groups.add(*groups)
    return user


def policy_url(org_id):
    return f"{AUTH}organizations/{org_id}/two-step-policy/"


def members_url(org_id):
    return f"{AUTH}organizations/{org_id}/members/"


def reset_url(org_id, user_id):
    return f"{AUTH}organizations/{org_id}/members/{user_id}/reset-two-step/"


@pytest.fixture
def clinic(db):
    return Group.objects.create(name="Demo Clinic")


@pytest.fixture
def admin(api, clinic, clock):
    """An admin of the clinic (staff member of the group) with 2SV on."""
    return enable_totp(api, make_user("dora", clinic, is_staff=True), clock)


def require(clinic, **policy):
    policy.setdefault("required", True)
    return OrganizationPolicy.objects.create(organization=clinic, **policy)


def setup_static(client):
    return start_setup(client, kind=STATIC)


def confirm(client, method_id, code):
    return client.post(
        f"{AUTH}two-step/methods/{method_id}/confirm/", {"code": code}, format="json"
    )


# -- the login answer and the status object -------------------------------------------------


def test_login_of_a_member_without_two_step_answers_setup_required(api, user, clinic, clock):
    user.groups.add(clinic)
    require(clinic)
    response = login(api)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "setup_required"
    assert body["token"]
    assert body["two_step"]["required"] is True
    assert body["two_step"]["enabled"] is False
    assert body["two_step"]["required_by"] == [{"id": str(clinic.pk), "name": "Demo Clinic"}]
    assert body["two_step"]["grace_period_ends_at"] is None


def test_policy_that_is_not_required_changes_nothing(api, user, clinic):
    user.groups.add(clinic)
    require(clinic, required=False)
    body = login(api).json()
    assert body["status"] == "authenticated"
    assert body["two_step"]["required"] is False
    assert body["two_step"]["required_by"] == []
    assert token_client(body["token"]).get(ME).status_code == 200


def test_inside_the_grace_period_login_authenticates_and_status_shows_its_end(
    api, user, clinic, clock
):
    user.groups.add(clinic)
    policy = require(clinic, grace_period_days=3)
    body = login(api).json()
    assert body["status"] == "authenticated"
    ends = policy.required_since + timedelta(days=3)
    status = token_client(body["token"]).get(AUTH + "two-step/").json()
    assert status["required"] is True
    assert status["grace_period_ends_at"].replace("Z", "+00:00") == ends.isoformat()
    clock.shift(timedelta(days=3))
    assert login(api).json()["status"] == "setup_required"


def test_member_with_two_step_on_is_asked_for_a_code_not_for_setup(api, user_with_totp, clinic):
    user_with_totp.user.groups.add(clinic)
    require(clinic)
    assert login(api).json()["status"] == "verification_required"


def test_strictest_of_several_organizations_applies(api, user, clinic, clock):
    lenient = Group.objects.create(name="Lenient Lab")
    user.groups.add(clinic, lenient)
    require(lenient, grace_period_days=30)
    require(clinic, grace_period_days=2)
    client = token_client(login(api).json()["token"])
    status = client.get(AUTH + "two-step/").json()
    assert {o["name"] for o in status["required_by"]} == {"Demo Clinic", "Lenient Lab"}
    assert status["grace_period_ends_at"].startswith(
        (OrganizationPolicy.objects.get(organization=clinic).required_since + timedelta(days=2))
        .date()
        .isoformat()
    )
    clock.shift(timedelta(days=2))
    assert_error(client.get(ME), 403, "two_step_setup_required")


def test_required_since_is_set_when_turned_on_and_kept_while_on(clinic, clock):
    policy = require(clinic, required=False)
    assert policy.required_since is None
    policy.required = True
    policy.save()
    since = policy.required_since
    assert since is not None
    clock.shift(3600)
    policy.grace_period_days = 5
    policy.save()
    assert policy.required_since == since
    policy.required = False
    policy.save()
    assert policy.required_since is None


# -- allowed method kinds -------------------------------------------------------------------


@pytest.fixture
def static_codes(settings):
    settings.DRF_TWOSTEP = WITH_STATIC_CODES


def test_kind_outside_the_allowed_kinds_cannot_be_set_up(api, user, clinic, static_codes):
    user.groups.add(clinic)
    require(clinic, required=False, allowed_methods=[APP])
    client = token_client(login(api).json()["token"])
    assert_error(setup_static(client), 400, "method_not_allowed")
    assert not TwoStepMethod.objects.filter(user=user).exists()
    assert start_setup(client).status_code == 201


def test_allowed_kinds_of_several_organizations_intersect(api, user, clinic, static_codes):
    other = Group.objects.create(name="Other Clinic")
    user.groups.add(clinic, other)
    require(clinic, required=False, allowed_methods=[APP, STATIC])
    require(other, required=False, allowed_methods=[STATIC])
    client = token_client(login(api).json()["token"])
    assert_error(start_setup(client), 400, "method_not_allowed")
    assert setup_static(client).status_code == 201


def test_method_of_a_disallowed_kind_does_not_meet_the_requirement(
    api, user, clinic, clock, static_codes
):
    client = token_client(login(api).json()["token"])
    setup = setup_static(client)
    assert setup.status_code == 201, setup.content
    confirmed = confirm(client, setup.json()["id"], STATIC_CODE)
    assert confirmed.status_code == 200, confirmed.content
    client = token_client(confirmed.json()["token"])
    assert client.get(ME).status_code == 200

    user.groups.add(clinic)
    require(clinic, allowed_methods=[APP])
    assert_error(client.get(ME), 403, "two_step_setup_required")
    admin = enable_totp(api, make_user("dora", clinic, is_staff=True), clock)
    listed = admin.client().get(members_url(clinic.pk)).json()["results"]
    alice = next(m for m in listed if m["user"]["username"] == "alice")
    assert alice["enabled"] is True
    assert alice["methods"] == [STATIC]
    assert alice["compliant"] is False

    # An allowed method is what makes it work again; the disallowed one stays usable for login.
    setup = start_setup(client)
    assert setup.status_code == 201
    totp = totp_from_uri(setup.json()["otpauth_uri"])
    assert confirm(client, setup.json()["id"], totp.now()).status_code == 200
    assert client.get(ME).status_code == 200


def test_unknown_kind_in_a_policy_is_a_400(admin, clinic):
    response = admin.client().patch(
        policy_url(clinic.pk), {"allowed_methods": ["carrier_pigeon"]}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert "carrier_pigeon" in str(body["allowed_methods"])


# -- deleting the last method ---------------------------------------------------------------


def test_deleting_the_last_method_while_required_is_a_409(api, user_with_totp, clinic):
    user_with_totp.user.groups.add(clinic)
    require(clinic)
    client = user_with_totp.client()
    response = client.delete(
        f"{AUTH}two-step/methods/{user_with_totp.method_id}/",
        {"password": PASSWORD},
        format="json",
    )
    assert_error(response, 409, "method_required_by_organization")
    assert TwoStepMethod.objects.active().filter(user=user_with_totp.user).count() == 1
    assert RecoveryCode.objects.filter(user=user_with_totp.user).count() == 1
    assert client.get(ME).status_code == 200


def test_deleting_the_only_allowed_method_is_a_409_even_with_another_left(
    api, user_with_totp, clinic, clock, static_codes
):
    client = user_with_totp.client()
    setup = setup_static(client)
    assert confirm(client, setup.json()["id"], STATIC_CODE).status_code == 200
    user_with_totp.user.groups.add(clinic)
    require(clinic, allowed_methods=[APP])
    response = client.delete(
        f"{AUTH}two-step/methods/{user_with_totp.method_id}/",
        {"password": PASSWORD},
        format="json",
    )
    assert_error(response, 409, "method_required_by_organization")
    removed = client.delete(
        f"{AUTH}two-step/methods/{setup.json()['id']}/", {"password": PASSWORD}, format="json"
    )
    assert removed.status_code == 204, removed.content


# -- who may use the admin API --------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["plain member", "outsider", "admin of another organization", "member with 2SV"]
)
def test_anyone_but_an_admin_gets_404_on_every_organization_endpoint(
    api, who, clinic, admin, clock
):
    other = Group.objects.create(name="Other Clinic")
    member = make_user("erin", clinic)
    if who == "member with 2SV":
        token = enable_totp(api, make_user("frank", clinic), clock).token
    else:
        {
            "plain member": lambda: make_user("frank", clinic),
            "outsider": lambda: make_user("frank"),
            "admin of another organization": lambda: make_user("frank", other, is_staff=True),
        }[who]()
        token = login(api, "frank").json()["token"]
    client = token_client(token)
    for response in (
        client.get(policy_url(clinic.pk)),
        client.put(
            policy_url(clinic.pk),
            {"required": False, "grace_period_days": 0, "allowed_methods": [APP]},
            format="json",
        ),
        client.patch(policy_url(clinic.pk), {"required": False}, format="json"),
        client.get(members_url(clinic.pk)),
        client.post(reset_url(clinic.pk, member.pk)),
    ):
        assert_error(response, 404, "not_found")
    assert not SecurityEvent.objects.filter(kind="policy_changed").exists()


@pytest.mark.parametrize("org_id", ["999999", "abc", "-1", "1e3", "99999999999999999999999", "%20"])
def test_unknown_or_malformed_organization_ids_are_404(admin, org_id):
    client = admin.client()
    assert_error(client.get(policy_url(org_id)), 404, "not_found")
    assert_error(client.get(members_url(org_id)), 404, "not_found")
    assert_error(client.post(reset_url(org_id, admin.user.pk)), 404, "not_found")


@pytest.mark.parametrize("user_id", ["999999", "abc", "-5", "99999999999999999999999"])
def test_reset_of_an_unknown_user_is_404(admin, clinic, user_id):
    assert_error(admin.client().post(reset_url(clinic.pk, user_id)), 404, "not_found")


def test_reset_of_someone_outside_the_organization_is_404_and_changes_nothing(
    api, admin, clinic, clock
):
    outsider = enable_totp(api, make_user("frank"), clock)
    assert_error(admin.client().post(reset_url(clinic.pk, outsider.user.pk)), 404, "not_found")
    assert TwoStepMethod.objects.active().filter(user=outsider.user).count() == 1
    assert outsider.client().get(ME).status_code == 200


def test_anonymous_gets_401(api, clinic):
    assert api.get(policy_url(clinic.pk)).status_code == 401
    assert api.get(members_url(clinic.pk)).status_code == 401


def test_admin_without_two_step_may_read_but_not_change(api, clinic):
    make_user("dora", clinic, is_staff=True)
    member = make_user("erin", clinic)
    client = token_client(login(api, "dora").json()["token"])
    assert client.get(policy_url(clinic.pk)).status_code == 200
    assert client.get(members_url(clinic.pk)).status_code == 200
    assert_error(
        client.patch(policy_url(clinic.pk), {"required": True}, format="json"),
        403,
        "two_step_setup_required",
    )
    assert_error(
        client.put(
            policy_url(clinic.pk),
            {"required": True, "grace_period_days": 0, "allowed_methods": [APP]},
            format="json",
        ),
        403,
        "two_step_setup_required",
    )
    assert_error(client.post(reset_url(clinic.pk, member.pk)), 403, "two_step_setup_required")
    assert not OrganizationPolicy.objects.exists()


def test_superuser_administers_every_organization(api, clinic, clock):
    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    su = enable_totp(api, root, clock)
    assert (
        su.client().patch(policy_url(clinic.pk), {"required": True}, format="json").status_code
        == 200
    )


# -- the policy endpoint --------------------------------------------------------------------


def test_get_of_an_organization_without_a_policy_shows_the_defaults(admin, clinic):
    response = admin.client().get(policy_url(clinic.pk))
    assert response.status_code == 200
    assert response.json() == {
        "organization": {"id": str(clinic.pk), "name": "Demo Clinic"},
        "required": False,
        "grace_period_days": 0,
        "required_since": None,
        "allowed_methods": [APP, "sms", "email"],
        "remember_device_days": None,
    }
    assert not OrganizationPolicy.objects.exists()


def test_put_sets_the_whole_policy_and_records_the_change(admin, clinic, clock):
    response = admin.client().put(
        policy_url(clinic.pk),
        {"required": True, "grace_period_days": 7, "allowed_methods": [APP]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["required"] is True
    assert body["grace_period_days"] == 7
    assert body["allowed_methods"] == [APP]
    assert body["required_since"].replace("Z", "+00:00") == timezone.now().isoformat()
    policy = OrganizationPolicy.objects.get(organization=clinic)
    assert policy.required and policy.grace_period_days == 7 and policy.allowed_methods == [APP]
    assert admin.client().get(policy_url(clinic.pk)).json() == body
    events = SecurityEvent.objects.filter(user=admin.user, kind="policy_changed")
    assert events.count() == 1


def test_put_without_every_field_is_a_400(admin, clinic):
    response = admin.client().put(policy_url(clinic.pk), {"required": True}, format="json")
    body = assert_error(response, 400, "invalid")
    assert set(body) >= {"grace_period_days", "allowed_methods"}
    assert not OrganizationPolicy.objects.exists()


def test_patch_changes_only_what_it_names(admin, clinic):
    require(clinic, grace_period_days=4)
    since = OrganizationPolicy.objects.get().required_since
    response = admin.client().patch(policy_url(clinic.pk), {"grace_period_days": 9}, format="json")
    assert response.status_code == 200
    policy = OrganizationPolicy.objects.get()
    assert (policy.required, policy.grace_period_days, policy.required_since) == (True, 9, since)


@pytest.mark.parametrize(
    "body",
    [
        {"grace_period_days": -1},
        {"grace_period_days": 366},
        {"grace_period_days": "soon"},
        {"required": "perhaps"},
        {"allowed_methods": []},
        {"allowed_methods": "authenticator_app"},
        {"allowed_methods": [None]},
    ],
)
def test_bad_policy_fields_are_a_400(admin, clinic, body):
    assert_error(admin.client().patch(policy_url(clinic.pk), body, format="json"), 400, "invalid")
    assert not OrganizationPolicy.objects.exists()


def test_turning_a_policy_off_and_on_restarts_the_grace_period(admin, clinic, clock):
    client = admin.client()
    first = client.put(
        policy_url(clinic.pk),
        {"required": True, "grace_period_days": 1, "allowed_methods": [APP]},
        format="json",
    ).json()["required_since"]
    clock.shift(3600)
    # An hour after the sign-in, a change asks for a fresh second step first.
    assert_error(
        client.patch(policy_url(clinic.pk), {"required": False}, format="json"),
        403,
        "reverification_required",
    )
    reverified = client.post(AUTH + "two-step/reverify/", {"code": admin.code()}, format="json")
    assert reverified.status_code == 200, reverified.content
    assert (
        client.patch(policy_url(clinic.pk), {"required": False}, format="json").json()[
            "required_since"
        ]
        is None
    )
    again = client.patch(policy_url(clinic.pk), {"required": True}, format="json").json()
    assert again["required_since"] > first


def test_policy_turned_on_through_the_api_applies_to_existing_credentials(api, admin, clinic):
    make_user("erin", clinic)
    client = token_client(login(api, "erin").json()["token"])
    assert client.get(ME).status_code == 200
    admin.client().patch(policy_url(clinic.pk), {"required": True}, format="json")
    assert_error(client.get(ME), 403, "two_step_setup_required")
    admin.client().patch(policy_url(clinic.pk), {"required": False}, format="json")
    assert client.get(ME).status_code == 200


# -- the members list -----------------------------------------------------------------------


def test_members_list_shows_each_member_and_whether_they_comply(api, admin, clinic, clock):
    require(clinic)
    make_user("erin", clinic)
    make_user("outsider")
    response = admin.client().get(members_url(clinic.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    rows = {row["user"]["username"]: row for row in body["results"]}
    assert set(rows) == {"dora", "erin"}
    assert rows["dora"]["user"]["id"] == str(admin.user.pk)
    assert rows["dora"]["enabled"] is True
    assert rows["dora"]["methods"] == [APP]
    assert rows["dora"]["compliant"] is True
    assert rows["dora"]["last_verified_at"] is not None
    assert rows["erin"] == {
        "user": {"id": rows["erin"]["user"]["id"], "username": "erin"},
        "enabled": False,
        "methods": [],
        "compliant": False,
        "last_verified_at": None,
    }


def test_members_list_filters_on_compliance(admin, clinic):
    require(clinic)
    make_user("erin", clinic)
    make_user("fay", clinic)
    client = admin.client()
    names = lambda r: sorted(m["user"]["username"] for m in r.json()["results"])  # noqa: E731
    assert names(client.get(members_url(clinic.pk), {"compliant": "false"})) == ["erin", "fay"]
    assert names(client.get(members_url(clinic.pk), {"compliant": "true"})) == ["dora"]
    assert names(client.get(members_url(clinic.pk))) == ["dora", "erin", "fay"]


def test_members_list_is_paginated_in_a_fixed_number_of_queries(
    admin, clinic, django_assert_num_queries
):
    for i in range(30):
        make_user(f"member{i:02}", clinic)
    client = admin.client()
    # token with the enforcement state, organization, admin check, policy, count, page, page's
    # methods
    with django_assert_num_queries(7):
        first = client.get(members_url(clinic.pk), {"page_size": 10})
    body = first.json()
    assert body["count"] == 31 and len(body["results"]) == 10 and body["next"]
    with django_assert_num_queries(7):
        last = client.get(members_url(clinic.pk), {"page_size": 10, "page": 4})
    assert len(last.json()["results"]) == 1
    assert_error(client.get(members_url(clinic.pk), {"page": 9}), 404, "not_found")


def test_members_list_next_and_previous_links_walk_every_member_once(admin, clinic):
    for i in range(11):
        make_user(f"member{i:02}", clinic)
    client = admin.client()
    seen, url = [], members_url(clinic.pk) + "?page_size=5"
    while url:
        body = client.get(url).json()
        assert body["count"] == 12
        seen += [m["user"]["id"] for m in body["results"]]
        url = body["next"]
    ids = sorted(get_user_model().objects.filter(groups=clinic).values_list("pk", flat=True))
    assert seen == [str(pk) for pk in ids]
    # The last page's previous link gives the five before it.
    back = client.get(
        client.get(members_url(clinic.pk), {"page_size": 5, "after": ids[9]}).json()["previous"]
    )
    assert [m["user"]["id"] for m in back.json()["results"]] == [str(pk) for pk in ids[5:10]]


def test_members_list_last_page_is_the_last_rows_and_links_back(admin, clinic):
    for i in range(6):
        make_user(f"member{i:02}", clinic)
    client = admin.client()
    body = client.get(members_url(clinic.pk), {"page_size": 4, "page": "last"}).json()
    ids = sorted(get_user_model().objects.filter(groups=clinic).values_list("pk", flat=True))
    assert [m["user"]["id"] for m in body["results"]] == [str(pk) for pk in ids[-4:]]
    assert body["next"] is None
    before = client.get(body["previous"]).json()
    assert [m["user"]["id"] for m in before["results"]] == [str(pk) for pk in ids[:3]]
    assert before["previous"] is None and before["next"]


def test_members_list_keyset_pages_keep_the_compliance_filter(admin, clinic):
    require(clinic)
    for i in range(5):
        make_user(f"member{i:02}", clinic)
    client = admin.client()
    first = client.get(members_url(clinic.pk), {"compliant": "false", "page_size": 2}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    names = [m["user"]["username"] for page in (first, second, third) for m in page["results"]]
    assert names == [f"member{i:02}" for i in range(5)]
    assert first["count"] == 5 and third["next"] is None
    assert all(m["compliant"] is False for m in first["results"])


@pytest.mark.parametrize("query", ["after=abc", "before=-1", "after=1&before=9"])
def test_members_list_refuses_a_bad_keyset(admin, clinic, query):
    body = assert_error(client_get(admin, members_url(clinic.pk) + "?" + query), 400, "invalid")
    assert {"after", "before"} & set(body)


def test_members_count_beyond_the_exact_limit_is_exact_or_the_planners_estimate(
    admin, clinic, monkeypatch
):
    from django.db import connection

    from drf_twostep.views.base import KeysetPagination

    for i in range(7):
        make_user(f"member{i:02}", clinic)
    monkeypatch.setattr(KeysetPagination, "EXACT_COUNT_UP_TO", 3)
    count = admin.client().get(members_url(clinic.pk)).json()["count"]
    if connection.vendor == "postgresql":
        assert isinstance(count, int) and count >= 0  # the planner's estimate
    else:
        assert count == 8


def client_get(who, url):
    return who.client().get(url)


# -- resetting a member ---------------------------------------------------------------------


def test_reset_removes_methods_and_codes_revokes_credentials_and_records_both(
    api, admin, clinic, clock, django_capture_on_commit_callbacks
):
    member = enable_totp(api, make_user("erin", clinic), clock)
    require(clinic)
    assert member.client().get(ME).status_code == 200
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.client().post(reset_url(clinic.pk, member.user.pk))
    assert response.status_code == 204, response.content
    assert not TwoStepMethod.objects.filter(user=member.user).exists()
    assert not RecoveryCode.objects.filter(user=member.user).exists()
    assert not Token.objects.filter(user=member.user).exists()
    assert member.client().get(ME).status_code == 401
    assert SecurityEvent.objects.filter(user=member.user, kind="reset_by_admin").count() == 1
    assert SecurityEvent.objects.filter(user=admin.user, kind="member_reset").count() == 1
    assert [m.to for m in mail.outbox] == [["erin@example.com"]]
    # The member signs in with the password alone and is sent to set up again.
    assert login(api, "erin").json()["status"] == "setup_required"
    # The admin's own 2SV is untouched.
    assert TwoStepMethod.objects.active().filter(user=admin.user).count() == 1


def test_reset_of_a_member_without_two_step_is_harmless(api, admin, clinic):
    member = make_user("erin", clinic)
    response = admin.client().post(reset_url(clinic.pk, member.pk))
    assert response.status_code == 204
    assert login(api, "erin").json()["status"] == "authenticated"


# -- the enforcement cache ------------------------------------------------------------------


def _redis_cache_or_skip():
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means there is no server to use
        if os.environ.get("DRF_TWOSTEP_REQUIRE_SERVICES"):
            raise
        pytest.skip(f"needs Redis on 127.0.0.1:6379 ({exc.__class__.__name__})")
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/15",
        "KEY_PREFIX": f"drf-twostep-tests-{os.getpid()}",
    }


@pytest.fixture
def shared_cache(settings):
    """Redis as the ``twostep`` cache, named in ENFORCEMENT_CACHE."""
    from django.core.cache import caches

    settings.CACHES = {**settings.CACHES, "twostep": _redis_cache_or_skip()}
    settings.DRF_TWOSTEP = {"ISSUER_NAME": "Test Clinic", "ENFORCEMENT_CACHE": "twostep"}
    caches["twostep"].clear()
    yield caches["twostep"]
    caches["twostep"].clear()


def test_with_a_shared_cache_a_warm_enforced_request_costs_no_extra_query(
    api, user_with_totp, clinic, shared_cache, django_assert_num_queries
):
    user_with_totp.user.groups.add(clinic)
    require(clinic)
    challenge = login(api).json()["challenge"]
    client = token_client(verify(api, challenge, code=user_with_totp.code()).json()["token"])
    client.get(ME)
    # DRF's own token look-up, and nothing else.
    with django_assert_num_queries(1):
        assert client.get(ME).status_code == 200


def test_without_a_cache_an_enforced_request_costs_what_drf_costs(
    api, user_with_totp, clinic, django_assert_num_queries
):
    user_with_totp.user.groups.add(clinic)
    require(clinic)
    challenge = login(api).json()["challenge"]
    client = token_client(verify(api, challenge, code=user_with_totp.code()).json()["token"])
    for _ in range(2):
        with django_assert_num_queries(1):
            assert client.get(ME).status_code == 200


def test_policy_change_through_the_api_invalidates_the_cached_state(
    api, admin, clinic, shared_cache
):
    make_user("erin", clinic)
    client = token_client(login(api, "erin").json()["token"])
    assert client.get(ME).status_code == 200
    assert client.get(ME).status_code == 200  # now cached
    admin.client().patch(policy_url(clinic.pk), {"required": True}, format="json")
    assert_error(client.get(ME), 403, "two_step_setup_required")
    admin.client().patch(policy_url(clinic.pk), {"grace_period_days": 10}, format="json")
    assert client.get(ME).status_code == 200


def test_method_change_invalidates_the_cached_state(api, user, clinic, clock, shared_cache):
    user.groups.add(clinic)
    require(clinic)
    client = token_client(login(api).json()["token"])
    assert_error(client.get(ME), 403, "two_step_setup_required")
    setup = start_setup(client).json()
    totp = totp_from_uri(setup["otpauth_uri"])
    confirmed = confirm(client, setup["id"], totp.now())
    assert token_client(confirmed.json()["token"]).get(ME).status_code == 200


def test_membership_change_made_elsewhere_shows_at_the_next_request_despite_the_cache(
    api, user, clinic, shared_cache
):
    require(clinic)
    session = APIClient()
    session.force_login(user)
    client = token_client(login(api).json()["token"])
    assert client.get(ME).status_code == 200
    assert session.get(ME).status_code == 200  # the state is now in the cache
    user.groups.add(clinic)  # made outside the package
    assert_error(client.get(ME), 403, "two_step_setup_required")
    assert_error(session.get(ME), 403, "two_step_setup_required")


@pytest.mark.parametrize("path", ["two-step-policy/", "members/", "members/1/reset-two-step/"])
def test_options_answers_without_an_error(admin, clinic, path):
    response = admin.client().options(f"{AUTH}organizations/{clinic.pk}/{path}")
    assert response.status_code == 200
    assert response.json()["name"]


# -- the status object of a completed sign-in ----------------------------------------------
# login/verify/ reads what its status object needs with the challenge's row (the recovery
# codes, whether any organization of the user has a policy, the profile's unmet requirement):
# it must equal what two-step/ answers right after.


def _policy_none(user, clinic):
    pass


def _policy_optional(user, clinic):
    user.groups.add(clinic)
    require(clinic, required=False, remember_device_days=7)


def _policy_met(user, clinic):
    user.groups.add(clinic)
    require(clinic, allowed_methods=[APP])


def _policy_unmet_in_grace(user, clinic):
    user.groups.add(clinic)
    require(clinic, grace_period_days=3, allowed_methods=["sms"])


def _policy_unmet_and_lenient(user, clinic):
    user.groups.add(clinic, Group.objects.create(name="Lenient"))
    require(clinic, grace_period_days=3, allowed_methods=["sms"], remember_device_days=2)
    require(Group.objects.get(name="Lenient"), required=False)


@pytest.mark.parametrize(
    "arrange",
    [
        _policy_none,
        _policy_optional,
        _policy_met,
        _policy_unmet_in_grace,
        _policy_unmet_and_lenient,
    ],
)
@pytest.mark.parametrize("second_step", ["code", "recovery_code"])
def test_the_status_of_login_verify_is_the_status_endpoints(
    api, user, clinic, clock, settings, arrange, second_step
):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "REMEMBER_DEVICE_DAYS": 30}
    two_step = enable_totp(api, user, clock)
    arrange(user, clinic)
    challenge = login(api).json()["challenge"]
    given = two_step.code() if second_step == "code" else two_step.recovery_codes[0]
    response = verify(api, challenge, **{second_step: given})
    assert response.status_code == 200, response.content
    answered = response.json()
    endpoint = token_client(answered["token"]).get(AUTH + "two-step/").json()
    for body in (answered["two_step"], endpoint):
        body.pop("server_time")
    assert answered["two_step"] == endpoint
