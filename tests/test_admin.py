"""The Django admin pages for methods, profiles and security events never show a secret."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from drf_twostep.models import SecurityEvent, TwoStepMethod, TwoStepProfile
from tests.helpers import secret_of, start_setup, totp_from_uri

ADMIN = "/admin/drf_twostep/"


@pytest.fixture
def admin_client(clock, admin_user, client):
    """A superuser signed in to the admin, after the clock is frozen (so the session is fresh)."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def secrets_of_alice(user_with_totp):
    """alice's confirmed method plus a pending one; the texts that must never show."""
    client = user_with_totp.client()
    pending = start_setup(client).json()
    needles = {secret_of(pending["otpauth_uri"]), pending["setup_key"], pending["otpauth_uri"]}
    needles.add(user_with_totp.totp.secret)
    for stored in TwoStepMethod.objects.values_list("secret", flat=True):
        assert stored
        needles.add(stored)
        # A slice past Fernet's fixed header, in case the page shows part of the column.
        needles.add(stored[20:60])
    return needles


def assert_no_secret(response, needles):
    assert response.status_code == 200
    text = response.content.decode()
    for needle in needles:
        assert needle not in text
    assert "otpauth" not in text


def test_method_pages_render_without_the_secret(admin_client, user_with_totp, secrets_of_alice):
    assert_no_secret(admin_client.get(ADMIN + "twostepmethod/"), secrets_of_alice)
    for method in TwoStepMethod.objects.all():
        response = admin_client.get(f"{ADMIN}twostepmethod/{method.pk}/change/")
        assert_no_secret(response, secrets_of_alice)
        assert method.name in response.content.decode()


def test_method_search_and_filters_render_without_the_secret(
    admin_client, user_with_totp, secrets_of_alice
):
    for query in ("?q=alice", "?status__exact=pending", "?kind=authenticator_app"):
        assert_no_secret(admin_client.get(ADMIN + "twostepmethod/" + query), secrets_of_alice)


def test_event_pages_render_without_the_secret(admin_client, user_with_totp, secrets_of_alice):
    assert_no_secret(admin_client.get(ADMIN + "securityevent/"), secrets_of_alice)
    events = SecurityEvent.objects.filter(user=user_with_totp.user)
    assert events.exists()
    for event in events:
        response = admin_client.get(f"{ADMIN}securityevent/{event.pk}/change/")
        assert_no_secret(response, secrets_of_alice)
        assert event.kind in response.content.decode()


def test_profile_page_renders_without_the_credential_marker(
    admin_client, user_with_totp, secrets_of_alice
):
    profile = TwoStepProfile.objects.get(user=user_with_totp.user)
    assert profile.verified_credential
    response = admin_client.get(f"{ADMIN}twostepprofile/{profile.pk}/change/")
    assert_no_secret(
        response, secrets_of_alice | {profile.verified_credential, user_with_totp.token}
    )


def test_saving_a_method_in_the_admin_keeps_its_secret(admin_client, user_with_totp):
    method = TwoStepMethod.objects.get(pk=user_with_totp.method_id)
    response = admin_client.post(
        f"{ADMIN}twostepmethod/{method.pk}/change/",
        {
            "name": "Renamed by admin",
            "is_default": "on",
            "secret": "INJECTED",
            "last_used_step": "0",
        },
    )
    assert response.status_code == 302
    method_after = TwoStepMethod.objects.get(pk=method.pk)
    assert method_after.name == "Renamed by admin"
    assert method_after.is_default == method.is_default
    assert method_after.secret == method.secret
    assert method_after.last_used_step == method.last_used_step


def test_methods_and_events_cannot_be_added_in_the_admin(admin_client, db):
    assert admin_client.get(ADMIN + "twostepmethod/add/").status_code == 403
    assert admin_client.get(ADMIN + "securityevent/add/").status_code == 403


