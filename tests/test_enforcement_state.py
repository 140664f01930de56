"""
The enforcement state is a row: every change that can alter what a user must do writes it on
their profile, whoever makes the change and through whichever ORM path sends a signal.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drf_twostep import enforcement, services
from drf_twostep.enforcement import rows
from drf_twostep.models import OrganizationPolicy, TwoStepMethod, TwoStepProfile
from tests.helpers import PASSWORD, assert_error, login, token_client
from tests.testapp.models import Membership

ME = "/api/me/"
User = get_user_model()


def row(user):
    """The user's setup_required_from as stored (None without a profile)."""
    profile = TwoStepProfile.objects.filter(user=user).first()
    return profile and profile.setup_required_from


def required(group, **fields):
    return OrganizationPolicy.objects.create(organization=group, required=True, **fields)


def active_method(user, kind="authenticator_app"):
    return TwoStepMethod.objects.create(user=user, kind=kind, status="active", is_default=True)


@pytest.fixture
def group(db):
    return Group.objects.create(name="Clinic")


@pytest.fixture
def policy(group):
    return required(group)


@pytest.fixture
def memberships(settings):
    """The adapter names testapp.Membership as the model of memberships."""
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "ADAPTER": "tests.testapp.adapters.MembershipAdapter",
    }


# -- policies -----------------------------------------------------------------------------


def test_a_policy_turned_on_writes_the_members_rows_and_off_clears_them(user, group, clock):
    user.groups.add(group)
    assert row(user) is None
    policy = required(group)
    assert row(user) == policy.enforced_from == timezone.now()
    policy.required = False
    policy.save()
    assert row(user) is None


def test_a_grace_period_is_written_as_its_end_and_enforced_when_it_ends(api, user, group, clock):
    user.groups.add(group)
    client = token_client(login(api).json()["token"])
    required(group, grace_period_days=3)
    assert row(user) == timezone.now() + timedelta(days=3)
    assert client.get(ME).status_code == 200
    clock.shift(timedelta(days=3))
    assert_error(client.get(ME), 403, "two_step_setup_required")


def test_allowed_kinds_changed_refresh_whether_a_method_meets_them(user, group, policy):
    active_method(user, kind="sms")
    user.groups.add(group)
    assert row(user) is None
    policy.allowed_methods = ["authenticator_app"]
    policy.save()
    assert row(user) == policy.enforced_from


def test_a_deleted_policy_or_organization_clears_the_rows(user, other_user, policy):
    group = policy.organization
    user.groups.add(group)
    other = Group.objects.create(name="Other")
    other_user.groups.add(group, other)
    required(other)
    policy.delete()
    assert row(user) is None
    assert row(other_user) is not None  # still required by the other group
    other.delete()
    assert row(other_user) is None


def test_several_policies_give_the_earliest_unmet_one(user, clock):
    later, sooner = Group.objects.create(name="later"), Group.objects.create(name="sooner")
    user.groups.add(later, sooner)
    required(later, grace_period_days=9)
    policy = required(sooner, grace_period_days=2)
    assert row(user) == policy.enforced_from


# -- memberships in auth.Group ----------------------------------------------------------


def test_user_groups_add_remove_and_clear(user, group, policy):
    user.groups.add(group)
    assert row(user) == policy.enforced_from
    user.groups.remove(group)
    assert row(user) is None
    user.groups.add(group)
    user.groups.clear()
    assert row(user) is None


def test_group_user_set_add_remove_and_clear(user, other_user, group, policy):
    group.user_set.add(user, other_user)
    assert row(user) == row(other_user) == policy.enforced_from
    group.user_set.remove(user)
    assert row(user) is None and row(other_user) is not None
    group.user_set.clear()
    assert row(other_user) is None


def test_rows_of_the_user_group_table_written_directly_show_after_a_refresh(user, group, policy):
    # Django sends no signal for them (documented, with twostep_refresh).
    User.groups.through.objects.create(user=user, group=group)
    assert row(user) is None
    enforcement.refresh(user)
    assert row(user) == policy.enforced_from


def test_deleting_a_user_with_memberships_deletes_them(user, group, policy):
    user.groups.add(group)
    user.delete()
    assert not TwoStepProfile.objects.exists()


# -- memberships in a model of the project's ---------------------------------------------


def test_a_membership_saved_moved_and_deleted(memberships, user, other_user, policy):
    membership = Membership.objects.create(user=user, organization=policy.organization)
    assert row(user) == policy.enforced_from
    membership.user = other_user
    membership.save()
    assert row(user) is None
    assert row(other_user) == policy.enforced_from
    membership.delete()
    assert row(other_user) is None


