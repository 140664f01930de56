"""
Trusted devices ("remember this device"): off by default, capped by REMEMBER_DEVICE_DAYS and
lowered by organizations' policies (the strictest wins); a device token skips the second step
at login/ only while it is the user's, unexpired, still allowed, and nothing about the user's
password or 2SV changed since. Anything else about a device token changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drf_twostep.models import OrganizationPolicy, SecurityEvent, TrustedDevice
from drf_twostep.settings import SETTINGS_NAME
from tests.helpers import AUTH, PASSWORD, assert_error, enable_totp, login, verify

DEVICES = AUTH + "two-step/devices/"


def sign_in(api, username="alice", **body):
    return api.post(
        AUTH + "login/", {"username": username, "password": PASSWORD, **body}, format="json"
    )


def remembered(api, two_step, username="alice"):
    """A full sign-in with ``remember_device``: the answer of login/verify/."""
    challenge = sign_in(api, username).json()["challenge"]
    response = verify(api, challenge, code=two_step.code(), remember_device=True)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture(autouse=True)
def _trusted(request, settings):
    """Trusted devices allowed for 30 days, but in the tests marked ``trusted_devices_off``."""
    if request.node.get_closest_marker("trusted_devices_off") is None:
        current = getattr(settings, SETTINGS_NAME, None) or {}
        setattr(settings, SETTINGS_NAME, {**current, "REMEMBER_DEVICE_DAYS": 30})


@pytest.fixture
def two_step(api, user, clock):
    return enable_totp(api, user, clock)


@pytest.mark.trusted_devices_off
def test_trusted_devices_are_off_by_default(api, user, clock):
    two_step = enable_totp(api, user, clock)
    body = remembered(api, two_step)
    assert body["device_token"] is None and body["device_expires_at"] is None
    assert body["two_step"]["remember_device_days"] == 0
    assert not TrustedDevice.objects.exists()


def test_a_remembered_device_skips_the_second_step(api, two_step, clock):
    body = remembered(api, two_step)
    token = body["device_token"]
    assert len(token) >= 43  # 256 bits, base64url
    assert body["two_step"]["remember_device_days"] == 30
    device = TrustedDevice.objects.get()
    assert device.digest != token and token not in device.digest
    assert device.expires_at == timezone.now() + timedelta(days=30)

    clock.shift(3600)
    response = sign_in(api, device_token=token)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["status"] == "authenticated"
    credential = api.__class__()
    credential.credentials(HTTP_AUTHORIZATION=f"Token {answer['token']}")
    assert credential.get("/api/me/").status_code == 200
    assert SecurityEvent.objects.filter(kind="trusted_device_used").count() == 1
    device.refresh_from_db()
    assert device.last_used_at == timezone.now()


def test_without_remember_device_nothing_is_remembered(api, two_step):
    challenge = login(api).json()["challenge"]
    body = verify(api, challenge, code=two_step.code()).json()
    assert "device_token" not in body and "device_expires_at" not in body
    assert not TrustedDevice.objects.exists()


@pytest.mark.parametrize(
    "token",
    ["x", "A" * 43, "A" * 4096, 12345, "\u00e9" * 100],
)
def test_a_wrong_device_token_changes_nothing(api, two_step, token):
    remembered(api, two_step)
    response = sign_in(api, device_token=token)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verification_required"
    assert not SecurityEvent.objects.filter(kind="trusted_device_used").exists()


@pytest.mark.parametrize("token", ["", None, "A" * 4097, ["a"], {"a": 1}])
def test_a_malformed_device_token_is_a_400(api, two_step, token):
    assert_error(sign_in(api, device_token=token), 400, "invalid")


def test_another_users_device_token_is_ignored(api, two_step, other_user, clock):
    token = remembered(api, two_step)["device_token"]
    enable_totp(api, other_user, clock)
    response = sign_in(api, other_user.get_username(), device_token=token)
    assert response.json()["status"] == "verification_required"


def test_a_device_expires(api, two_step, clock):
    token = remembered(api, two_step)["device_token"]
    clock.shift(30 * 86400)
    assert sign_in(api, device_token=token).json()["status"] == "verification_required"


def test_the_strictest_organization_lowers_the_days_and_zero_forbids(api, two_step, user, clock):
    lenient, strict = Group.objects.create(name="lenient"), Group.objects.create(name="strict")
    OrganizationPolicy.objects.create(organization=lenient, remember_device_days=20)
    OrganizationPolicy.objects.create(organization=strict, remember_device_days=7)
    user.groups.add(lenient, strict)
    body = remembered(api, two_step)
    assert body["two_step"]["remember_device_days"] == 7
    assert TrustedDevice.objects.get().expires_at == timezone.now() + timedelta(days=7)

    # A limit lowered after the device was remembered applies to it too.
    OrganizationPolicy.objects.filter(organization=strict).update(remember_device_days=1)
    clock.shift(2 * 86400)
    assert sign_in(api, device_token=body["device_token"]).json()["status"] == (
        "verification_required"
    )
    OrganizationPolicy.objects.filter(organization=strict).update(remember_device_days=0)
    clock.shift(60)
    forbidden = remembered(api, two_step)
    assert forbidden["device_token"] is None and forbidden["two_step"]["remember_device_days"] == 0


def test_the_policy_endpoint_sets_remember_device_days(api, user, two_step):
    group = Group.objects.create(name="clinic")
    user.groups.add(group)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = two_step.client()
    url = f"{AUTH}organizations/{group.pk}/two-step-policy/"
    response = client.patch(url, {"remember_device_days": 3}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["remember_device_days"] == 3
    assert client.get(url).json()["remember_device_days"] == 3
    assert_error(client.patch(url, {"remember_device_days": -1}, format="json"), 400, "invalid")
    assert_error(client.patch(url, {"remember_device_days": "x"}, format="json"), 400, "invalid")
    response = client.patch(url, {"remember_device_days": None}, format="json")
    assert response.json()["remember_device_days"] is None


def test_a_new_password_forgets_the_devices(api, two_step, user):
    remembered(api, two_step)
    user.set_password("an entirely new passphrase 42")
    user.save()
    assert not TrustedDevice.objects.exists()


def test_a_password_changed_behind_the_packages_back_still_forgets(api, two_step, user):
    """A new password written with update() sends no signal: the device is bound to it."""
    token = remembered(api, two_step)["device_token"]
    user.set_password(PASSWORD)  # the same password, a new salt and hash
    type(user).objects.filter(pk=user.pk).update(password=user.password)
    assert sign_in(api, device_token=token).json()["status"] == "verification_required"


def test_turning_two_step_off_forgets_the_devices(api, two_step):
    remembered(api, two_step)
    client = two_step.client()
    response = client.delete(
        f"{AUTH}two-step/methods/{two_step.method_id}/", {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 204, response.content
    assert not TrustedDevice.objects.exists()


def test_a_new_method_forgets_the_devices(api, two_step):
    remembered(api, two_step)
    client = two_step.client()
    setup = client.post(
        f"{AUTH}two-step/methods/",
        {"kind": "email", "password": PASSWORD},
        format="json",
    )
    assert setup.status_code == 201, setup.content
    from django.core import mail

    code = next(w for w in mail.outbox[-1].body.split() if w.isdigit() and len(w) >= 6)
    confirmed = client.post(
        f"{AUTH}two-step/methods/{setup.json()['id']}/confirm/", {"code": code}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    assert not TrustedDevice.objects.exists()


def test_a_reset_forgets_the_devices(api, two_step, user):
    from drf_twostep import services

    remembered(api, two_step)
    services.reset_two_step(user)
    assert not TrustedDevice.objects.exists()


def test_two_step_turned_off_and_on_again_does_not_revive_a_device(api, two_step, user, clock):
    token = remembered(api, two_step)["device_token"]
    # Rows kept behind the package's back (a restored backup) do not count either.
    kept = list(TrustedDevice.objects.values())
    from drf_twostep import services

    services.reset_two_step(user)
    clock.shift(60)
    again = enable_totp(api, user, clock)
    TrustedDevice.objects.bulk_create(TrustedDevice(**row) for row in kept)
    assert sign_in(api, device_token=token).json()["status"] == "verification_required"
    assert again


def test_a_locked_out_user_is_not_let_in_by_a_device(api, two_step, user, clock):
    from drf_twostep.models import TwoStepProfile

    token = remembered(api, two_step)["device_token"]
    TwoStepProfile.objects.filter(user=user).update(
        locked_until=timezone.now() + timedelta(minutes=5)
    )
    assert sign_in(api, device_token=token).json()["status"] == "verification_required"


def test_the_devices_list_and_forgetting(api, two_step, other_user, clock):
    first = remembered(api, two_step)
    clock.shift(60)
    remembered(api, two_step)
    client = two_step.client()
    listed = client.get(DEVICES)
    assert listed.status_code == 200
    rows = listed.json()
    assert len(rows) == 2
    assert set(rows[0]) == {
        "id",
        "name",
        "created_at",
        "last_used_at",
        "expires_at",
        "ip",
        "user_agent",
    }
    other = enable_totp(api, other_user, clock)
    assert_error(other.client().delete(f"{DEVICES}{rows[0]['id']}/"), 404, "not_found")
    assert client.delete(f"{DEVICES}{rows[1]['id']}/").status_code == 204
    assert sign_in(api, device_token=first["device_token"]).json()["status"] == (
        "verification_required"
    )
    assert len(client.get(DEVICES).json()) == 1
    assert client.delete(DEVICES).status_code == 204
    assert client.get(DEVICES).json() == []
    assert_error(api.get(DEVICES), 401, "not_authenticated")


def test_a_sign_in_with_a_device_token_costs_a_fixed_number_of_queries(api, two_step, clock):
    token = remembered(api, two_step)["device_token"]
    clock.shift(60)
    with CaptureQueriesContext(connection) as known:
        assert sign_in(api, device_token=token).json()["status"] == "authenticated"
    with CaptureQueriesContext(connection) as unknown:
        assert sign_in(api, device_token="B" * 43).json()["status"] == "verification_required"
    with CaptureQueriesContext(connection) as without:
        assert sign_in(api).json()["status"] == "verification_required"
    # A wrong token costs one indexed look-up over a sign-in without one.
    assert len(unknown) == len(without) + 1
    assert len(known) == SIGN_IN_WITH_DEVICE


# The statements of login/ with a trusted device's token: the user, the user again with the
# profile and whether the client is known (new-device notifications: no statement of their
# own), the device, the policies' lowest days; then a savepoint, the profile lock, the device's
# last_used_at, the token, the profile's marker, the events (with new_device_sign_in when the
# client is new), last_login, the release; then the status object's four reads (profile,
# methods, recovery codes, policies: the days come with them).
SIGN_IN_WITH_DEVICE = 16


def test_cleanup_deletes_expired_devices(api, two_step, clock):
    remembered(api, two_step)
    clock.shift(31 * 86400)
    call_command("twostep_cleanup", "--no-refresh", stdout=open("/dev/null", "w"))
    assert not TrustedDevice.objects.exists()
