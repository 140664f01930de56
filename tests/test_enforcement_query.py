"""
The enforcement state query: compiled once per database, the user's organizations put in per
request. It must answer exactly as the ORM-built query does, in one query, for any adapter.
With the default adapter and no ENFORCEMENT_CACHE, TwoStepTokenAuthentication reads the same
state in the token's own query, and must answer the same.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token

from drf_twostep import authentication, enforcement
from drf_twostep.adapter import DefaultTwoStepAdapter
from drf_twostep.authentication import TwoStepTokenAuthentication
from drf_twostep.models import OrganizationPolicy, TwoStepMethod, TwoStepProfile


class UsernameTeamAdapter(DefaultTwoStepAdapter):
    """Organizations found by the user's username, not their pk: nothing about them may be
    reused from one user to the next."""

    def get_user_organizations(self, user):
        return Group.objects.filter(name=f"team-{user.get_username()}")


class GroupsByPkAdapter(DefaultTwoStepAdapter):
    """Overrides the organizations, and gives them by pk too (through the group table)."""

    def get_user_organizations(self, user):
        return Group.objects.filter(user=user, name__startswith="org-")

    def get_organizations_of_user_pk(self, user_pk):
        return Group.objects.filter(user=user_pk, name__startswith="org-")


class EmptyAdapter(DefaultTwoStepAdapter):
    def get_user_organizations(self, user):
        return Group.objects.none()


def orm_state(user):
    row = enforcement._state_queryset(user).first()
    if row is None:
        return enforcement.EnforcementState(False, "", None)
    enabled, marker, unmet = row
    return enforcement.EnforcementState(bool(enabled), marker or "", unmet)


def require(group, **policy):
    return OrganizationPolicy.objects.create(organization=group, required=True, **policy)


def add_method(user, kind="authenticator_app"):
    return TwoStepMethod.objects.create(user=user, kind=kind, status="active", is_default=True)


def assert_state_in_one_query(user, django_assert_num_queries):
    enforcement.invalidate(user)
    with django_assert_num_queries(1):
        state = enforcement.compute_state(user)
    assert state == orm_state(user)
    if enforcement.state_annotation_key() is not None:
        token, _ = Token.objects.get_or_create(user=user)
        with django_assert_num_queries(1):
            found, _ = TwoStepTokenAuthentication().authenticate_credentials(token.key)
        assert found.pk == user.pk
        assert found._twostep_state == state
        assert enforcement.get_state(found) is found._twostep_state
    return state


@pytest.fixture(autouse=True)
def _fresh_compiled_sql():
    enforcement._compiled.clear()
    enforcement._organizations_by_pk.clear()
    enforcement._annotatable.clear()
    authentication._TOKEN_LOOKUPS.clear()
    yield
    enforcement._compiled.clear()
    enforcement._organizations_by_pk.clear()
    enforcement._annotatable.clear()
    authentication._TOKEN_LOOKUPS.clear()


def test_state_of_a_user_in_no_organization(user, django_assert_num_queries):
    state = assert_state_in_one_query(user, django_assert_num_queries)
    assert state == enforcement.EnforcementState(False, "", None)


def test_state_with_profile_and_unmet_requirement(user, django_assert_num_queries):
    clinic = Group.objects.create(name="Clinic")
    user.groups.add(clinic)
    policy = require(clinic)
    TwoStepProfile.objects.create(user=user, enabled=True, verified_credential="abc")
    state = assert_state_in_one_query(user, django_assert_num_queries)
    assert state.enabled is True
    assert state.verified_credential == "abc"
    assert state.unmet_from == policy.enforced_from
    assert state.unmet_from.tzinfo is not None
    assert state.setup_required()


def test_state_in_a_grace_period(user, django_assert_num_queries):
    clinic = Group.objects.create(name="Clinic")
    user.groups.add(clinic)
    require(clinic, grace_period_days=7)
    state = assert_state_in_one_query(user, django_assert_num_queries)
    assert state.unmet_from > timezone.now() + timedelta(days=6)
    assert not state.setup_required()


def test_state_with_a_method_the_policy_does_or_does_not_allow(user, django_assert_num_queries):
    clinic = Group.objects.create(name="Clinic")
    user.groups.add(clinic)
    policy = require(clinic)
    policy.allowed_methods = ["sms"]
    policy.save()
    add_method(user, "authenticator_app")
    assert assert_state_in_one_query(user, django_assert_num_queries).setup_required()
    policy.allowed_methods = ["sms", "authenticator_app"]
    policy.save()
    assert assert_state_in_one_query(user, django_assert_num_queries).unmet_from is None


def test_state_of_the_earliest_unmet_of_several_policies(
    user, other_user, django_assert_num_queries
):
    first, second = Group.objects.create(name="A"), Group.objects.create(name="B")
    user.groups.add(first, second)
    require(first, grace_period_days=3)
    early = require(second)
    assert assert_state_in_one_query(user, django_assert_num_queries).unmet_from == (
        early.enforced_from
    )
    # The other user shares nothing with the first: the compiled SQL takes their own pk.
    assert assert_state_in_one_query(other_user, django_assert_num_queries).unmet_from is None


def test_adapter_organizations_are_the_users_own_each_time(
    user, other_user, settings, django_assert_num_queries
):
    settings.DRF_TWOSTEP = {
        "ISSUER_NAME": "Test Clinic",
        "ADAPTER": "tests.test_enforcement_query.UsernameTeamAdapter",
    }
    team = Group.objects.create(name=f"team-{user.get_username()}")
    policy = require(team)
    assert assert_state_in_one_query(user, django_assert_num_queries).unmet_from == (
        policy.enforced_from
    )
    assert assert_state_in_one_query(other_user, django_assert_num_queries).unmet_from is None
    other_team = Group.objects.create(name=f"team-{other_user.get_username()}")
    require(other_team)
    assert assert_state_in_one_query(other_user, django_assert_num_queries).setup_required()


def test_adapter_without_organizations_falls_back_to_the_orm(user, settings):
    settings.DRF_TWOSTEP = {
        "ISSUER_NAME": "Test Clinic",
        "ADAPTER": "tests.test_enforcement_query.EmptyAdapter",
    }
    TwoStepProfile.objects.create(user=user, enabled=True, verified_credential="abc")
    assert enforcement.compute_state(user) == enforcement.EnforcementState(True, "abc", None)


def test_enforced_request_compiles_no_query(user, django_assert_num_queries, monkeypatch):
    """After the first request, neither the token's query nor the state's is built again."""
    from rest_framework.test import APIClient

    clinic = Group.objects.create(name="Clinic")
    user.groups.add(clinic)
    require(clinic, grace_period_days=7)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get("/api/me/").status_code == 200
    calls = []
    for module, name in [(enforcement, "_state_queryset"), (authentication, "_token_queryset")]:
        original = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _original=original, **k: calls.append(a) or _original(*a, **k)
        )
    with django_assert_num_queries(1):
        assert client.get("/api/me/").status_code == 200
    assert calls == []


def test_with_another_adapter_the_state_is_its_own_query(user, settings, django_assert_num_queries):
    settings.DRF_TWOSTEP = {
        "ISSUER_NAME": "Test Clinic",
        "ADAPTER": "tests.test_enforcement_query.UsernameTeamAdapter",
    }
    require(Group.objects.create(name=f"team-{user.get_username()}"))
    token = Token.objects.create(user=user)
    with django_assert_num_queries(1):
        found, _ = TwoStepTokenAuthentication().authenticate_credentials(token.key)
    assert not hasattr(found, "_twostep_state")
    with django_assert_num_queries(1):
        assert enforcement.get_state(found).setup_required()


def test_an_adapter_that_gives_organizations_by_pk_has_the_state_read_with_the_token(
    user, other_user, settings, django_assert_num_queries
):
    settings.DRF_TWOSTEP = {
        "ISSUER_NAME": "Test Clinic",
        "ADAPTER": "tests.test_enforcement_query.GroupsByPkAdapter",
    }
    assert enforcement.state_annotation_key() is not None
    ignored, counted = Group.objects.create(name="club"), Group.objects.create(name="org-a")
    user.groups.add(ignored, counted)
    require(ignored)
    assert assert_state_in_one_query(user, django_assert_num_queries).unmet_from is None
    policy = require(counted)
    add_method(other_user)
    other_user.groups.add(counted)
    assert assert_state_in_one_query(user, django_assert_num_queries).unmet_from == (
        policy.enforced_from
    )
    assert assert_state_in_one_query(other_user, django_assert_num_queries).unmet_from is None