def test_events_are_read_only_in_the_admin(admin_client, user_with_totp):
    event = SecurityEvent.objects.filter(user=user_with_totp.user).first()
    response = admin_client.post(f"{ADMIN}securityevent/{event.pk}/change/", {"kind": "forged"})
    assert response.status_code == 403
    assert SecurityEvent.objects.get(pk=event.pk).kind == event.kind


def test_the_unlock_action_clears_a_lockout(admin_client, user_with_totp):
    TwoStepProfile.objects.filter(user=user_with_totp.user).update(
        failed_attempts=7, locked_until=timezone.now() + timedelta(hours=1)
    )
    response = admin_client.post(
        ADMIN + "twostepprofile/",
        {"action": "unlock", "_selected_action": [user_with_totp.user.pk]},
    )
    assert response.status_code == 302
    profile = TwoStepProfile.objects.get(user=user_with_totp.user)
    assert (profile.failed_attempts, profile.locked_until) == (0, None)


def test_staff_without_permissions_cannot_see_methods(
    clock, client, django_user_model, user_with_totp
):
    staff = django_user_model.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    client.force_login(staff)
    assert client.get(ADMIN + "twostepmethod/").status_code == 403
    assert client.get(f"{ADMIN}twostepmethod/{user_with_totp.method_id}/change/").status_code == 403


def test_the_admin_cannot_change_which_method_is_default(admin_client, user_with_totp):
    client = user_with_totp.client()
    setup = start_setup(client).json()
    confirmed = client.post(
        f"/api/auth/two-step/methods/{setup['id']}/confirm/",
        {"code": totp_from_uri(setup["otpauth_uri"]).now()},
        format="json",
    )
    assert confirmed.status_code == 200
    # Ticking a second default, or unticking the only one: never two defaults, never none.
    response = admin_client.post(
        f"{ADMIN}twostepmethod/{setup['id']}/change/", {"name": "Second", "is_default": "on"}
    )
    assert response.status_code == 302
    response = admin_client.post(
        f"{ADMIN}twostepmethod/{user_with_totp.method_id}/change/", {"name": "First"}
    )
    assert response.status_code == 302
    defaults = TwoStepMethod.objects.filter(user=user_with_totp.user, is_default=True)
    assert list(defaults.values_list("pk", flat=True)) == [user_with_totp.method_id]
    assert set(TwoStepMethod.objects.values_list("name", flat=True)) == {"First", "Second"}


def test_the_reset_action_resets_through_the_service_and_records_both_users(
    admin_client, admin_user, user_with_totp, django_capture_on_commit_callbacks
):
    from django.core import mail

    from drf_twostep.models import RecoveryCode

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            ADMIN + "twostepprofile/",
            {"action": "reset_two_step", "_selected_action": [user_with_totp.user.pk]},
        )
    assert response.status_code == 302
    assert not TwoStepMethod.objects.filter(user=user_with_totp.user).exists()
    assert not RecoveryCode.objects.filter(user=user_with_totp.user).exists()
    assert TwoStepProfile.objects.get(user=user_with_totp.user).enabled is False
    assert user_with_totp.client().get("/api/me/").status_code == 401
    assert (
        SecurityEvent.objects.filter(user=user_with_totp.user, kind="reset_by_admin").count() == 1
    )
    assert SecurityEvent.objects.filter(user=admin_user, kind="member_reset").count() == 1
    assert [m.to for m in mail.outbox] == [[user_with_totp.user.email]]


