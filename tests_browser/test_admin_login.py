"""
The Django admin's two-step login in a real browser: a staff user with 2SV gives a code after
the password (a wrong one is refused), lands in the admin with a session the API accepts; a
staff member of a clinic that requires 2SV and who has none is refused and told where to set it
up; a superuser whose method is a passkey uses it after the password (Chromium's virtual
authenticator, at localhost: the demo's RP ID).
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from conftest import add_first_passkey, credentials
from playwright.sync_api import Page, expect

KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # seed_demo's authenticator key
STAFF = {
    "dana": "demo-dana-2sv",  # superuser, 2SV on
    "erin": "demo-erin-2sv",  # staff of Demo Clinic (2SV required), no 2SV
    "gale": "demo-gale-passkey",  # superuser, a passkey added in the demo
}
USERS = f"""
from django.contrib.auth import get_user_model
from clinics.management.commands.seed_demo import CLINIC_NAME, Command
from clinics.models import Clinic, Membership

User = get_user_model()
dana = User.objects.create_superuser("dana", "dana@example.com", {STAFF["dana"]!r})
Command().enable_two_step(dana)
erin = User.objects.create_user("erin", "erin@example.com", {STAFF["erin"]!r}, is_staff=True)
Membership.objects.create(
    user=erin, clinic=Clinic.objects.get(name=CLINIC_NAME), role=Membership.Role.STAFF
)
User.objects.create_superuser("gale", "gale@example.com", {STAFF["gale"]!r})
"""


@pytest.fixture(scope="module")
def staff_users(live_server, example_manage):
    example_manage("shell", "-c", USERS)


def password_step(page: Page, username: str, base: str = "") -> None:
    page.goto(base + "/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF[username])
    page.get_by_role("button", name="Log in").click()


def test_staff_with_two_step_give_a_code_at_the_admin(page: Page, staff_users, shot):
    password_step(page, "dana")
    expect(page.get_by_role("heading", name="2-Step Verification")).to_be_visible()
    code = page.get_by_label("Code:", exact=True)
    expect(code).to_be_focused()
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    shot(page, "second-step")

    totp = pyotp.TOTP(KEY)
    wrong = "000000" if not totp.verify("000000", valid_window=1) else "999999"
    code.fill(wrong)
    code.press("Enter")
    expect(page.locator(".errornote")).to_contain_text("That code is not valid")
    shot(page, "wrong-code")

    page.get_by_label("Code:", exact=True).fill(totp.at(time.time()))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    shot(page, "admin-index")

    # The admin's session is verified for the API's session class too.
    me = page.request.get("/api/me/")
    assert me.status == 200, me.text()
    assert me.json()["username"] == "dana"


def test_staff_who_must_have_two_step_and_have_none_are_refused(page: Page, staff_users, shot):
    password_step(page, "erin")
    error = page.locator(".errornote")
    expect(error).to_contain_text("must use 2-Step Verification before it can open the admin")
    expect(error).to_contain_text("Set it up at http://127.0.0.1:")
    expect(page.get_by_label("Password")).to_be_visible()
    shot(page, "refused")
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))


def test_a_superuser_with_a_passkey_uses_it_at_the_admin(
    page: Page, staff_users, localhost, authenticator, shot
):
    add_first_passkey(page, localhost, "gale", STAFF["gale"])
    [before] = credentials(authenticator)
    password_step(page, "gale", localhost)
    expect(page.get_by_role("heading", name="2-Step Verification")).to_be_visible()
    expect(page.get_by_text("Use your passkey, or a recovery code.")).to_be_visible()
    expect(page.get_by_label("Code:", exact=True)).to_have_count(0)
    shot(page, "second-step-with-a-passkey")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    shot(page, "admin-index-after-the-passkey")
    [after] = credentials(authenticator)
    assert after["signCount"] == before["signCount"] + 1  # the admin's assertion
    me = page.request.get(localhost + "/api/me/")
    assert me.status == 200, me.text()
    assert me.json()["username"] == "gale"
