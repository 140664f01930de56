"""
Trusted devices in the demo web app (the example project's REMEMBER_DEVICE_DAYS is 30): a sign-in
with a code and "Remember this device" lets the next one through with the password alone, My
Account lists the device, and once it is forgotten there its token no longer skips the code. A
user whose clinic forbids remembering devices is told so, and is not offered it again.
"""

from __future__ import annotations

import json
import re
import time

import pyotp
import pytest
import screens
from playwright.sync_api import Page, expect
from screens import heading, sign_out

KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # seed_demo's authenticator key
PERIOD = 30
PASSWORDS = {"tara": "demo-tara-2sv", "gus": "demo-gus-2sv"}
DEVICES_KEY = "drf-twostep-demo.devices"  # app.js keeps the device tokens there
# tara: 2SV on, no clinic (REMEMBER_DEVICE_DAYS applies). gus: 2SV on, a member of a clinic
# whose policy requires nothing but forbids remembering devices (remember_device_days 0).
USERS = f"""
from django.contrib.auth import get_user_model
from clinics.management.commands.seed_demo import Command
from clinics.models import Clinic, Membership
from drf_twostep.models import OrganizationPolicy

User = get_user_model()
tara = User.objects.create_user("tara", "tara@example.com", {PASSWORDS["tara"]!r})
Command().enable_two_step(tara)
gus = User.objects.create_user("gus", "gus@example.com", {PASSWORDS["gus"]!r})
clinic = Clinic.objects.create(name="Night Clinic")
OrganizationPolicy.objects.create(organization=clinic, required=False, remember_device_days=0)
Membership.objects.create(user=gus, clinic=clinic, role=Membership.Role.STAFF)
Command().enable_two_step(gus)
"""
DEVICE_COUNT = """
from drf_twostep.models import TrustedDevice
print(TrustedDevice.objects.filter(user__username={username!r}).count())
"""


@pytest.fixture(scope="module")
def users(live_server, example_manage):
    example_manage("shell", "-c", USERS)


def code(step_offset: int = 0) -> str:
    return pyotp.TOTP(KEY).at(time.time() + step_offset * PERIOD)


def sign_in(page: Page, username: str) -> None:
    screens.sign_in(page, username, PASSWORDS[username])


def stored(page: Page, username: str) -> dict:
    """What this browser keeps for ``username`` (its device token, the days it last saw)."""
    data = page.evaluate(f"localStorage.getItem({DEVICES_KEY!r})")
    return json.loads(data or "{}").get(username, {})


def device_count(example_manage, username: str) -> int:
    out = example_manage("shell", "-c", DEVICE_COUNT.format(username=username)).stdout
    return int(out.decode().split()[-1])  # after the shell's "N objects imported"


def test_a_remembered_device_skips_the_code_until_it_is_forgotten(
    page: Page, users, example_manage, shot
):
    # The first sign-in on this browser: the limit is not known here yet, so no number.
    sign_in(page, "tara")
    heading(page, "2-Step Verification")
    remember = page.get_by_role("checkbox", name="Remember this device")
    expect(remember).not_to_be_checked()
    expect(remember).to_have_accessible_description(re.compile("password alone signs you in"))
    remember.check()
    page.get_by_label("Code", exact=True).fill(code())
    shot(page, "remember-ticked")
    page.get_by_role("button", name="Verify").click()
    heading(page, "My Account: tara")
    token = stored(page, "tara")["token"]
    assert len(token) >= 43 and stored(page, "tara")["days"] == 30

    # Signed out, the password alone signs in again on this browser.
    sign_out(page)
    sign_in(page, "tara")
    heading(page, "My Account: tara")
    expect(page.get_by_role("alert")).to_have_text(
        "Signed in on a trusted device: no code was needed."
    )

    # My Account lists it (this browser), used just now.
    devices = page.get_by_role("region", name="Trusted devices")
    expect(devices).to_contain_text("up to 30 days")
    items = devices.get_by_role("listitem")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Chrome · Linux")
    expect(items.first).to_contain_text("This browser")
    expect(items.first).not_to_contain_text("last used never")
    expect(items.first).to_contain_text(re.compile(r"expires \w{3} \d+, \d{4}"))
    shot(page, "device-listed")

    # Forgotten: gone from the list, and its token, though sent again, no longer skips the code.
    forget = re.compile(r"^Forget Chrome · Linux \(this browser\), remembered ")
    devices.get_by_role("button", name=forget).click()
    expect(devices.get_by_role("status")).to_have_text(
        "Chrome · Linux was forgotten: it asks for a code at its next sign-in."
    )
    expect(devices.get_by_text("No trusted devices.")).to_be_visible()
    expect(page.get_by_role("heading", name="Trusted devices")).to_be_focused()
    expect(devices.get_by_role("button", name="Forget all devices")).to_be_hidden()
    assert "token" not in stored(page, "tara")
    assert device_count(example_manage, "tara") == 0
    shot(page, "device-forgotten")
    sign_out(page)
    page.evaluate(
        """([key, token]) => {
          const all = JSON.parse(localStorage.getItem(key));
          all.tara.token = token;
          localStorage.setItem(key, JSON.stringify(all));
        }""",
        [DEVICES_KEY, token],
    )
    sign_in(page, "tara")
    heading(page, "2-Step Verification")
    assert "token" not in stored(page, "tara")  # the app drops a token that no longer works

    # Now the limit is known here: remembered again, then every device forgotten at once.
    page.get_by_role("checkbox", name="Remember this device for 30 days").check()
    page.get_by_label("Code", exact=True).fill(code(1))  # the first sign-in used this step's
    page.get_by_role("button", name="Verify").click()
    heading(page, "My Account: tara")
    devices = page.get_by_role("region", name="Trusted devices")
    expect(devices.get_by_role("listitem")).to_have_count(1)
    devices.get_by_role("button", name="Forget all devices").click()
    expect(devices.get_by_role("status")).to_have_text(
        "Every trusted device was forgotten: each asks for a code at its next sign-in."
    )
    expect(devices.get_by_role("listitem")).to_have_count(0)
    assert device_count(example_manage, "tara") == 0
    sign_out(page)
    sign_in(page, "tara")
    heading(page, "2-Step Verification")
    shot(page, "code-asked-again")


def test_a_clinic_that_forbids_trusted_devices(page: Page, users, example_manage, shot):
    sign_in(page, "gus")
    heading(page, "2-Step Verification")
    page.get_by_role("checkbox", name="Remember this device").check()
    page.get_by_label("Code", exact=True).fill(code())
    page.get_by_role("button", name="Verify").click()
    heading(page, "My Account: gus")
    expect(page.get_by_role("alert")).to_have_text(
        "This device can't be remembered: your account doesn't allow trusted devices. "
        "Each sign-in asks for a code."
    )
    devices = page.get_by_role("region", name="Trusted devices")
    expect(devices).to_contain_text("Trusted devices are off for your account")
    expect(devices.get_by_text("No trusted devices.")).to_be_visible()
    assert device_count(example_manage, "gus") == 0
    shot(page, "not-allowed")

    # Next time the second step does not offer it.
    sign_out(page)
    sign_in(page, "gus")
    heading(page, "2-Step Verification")
    expect(page.get_by_label("Code", exact=True)).to_be_visible()
    expect(page.get_by_role("checkbox")).to_have_count(0)
