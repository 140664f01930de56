"""
The Django admin's login is two steps (drf_twostep.admin_site): the password, then a code or a
recovery code, through the API's flows (lockout, events, throttles), with a session that the
enforcing session class accepts; users who must have 2SV and have none stay out.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory

from drf_twostep import services, sms
from drf_twostep.admin_site import (
    ADMIN_CHALLENGE_KEY,
    TwoStepAdminSite,
    TwoStepAdminSiteMixin,
    admin_access_allowed,
    two_step_class,
)
from drf_twostep.checks import check_admin_sites
from drf_twostep.constants import SESSION_VERIFIED_KEY, EventKind
from drf_twostep.models import (
    OrganizationPolicy,
    SecurityEvent,
    TwoStepProfile,
    TwoStepSession,
)
from tests.helpers import AUTH, PASSWORD

LOGIN = "/admin/login/"
INDEX = "/admin/"


def password_step(client, username="alice", password=PASSWORD, next_url=INDEX, login=LOGIN):
    return client.post(
        f"{login}?next={next_url}", {"username": username, "password": password, "next": next_url}
    )


def code_step(client, next_url=INDEX, login=LOGIN, **fields):
    return client.post(
        f"{login}?next={next_url}", {"twostep_step": "code", "next": next_url, **fields}
    )


def errors_of(response) -> list[str]:
    """The error notes the admin's login page shows."""
    page = response.content.decode()
    notes = re.findall(r'<p class="errornote"[^>]*>\s*(.*?)\s*</p>', page, re.S)
    return [re.sub(r"\s+", " ", note) for note in notes]


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


@pytest.fixture
def staff(user_with_totp):
    """alice, staff, with an authenticator app."""
    user = user_with_totp.user
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user_with_totp


@pytest.fixture
def browser():
    return Client()


def failed_attempts(user) -> int:
    return TwoStepProfile.objects.get(user=user).failed_attempts


def events(user, kind) -> int:
    return SecurityEvent.objects.filter(user=user, kind=kind.value).count()


# -- the default site ------------------------------------------------------------------------


def test_the_default_site_has_the_two_step_login_without_url_changes():
    assert isinstance(admin.site, TwoStepAdminSiteMixin)
    assert isinstance(admin.site, AdminSite)
    assert admin.site.name == "admin"
    # Its own class stays under the mixin: the same name, the models registered before.
    assert admin.site.__class__.__name__ == "AdminSite"
    assert admin.site.is_registered(TwoStepProfile)


def test_a_site_class_gets_the_mixin_once():
    class ProjectSite(AdminSite):
        site_header = "Project"

    made = two_step_class(ProjectSite)
    assert issubclass(made, TwoStepAdminSiteMixin) and issubclass(made, ProjectSite)
    assert two_step_class(ProjectSite) is made
    assert two_step_class(made) is made
    assert two_step_class(TwoStepAdminSite) is TwoStepAdminSite


def test_the_login_page_is_the_admins_own(browser, db):
    response = browser.get(LOGIN)
    assert response.status_code == 200
    assert "admin/login.html" in [t.name for t in response.templates]
    assert 'id="login-form"' in response.content.decode()


# -- staff with 2SV ---------------------------------------------------------------------------


def test_staff_with_two_step_must_give_a_code(browser, staff):
    response = password_step(browser)
    assert response.status_code == 200
    assert "drf_twostep/admin/verify.html" in [t.name for t in response.templates]
    assert 'autocomplete="one-time-code"' in response.content.decode()
    # The password alone signs nobody in, and the admin stays closed.
    assert signed_in_user_id(browser) is None
    assert browser.get(INDEX).status_code == 302

    response = code_step(browser, code=staff.code())
    assert response.status_code == 302
    assert response["Location"] == INDEX
    assert signed_in_user_id(browser) == str(staff.user.pk)
    assert browser.session[SESSION_VERIFIED_KEY] is True
    assert ADMIN_CHALLENGE_KEY not in browser.session
    assert browser.get(INDEX).status_code == 200
    assert events(staff.user, EventKind.VERIFICATION_SUCCEEDED) == 1
    assert TwoStepProfile.objects.get(user=staff.user).last_verified_at is not None