def test_memberships_deleted_by_a_queryset_and_by_their_organization(
    memberships, user, other_user, policy
):
    Membership.objects.create(user=user, organization=policy.organization)
    Membership.objects.create(user=other_user, organization=policy.organization)
    Membership.objects.filter(user=user).delete()
    assert row(user) is None and row(other_user) is not None
    policy.organization.delete()
    assert row(other_user) is None


def test_a_user_whose_memberships_are_of_a_project_model_is_enforced_next_request(
    memberships, api, user, group
):
    required(group)
    client = token_client(login(api).json()["token"])
    assert client.get(ME).status_code == 200
    Membership.objects.create(user=user, organization=group)
    assert_error(client.get(ME), 403, "two_step_setup_required")


def test_paths_that_send_no_signal_show_after_a_refresh(memberships, user, policy):
    Membership.objects.bulk_create([Membership(user=user, organization=policy.organization)])
    assert row(user) is None  # documented: bulk_create sends no signal
    call_command("twostep_refresh", user.get_username(), stdout=open("/dev/null", "w"))
    assert row(user) == policy.enforced_from
    Membership.objects.filter(user=user).update(organization=Group.objects.create(name="x"))
    enforcement.refresh(user)
    assert row(user) is None


def test_refresh_all_finds_members_of_required_organizations_and_past_rows(
    memberships, user, other_user, policy
):
    Membership.objects.bulk_create([Membership(user=user, organization=policy.organization)])
    TwoStepProfile.objects.create(user=other_user, setup_required_from=timezone.now())
    assert enforcement.refresh_all() == 2
    assert row(user) == policy.enforced_from
    assert row(other_user) is None


def test_an_adapter_that_names_no_memberships_is_refreshed_user_by_user(settings, user, policy):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "ADAPTER": "tests.testapp.adapters.UnwatchedAdapter",
    }
    Membership.objects.create(user=user, organization=policy.organization)
    assert row(user) is None  # not watched: the project calls refresh()
    enforcement.refresh(user)
    assert row(user) == policy.enforced_from
    policy.required = False
    policy.save()  # a policy change still reaches its members
    assert row(user) is None


# -- the user's own flows ----------------------------------------------------------------


def test_confirming_a_method_clears_the_row_and_a_reset_writes_it_again(
    user_with_totp, group, clock
):
    user = user_with_totp.user
    user.groups.add(group)
    policy = required(group)
    assert row(user) is None  # the authenticator app meets it
    services.reset_two_step(user)
    assert row(user) == policy.enforced_from


def test_removing_a_method_the_policy_does_not_allow_keeps_the_row(api, user_with_totp, group):
    user = user_with_totp.user
    user.groups.add(group)
    policy = required(group, allowed_methods=["sms"])
    assert row(user) == policy.enforced_from
    client = user_with_totp.client()
    url = f"/api/auth/two-step/methods/{user_with_totp.method_id}/"
    assert client.delete(url, {"password": PASSWORD}, format="json").status_code == 204
    assert row(user) == policy.enforced_from


# -- cost ---------------------------------------------------------------------------------


def _policy_save_queries(group) -> int:
    policy = OrganizationPolicy(organization=group, required=True)
    with CaptureQueriesContext(connection) as queries:
        policy.save()
    return len(queries)


@pytest.mark.parametrize("members", [2001, 2500])
def test_a_policy_on_a_large_organization_refreshes_it_in_batches(db, members, monkeypatch):
    monkeypatch.setattr(rows, "REFRESH_BATCH_SIZE", 1000)
    small, large = Group.objects.create(name="small"), Group.objects.create(name="large")
    users = User.objects.bulk_create(User(username=f"u{i}") for i in range(members + 1))
    small.user_set.add(users[0])
    large.user_set.add(*users[1:])
    one_batch = _policy_save_queries(small)
    size = rows.REFRESH_BATCH_SIZE
    fields = TwoStepProfile._meta.concrete_fields
    per_insert = connection.ops.bulk_batch_size(fields, [None] * size)
    batches = [min(size, members - start) for start in range(0, members, size)]
    # Per batch: the members' pks, those without a profile, the update of the batch's rows,
    # and their new profiles in as many INSERTs as the database takes rows at once.
    inserts = sum(math.ceil(rows / per_insert) for rows in batches)
    assert _policy_save_queries(large) == one_batch - 1 + inserts + 3 * (len(batches) - 1)
    assert TwoStepProfile.objects.filter(setup_required_from__isnull=False).count() == members + 1
