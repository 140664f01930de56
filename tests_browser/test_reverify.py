"""
Step-up in the demo web app: a clinic admin whose sign-in is older than REVERIFY_MAX_AGE saves
the policy; the app asks for a fresh code in a dialog, then sends the change again. Cancelling
leaves the change unsaved, with the reason. A clinic admin with a passkey is offered it in the
dialog (Chromium's virtual authenticator, at localhost: the demo's RP ID).
"""

from __future__ import annotations

import time

import pyotp
import pytest
from conftest import add_first_passkey, credentials
from playwright.sync_api import Page, expect

KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # seed_demo's authenticator key
PASSWORD = "demo-frank-2sv"
PERIOD = 30
FRANK = f"""
from django.contrib.auth import get_user_model
from clinics.management.commands.seed_demo import CLINIC_NAME, Command
from clinics.models import Clinic, Membership

frank = get_user_model().objects.create_user("frank", "frank@example.com", {PASSWORD!r})
Membership.objects.create(
    user=frank, clinic=Clinic.objects.get(name=CLINIC_NAME), role=Membership.Role.ADMIN
)
Command().enable_two_step(frank)
"""
# The sign-in an hour ago, as far as the server knows: past REVERIFY_MAX_AGE (900 s).
AGE_THE_SIGN_IN = """
from datetime import timedelta
from django.utils import timezone
from drf_twostep.models import TwoStepProfile

TwoStepProfile.objects.filter(user__username="{username}").update(
    last_verified_at=timezone.now() - timedelta(hours=1)
)
"""
HANA_PASSWORD = "demo-hana-passkey"
HANA = f"""
from django.contrib.auth import get_user_model

get_user_model().objects.create_user("hana", "hana@example.com", {HANA_PASSWORD!r})
"""
# After her passkey is set up: an admin of the clinic (which requires 2SV, met by it).
HANA_ADMIN = """
from django.contrib.auth import get_user_model
from clinics.management.commands.seed_demo import CLINIC_NAME
from clinics.models import Clinic, Membership

Membership.objects.create(
    user=get_user_model().objects.get(username="hana"),
    clinic=Clinic.objects.get(name=CLINIC_NAME),
    role=Membership.Role.ADMIN,
)
"""


@pytest.fixture(scope="module")
def frank(live_server, example_manage):
    example_manage("shell", "-c", FRANK)


def code(step_offset: int = 0) -> str:
    return pyotp.TOTP(KEY).at(time.time() + step_offset * PERIOD)


def test_a_sensitive_change_asks_for_a_fresh_code_and_is_sent_again(
    page: Page, frank, example_manage, shot
):
    page.goto("/")
    page.get_by_label("Username").fill("frank")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label("Code", exact=True).fill(code())
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("link", name="Demo Clinic admin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demo Clinic: 2-Step Verification")
    example_manage("shell", "-c", AGE_THE_SIGN_IN.format(username="frank"))

    # Cancelled: nothing is saved, and the reason is shown.
    grace = page.get_by_label("Grace period (days)")
    grace.fill("3")
    page.get_by_role("button", name="Save policy").click()
    dialog = page.get_by_role("dialog", name="Confirm it's you")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Code")).to_be_focused()
    shot(page, "fresh-code-asked")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("alert").first).to_have_text(
        "This change needs a fresh code. Try again and enter the code when asked."
    )

    # With a fresh code (the next step's: the sign-in used this one), the change goes through.
    page.get_by_role("button", name="Save policy").click()
    dialog.get_by_label("Code").fill(code(1))
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("The policy was saved.")).to_be_visible()
    shot(page, "saved-after-reverifying")
    page.reload()
    expect(page.get_by_label("Grace period (days)")).to_have_value("3")


def test_a_clinic_admin_with_a_passkey_confirms_the_change_with_it(
    page: Page, live_server, example_manage, localhost, authenticator, shot
):
    example_manage("shell", "-c", HANA)
    add_first_passkey(page, localhost, "hana", HANA_PASSWORD)
    example_manage("shell", "-c", HANA_ADMIN)
    page.reload()
    page.get_by_role("link", name="Demo Clinic admin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demo Clinic: 2-Step Verification")
    example_manage("shell", "-c", AGE_THE_SIGN_IN.format(username="hana"))
    [before] = credentials(authenticator)

    page.get_by_label("Grace period (days)").fill("4")
    page.get_by_role("button", name="Save policy").click()
    dialog = page.get_by_role("dialog", name="Confirm it's you")
    expect(dialog).to_contain_text("Use your passkey.")
    expect(dialog.get_by_label("Code")).to_be_hidden()
    shot(page, "passkey-offered")
    dialog.get_by_role("button", name="Use your passkey").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("The policy was saved.")).to_be_visible()
    shot(page, "saved-after-the-passkey")
    [after] = credentials(authenticator)
    assert after["signCount"] == before["signCount"] + 1
    page.reload()
    expect(page.get_by_label("Grace period (days)")).to_have_value("4")