def test_the_admin_session_is_accepted_by_the_session_class(browser, staff):
    password_step(browser)
    code_step(browser, code=staff.code())
    response = browser.get("/api/me/")
    assert response.status_code == 200, response.content
    assert response.json() == {"username": "alice"}


def test_a_wrong_code_is_refused_and_counted(browser, staff):
    password_step(browser)
    response = code_step(browser, code="000000" if staff.code() != "000000" else "111111")
    assert response.status_code == 200
    assert any("That code is not valid" in error for error in errors_of(response))
    assert signed_in_user_id(browser) is None
    assert failed_attempts(staff.user) == 1
    assert events(staff.user, EventKind.VERIFICATION_FAILED) == 1
    # The right code still works on the same challenge, and resets the counter.
    assert code_step(browser, code=staff.code())["Location"] == INDEX
    assert failed_attempts(staff.user) == 0


def test_wrong_codes_at_the_admin_lock_the_api_out_too(browser, staff, api, settings):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "LOCKOUT_THRESHOLD": 3}
    wrong = "000000" if staff.code() != "000000" else "111111"
    password_step(browser)
    for _ in range(3):
        code_step(browser, code=wrong)
    assert failed_attempts(staff.user) == 3
    assert events(staff.user, EventKind.LOCKED_OUT) == 1
    # Locked: the right code is refused at the admin ...
    response = code_step(browser, code=staff.code())
    assert any("Too many" in error for error in errors_of(response)), errors_of(response)
    assert signed_in_user_id(browser) is None
    # ... and at the API, the same lockout.
    challenge = api.post(
        AUTH + "login/", {"username": "alice", "password": PASSWORD}, format="json"
    ).json()["challenge"]
    answer = api.post(
        AUTH + "login/verify/", {"challenge": challenge, "code": staff.code()}, format="json"
    )
    assert answer.status_code == 429
    assert answer.json()["code"] == "too_many_attempts"


def test_neither_code_nor_recovery_code_is_a_form_error(browser, staff):
    password_step(browser)
    response = code_step(browser, code="  ")
    assert errors_of(response) == ["Enter a code, or a recovery code."]
    assert failed_attempts(staff.user) == 0


def test_a_recovery_code_signs_in_and_shows_its_replacement(browser, staff):
    password_step(browser)
    response = code_step(browser, recovery_code=staff.recovery_codes[0])
    assert response.status_code == 200
    assert "drf_twostep/admin/recovery_code.html" in [t.name for t in response.templates]
    replacement = response.context["recovery_codes"][0]
    assert replacement != staff.recovery_codes[0]
    assert replacement in response.content.decode()
    assert browser.get(INDEX).status_code == 200
    assert events(staff.user, EventKind.RECOVERY_CODE_USED) == 1
    # The used code is gone; the replacement is the one that works now.
    other = Client()
    password_step(other)
    assert errors_of(code_step(other, recovery_code=staff.recovery_codes[0])) == [
        "That recovery code is not valid or has already been used."
    ]
    assert code_step(other, recovery_code=replacement).status_code == 200


def test_an_expired_challenge_goes_back_to_the_password(browser, staff, clock):
    password_step(browser)
    clock.shift(301)
    response = code_step(browser, code=staff.code())
    assert "admin/login.html" in [t.name for t in response.templates]
    assert "drf_twostep/admin/verify.html" not in [t.name for t in response.templates]
    assert errors_of(response) == ["This sign-in attempt has expired. Please sign in again."]
    assert ADMIN_CHALLENGE_KEY not in browser.session
    assert signed_in_user_id(browser) is None


def test_next_is_followed_when_safe_only(browser, staff, clock):
    password_step(browser, next_url="/admin/drf_twostep/")
    response = code_step(browser, next_url="/admin/drf_twostep/", code=staff.code())
    assert response["Location"] == "/admin/drf_twostep/"
    other = Client()
    clock.shift(30)  # a new step, so a new code
    password_step(other, next_url="https://evil.example/")
    response = code_step(other, next_url="https://evil.example/", code=staff.code())
    assert response["Location"] == INDEX