def test_policy_admin_offers_the_enabled_kinds_and_saves_them(admin_client, admin_user, db):
    from django.contrib.auth.models import Group

    from drf_twostep.models import OrganizationPolicy

    clinic = Group.objects.create(name="Demo Clinic")
    page = admin_client.get(ADMIN + "organizationpolicy/add/")
    assert page.status_code == 200
    assert 'value="authenticator_app"' in page.content.decode()
    response = admin_client.post(
        ADMIN + "organizationpolicy/add/",
        {
            "organization": clinic.pk,
            "required": "on",
            "grace_period_days": 3,
            "allowed_methods": ["authenticator_app"],
        },
    )
    assert response.status_code == 302, response.content
    policy = OrganizationPolicy.objects.get(organization=clinic)
    assert policy.required and policy.required_since is not None
    assert policy.allowed_methods == ["authenticator_app"]
    assert SecurityEvent.objects.filter(user=admin_user, kind="policy_changed").count() == 1
    bad = admin_client.post(
        f"{ADMIN}organizationpolicy/{policy.pk}/change/",
        {"organization": clinic.pk, "grace_period_days": 3, "allowed_methods": ["sms-ish"]},
    )
    assert bad.status_code == 200  # the form comes back with an error
    assert OrganizationPolicy.objects.get().allowed_methods == ["authenticator_app"]


# -- every admin change has the API's effects ----------------------------------------------


def test_deleting_the_last_method_in_the_admin_turns_two_step_off_as_the_api_does(
    admin_client, api, user_with_totp, django_capture_on_commit_callbacks
):
    from django.core import mail

    from drf_twostep.models import RecoveryCode
    from tests.helpers import login

    user = user_with_totp.user
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"{ADMIN}twostepmethod/{user_with_totp.method_id}/delete/", {"post": "yes"}
        )
    assert response.status_code == 302
    assert not TwoStepMethod.objects.filter(user=user).exists()
    assert TwoStepProfile.objects.get(user=user).enabled is False
    assert not RecoveryCode.objects.filter(user=user).exists()
    kinds = set(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert {"method_removed", "two_step_disabled"} <= kinds
    assert any("removed" in m.subject.lower() for m in mail.outbox), [
        m.subject for m in mail.outbox
    ]
    # Not a user stranded with 2SV on and no method: the password alone signs in now.
    assert login(api).json()["status"] == "authenticated"


def test_the_admin_cannot_delete_a_method_an_organization_requires(admin_client, user_with_totp):
    from django.contrib.auth.models import Group

    from drf_twostep.models import OrganizationPolicy

    clinic = Group.objects.create(name="Demo Clinic")
    user_with_totp.user.groups.add(clinic)
    OrganizationPolicy.objects.create(organization=clinic, required=True)
    response = admin_client.post(
        f"{ADMIN}twostepmethod/{user_with_totp.method_id}/delete/", {"post": "yes"}, follow=True
    )
    assert "requires 2-Step Verification" in response.content.decode()
    assert TwoStepMethod.objects.filter(pk=user_with_totp.method_id).exists()
    assert TwoStepProfile.objects.get(user=user_with_totp.user).enabled is True


def test_profiles_cannot_be_deleted_in_the_admin(admin_client, user_with_totp):
    page = admin_client.get(f"{ADMIN}twostepprofile/{user_with_totp.user.pk}/delete/")
    assert page.status_code == 403
    listing = admin_client.get(ADMIN + "twostepprofile/").content.decode()
    assert "delete_selected" not in listing
    assert TwoStepProfile.objects.filter(user=user_with_totp.user, enabled=True).exists()


def test_a_policy_saved_or_deleted_in_the_admin_is_enforced_at_once(
    admin_client, admin_user, api, user
):
    from django.contrib.auth.models import Group

    from drf_twostep.models import OrganizationPolicy
    from tests.helpers import assert_error, login, token_client

    clinic = Group.objects.create(name="Demo Clinic")
    user.groups.add(clinic)
    client = token_client(login(api).json()["token"])
    assert client.get("/api/me/").status_code == 200
    response = admin_client.post(
        ADMIN + "organizationpolicy/add/",
        {"organization": clinic.pk, "required": "on", "grace_period_days": 0},
    )
    assert response.status_code == 302, response.content
    assert_error(client.get("/api/me/"), 403, "two_step_setup_required")
    policy = OrganizationPolicy.objects.get(organization=clinic)
    response = admin_client.post(f"{ADMIN}organizationpolicy/{policy.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert client.get("/api/me/").status_code == 200
    assert SecurityEvent.objects.filter(user=admin_user, kind="policy_changed").count() == 2
