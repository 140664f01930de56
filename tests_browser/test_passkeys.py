"""
Passkeys in the demo web app, with Chromium's virtual authenticator (DevTools' WebAuthn
domain: a platform authenticator with resident keys and user verification): a user adds a
passkey on My Account, signs in with the password and the passkey, then with the passkey
alone. The page is opened at localhost, the demo's RP ID.
"""

from __future__ import annotations

import re

import pytest
from conftest import credentials, manage
from playwright.sync_api import Page, expect

USERNAME = "pat"
PASSWORD = "demo-pat-passkey"


def heading(page: Page, name) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


@pytest.fixture
def user(live_server):
    manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({USERNAME!r}, '{USERNAME}@example.com', "
        f"{PASSWORD!r})",
    )
    return USERNAME


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^Sign out")).click()
    heading(page, "Sign in")


def test_a_passkey_added_on_my_account_signs_in_with_the_password_and_alone(
    page: Page, localhost, user, authenticator, shot
):
    page.goto(localhost + "/")
    heading(page, "Sign in")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    heading(page, f"My Account: {user}")
    expect(page.get_by_text("Status: Off")).to_be_visible()
    shot(page, "my-account-without-2sv")

    # Add a passkey: the password again, then the authenticator makes the key pair.
    page.get_by_role("link", name="Add a passkey").click()
    heading(page, "Set Up: Passkey")
    page.get_by_label("Your password").fill(PASSWORD)
    shot(page, "add-a-passkey")
    page.get_by_role("button", name="Continue").click()
    heading(page, "2-Step Verification is on")
    [credential] = credentials(authenticator)
    assert credential["isResidentCredential"] is True
    shot(page, "passkey-added-recovery-code")
    page.get_by_role("button", name="I've saved it, continue").click()
    heading(page, f"My Account: {user}")
    expect(page.get_by_text("Status: On")).to_be_visible()
    expect(page.locator(".methods")).to_contain_text("Passkey")
    shot(page, "my-account-with-a-passkey")
    sign_out(page)

    # The password, then the passkey as the second step.
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    heading(page, "2-Step Verification")
    expect(page.get_by_text("Use your passkey (Passkey)")).to_be_visible()
    shot(page, "second-step-with-the-passkey")
    page.get_by_role("button", name="Use your passkey").click()
    heading(page, f"My Account: {user}")
    shot(page, "signed-in-with-password-and-passkey")
    sign_out(page)

    # The passkey alone: no username, no password.
    shot(page, "sign-in-with-a-passkey")
    page.get_by_role("button", name="Sign in with a passkey").click()
    heading(page, f"My Account: {user}")
    expect(page.get_by_text("Status: On")).to_be_visible()
    shot(page, "signed-in-with-the-passkey-alone")
    [credential] = credentials(authenticator)
    assert credential["signCount"] >= 2


def test_at_127_0_0_1_the_demo_says_to_open_localhost(page: Page, live_server, authenticator):
    page.goto(live_server + "/")
    heading(page, "Sign in")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("alert")).to_contain_text("open it there to use one")
    expect(page.get_by_role("alert")).to_contain_text("http://localhost:")