def test_a_code_by_sms_is_sent_from_the_second_step(browser, staff, clock):
    client = staff.client()
    phone = client.post(
        AUTH + "two-step/methods/",
        {"kind": "sms", "password": PASSWORD, "phone_number": "+14155552671"},
        format="json",
    ).json()
    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)
    assert (
        client.post(
            f"{AUTH}two-step/methods/{phone['id']}/confirm/", {"code": code}, format="json"
        ).status_code
        == 200
    )
    sms.outbox.clear()

    response = password_step(browser)
    assert f'value="{phone["id"]}"' in response.content.decode()
    assert "Send a new code" in response.content.decode()
    response = code_step(browser, method=phone["id"], twostep_send="1")
    assert "A code is on its way." in response.content.decode()
    assert len(sms.outbox) == 1
    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)
    assert code_step(browser, method=phone["id"], code=code)["Location"] == INDEX


# -- users without 2SV ------------------------------------------------------------------------


def test_a_superuser_without_two_step_gets_in_with_the_password(browser, admin_user):
    response = password_step(browser, username="admin", password="password")
    assert response.status_code == 302
    assert response["Location"] == INDEX
    assert browser.get(INDEX).status_code == 200
    assert browser.get("/api/me/").status_code == 200


def test_required_for_staff_keeps_a_superuser_without_two_step_out(browser, admin_user, settings):
    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "REQUIRED_FOR_STAFF": True}
    response = password_step(browser, username="admin", password="password")
    assert response.status_code == 200
    assert errors_of(response) == [
        "Your account must use 2-Step Verification before it can open the admin site. "
        "Set it up first, then sign in here again."
    ]
    assert signed_in_user_id(browser) is None
    # A session signed in some other way does not open the admin either.
    browser.force_login(admin_user)
    assert browser.get(INDEX).status_code == 302


def test_staff_of_an_organization_that_requires_two_step_is_refused(browser, user, settings):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    group = Group.objects.create(name="Clinic")
    user.groups.add(group)
    # Inside a grace period too: the admin is for users who meet the requirement.
    OrganizationPolicy.objects.create(organization=group, required=True, grace_period_days=7)
    response = password_step(browser)
    assert "must use 2-Step Verification" in errors_of(response)[0]
    assert signed_in_user_id(browser) is None


def test_the_adapter_names_where_to_set_it_up(browser, admin_user, settings):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "REQUIRED_FOR_STAFF": True,
        "ADAPTER": "tests.testapp.adapters.SetupUrlAdapter",
    }
    response = password_step(browser, username="admin", password="password")
    assert errors_of(response)[0].endswith("Set it up at https://app.example/account/")


def test_a_user_who_is_not_staff_is_refused_by_the_admins_form(browser, user):
    response = password_step(browser)
    assert response.status_code == 200
    assert "drf_twostep/admin/verify.html" not in [t.name for t in response.templates]
    assert "staff account" in errors_of(response)[0]
    assert ADMIN_CHALLENGE_KEY not in browser.session


def test_a_wrong_password_shows_no_second_step(browser, staff):
    response = password_step(browser, password="wrong")
    assert "drf_twostep/admin/verify.html" not in [t.name for t in response.templates]
    assert ADMIN_CHALLENGE_KEY not in browser.session
    assert failed_attempts(staff.user) == 0


# -- sessions signed in elsewhere ------------------------------------------------------------


def test_a_password_only_session_of_a_two_step_user_does_not_open_the_admin(browser, staff):
    browser.force_login(staff.user)
    response = browser.get(INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert "not authorized" in browser.get(response["Location"]).content.decode()


def test_a_reset_ends_the_admin_sessions(browser, staff):
    """A lost device: whoever signed in to the admin with it is signed out by the reset, also
    when the API's issuer is not the session one."""
    password_step(browser)
    code_step(browser, code=staff.code())
    assert browser.get(INDEX).status_code == 200
    services.reset_two_step(staff.user, None, by=staff.user)
    assert browser.get(INDEX).status_code == 302
    assert signed_in_user_id(browser) is None
    assert not TwoStepSession.objects.filter(user=staff.user).exists()


def test_turning_two_step_off_ends_the_other_admin_sessions(browser, staff):
    password_step(browser)
    code_step(browser, code=staff.code())
    response = staff.client().delete(
        f"{AUTH}two-step/methods/{staff.method_id}/", {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 204, response.content
    assert signed_in_user_id(browser) is None


def test_checking_a_session_costs_one_query(staff, django_assert_num_queries):
    from django.contrib.auth import get_user_model

    request = RequestFactory().get(INDEX)
    request.user = get_user_model().objects.get(pk=staff.user.pk)
    request.session = {SESSION_VERIFIED_KEY: True}
    with django_assert_num_queries(1):
        assert admin_access_allowed(request)
    # Read once per request.
    with django_assert_num_queries(0):
        assert admin_access_allowed(request)


# -- throttling --------------------------------------------------------------------------------


def test_the_password_step_is_throttled(browser, staff, settings):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "THROTTLE_RATES": {"twostep_login": "3/min"},
    }
    # The same count as the API's login/ from this address, which the fixture used once.
    for _ in range(2):
        assert password_step(browser, password="wrong").status_code == 200
    response = password_step(browser)
    assert response.status_code == 429
    assert "throttled" in errors_of(response)[0].lower()
    assert ADMIN_CHALLENGE_KEY not in browser.session


def test_the_code_step_is_throttled(browser, staff, settings):
    settings.DRF_TWOSTEP = {
        **settings.DRF_TWOSTEP,
        "THROTTLE_RATES": {"twostep_verify": "1/min"},
    }
    password_step(browser)
    wrong = "000000" if staff.code() != "000000" else "111111"
    assert code_step(browser, code=wrong).status_code == 200
    response = code_step(browser, code=staff.code())
    assert response.status_code == 429
    assert signed_in_user_id(browser) is None
    # Throttled before the code was looked at: it counts no failure.
    assert failed_attempts(staff.user) == 1


# -- the deploy check --------------------------------------------------------------------------


def test_no_warning_while_the_default_site_is_two_step(db):
    assert check_admin_sites() == []


@pytest.mark.urls("tests.testapp.urls_admin_sites")
def test_a_routed_password_only_site_is_a_deploy_warning(db):
    from tests.testapp.urls_admin_sites import plain_site

    warnings = check_admin_sites()
    assert [w.id for w in warnings] == ["drf_twostep.W006"]
    assert warnings[0].obj is plain_site
    assert "'plain'" in warnings[0].msg


def test_the_deploy_check_is_registered_for_deploy_only():
    from django.core.checks import registry

    assert check_admin_sites in registry.registry.get_checks(include_deployment_checks=True)
    assert check_admin_sites not in registry.registry.get_checks(include_deployment_checks=False)


@pytest.mark.urls("tests.testapp.urls_admin_sites")
def test_a_projects_own_site_with_the_mixin_asks_for_the_code(browser, staff):
    response = password_step(browser, next_url="/own/", login="/own/login/")
    assert "drf_twostep/admin/verify.html" in [t.name for t in response.templates]
    response = code_step(browser, next_url="/own/", login="/own/login/", code=staff.code())
    assert response["Location"] == "/own/"
    assert browser.get("/own/").status_code == 200


def test_the_second_step_and_the_refusal_speak_the_users_language(
    browser, staff, admin_user, settings
):
    from django.utils import translation

    settings.DRF_TWOSTEP = {**settings.DRF_TWOSTEP, "REQUIRED_FOR_STAFF": True}
    with translation.override("fr"):
        page = password_step(browser).content.decode()
        refused = errors_of(password_step(Client(), username="admin", password="password"))
    assert "Saisissez le code de votre application d’authentification" in page
    assert "Utiliser plutôt un code de secours" in page
    assert refused[0].startswith("Votre compte doit utiliser la validation en deux étapes")
