"""
The demo web app at ``/`` in a real browser: a staff member of a clinic that requires 2SV sets
it up, signs in with a code and with the recovery code, and is reset by the clinic's admin.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pyotp
import pytest
import screens
from playwright.sync_api import Page, expect
from screens import heading, sign_out

# seed_demo's users and alice's authenticator key (example_project/clinics/management/commands).
PASSWORDS = {"alice": "demo-alice-2sv", "bob": "demo-bob-2sv", "carol": "demo-carol-2sv"}
ALICE_KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PERIOD = 30
PHONE_WIDTH = 375


def current_step() -> int:
    return int(time.time()) // PERIOD


def code_at(key: str, step: int) -> str:
    return pyotp.TOTP(key).at(step * PERIOD)


def sign_in(page: Page, username: str) -> None:
    screens.sign_in(page, username, PASSWORDS[username])


def fits_phone_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def pdf_text(path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (poppler-utils) is needed"
    run = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return run.stdout.decode()


def test_staff_member_sets_up_signs_in_and_is_reset_by_the_admin(
    page: Page, browser, base_url, shot, tmp_path
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    # bob's clinic requires 2SV and he has none: sign-in leads straight into setup.
    sign_in(page, "bob")
    heading(page, "Set up 2-Step Verification")
    expect(page.get_by_text("Demo Clinic requires 2-Step Verification")).to_be_visible()
    expect(page.locator("#nav")).not_to_contain_text("My Account")
    shot(page, "setup-required")
    page.goto("/#/account")  # nothing else is reachable
    heading(page, "Set up 2-Step Verification")

    # Authenticator app: password, then the QR code and the setup key, then a code.
    page.get_by_role("link", name="Set Up an authenticator app").click()
    heading(page, "Set Up: Authenticator app")
    page.get_by_label("Your password").fill(PASSWORDS["bob"])
    page.get_by_role("button", name="Continue").click()
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    setup_key = page.locator("#setup-key").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} )*[A-Z2-7]{1,4}", setup_key), setup_key
    key = setup_key.replace(" ", "")
    page.get_by_role("button", name="Copy setup key").click()
    expect(page.get_by_role("status").first).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    shot(page, "qr-code-and-setup-key")

    used_step = current_step()
    page.get_by_label("Code", exact=True).fill(code_at(key, used_step))
    page.get_by_role("button", name="Verify and turn on").click()
    heading(page, "2-Step Verification is on")
    expect(page.get_by_text("This is the only time this code is shown.")).to_be_visible()
    recovery_code = page.locator(".recovery-code").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){5}", recovery_code), recovery_code
    shot(page, "recovery-code")

    page.get_by_role("button", name="Copy", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == recovery_code
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == "recovery-codes.pdf"
    pdf = tmp_path / "recovery-codes.pdf"
    download.save_as(pdf)
    text = pdf_text(pdf)
    assert recovery_code in text
    assert "bob" in text

    page.get_by_role("button", name="I've saved it, continue").click()
    heading(page, "My Account: bob")
    expect(page.locator(".methods")).to_contain_text("Default")
    expect(page.get_by_text("Status: On")).to_be_visible()
    shot(page, "my-account")
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    assert fits_phone_width(page)
    shot(page, "my-account-phone")
    page.set_viewport_size({"width": 1280, "height": 720})

    # Sign in with a code. The step used at setup cannot be used again (replay protection):
    # take the next one, which the server accepts within its window of one step.
    sign_out(page)
    sign_in(page, "bob")
    heading(page, "2-Step Verification")
    expect(page.get_by_label("Code", exact=True)).to_be_focused()
    shot(page, "code-prompt")
    page.get_by_label("Code", exact=True).fill(code_at(key, max(used_step + 1, current_step())))
    page.get_by_role("button", name="Verify").click()
    heading(page, "My Account: bob")

    # Sign in with the recovery code: a replacement is shown, once.
    sign_out(page)
    sign_in(page, "bob")
    heading(page, "2-Step Verification")
    page.get_by_role("button", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(recovery_code.lower())
    shot(page, "recovery-code-prompt")
    page.get_by_role("button", name="Verify").click()
    heading(page, "Signed in with your recovery code")
    replacement = page.locator(".recovery-code").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){5}", replacement)
    assert replacement != recovery_code
    shot(page, "replacement-recovery-code")
    page.get_by_role("button", name="I've saved it, continue").click()
    heading(page, "My Account: bob")

    # His only method cannot go while the clinic requires 2SV.
    page.get_by_role("button", name="Remove Authenticator app").click()
    page.get_by_label("Your password, to remove Authenticator app").fill(PASSWORDS["bob"])
    page.get_by_role("button", name="Remove method").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Your clinic requires 2-Step Verification, so you can't remove your last method. "
        "Add another method first."
    )
    shot(page, "remove-refused")
    sign_out(page)

    # alice, the clinic's admin, resets bob's 2SV.
    admin = browser.new_context(base_url=base_url).new_page()
    sign_in(admin, "alice")
    heading(admin, "2-Step Verification")
    admin.get_by_label("Code", exact=True).fill(code_at(ALICE_KEY, current_step()))
    admin.get_by_role("button", name="Verify").click()
    heading(admin, "My Account: alice")
    admin.get_by_role("link", name="Demo Clinic admin").click()
    heading(admin, "Demo Clinic: 2-Step Verification")
    expect(admin.get_by_label("Require 2-Step Verification of every member")).to_be_checked()
    bob_row = admin.locator("tr[data-username=bob]")
    expect(bob_row).to_contain_text("Authenticator app")
    expect(bob_row.get_by_role("cell").nth(2)).to_have_text("Yes")
    shot(admin, "clinic-admin")
    admin.get_by_role("button", name="Reset 2-Step Verification of bob").click()
    admin.get_by_role("button", name="Yes, reset bob").click()
    expect(admin.get_by_role("status").last).to_contain_text("bob's 2-Step Verification was reset")
    expect(bob_row.get_by_role("cell").first).to_have_text("Off")
    expect(bob_row.get_by_role("cell").nth(2)).to_have_text("No")
    shot(admin, "member-reset")

    # bob's next sign-in leads into setup again.
    sign_in(page, "bob")
    heading(page, "Set up 2-Step Verification")
    shot(page, "setup-required-again")
    sign_out(page)

    # A policy that allows no method is refused, with the reason beside the field.
    allowed = admin.get_by_role("group", name="Allowed methods")
    for checkbox in allowed.get_by_role("checkbox").all():
        checkbox.uncheck()
    admin.get_by_role("button", name="Save policy").click()
    expect(admin.get_by_role("alert").first).to_have_text("Please correct the fields marked below.")
    expect(allowed.locator(".field-error")).not_to_be_empty()
    shot(admin, "policy-invalid")
    for checkbox in allowed.get_by_role("checkbox").all():
        checkbox.check()

    # With a grace period, he may go on without 2SV for a while, and a banner says until when.
    admin.get_by_label("Grace period (days)").fill("7")
    admin.get_by_role("button", name="Save policy").click()
    expect(admin.get_by_text("The policy was saved.")).to_be_visible()
    admin.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    assert fits_phone_width(admin)
    shot(admin, "clinic-admin-phone")
    admin.context.close()
    sign_in(page, "bob")
    heading(page, "My Account: bob")
    banner = page.get_by_role("region", name="2-Step Verification required")
    expect(banner).to_contain_text(
        re.compile(r"Demo Clinic requires 2-Step Verification\. Set it up by \w{3} \d{1,2}, \d{4}")
    )
    shot(page, "grace-period-banner")


def test_sign_in_form_works_by_keyboard_and_explains_a_wrong_code(page: Page, shot):
    page.goto("/")
    heading(page, "Sign in")
    # Each screen moves the focus to its heading, so that screen readers announce it.
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    focus_order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        focus_order.append(
            page.evaluate(
                "(el => el.labels && el.labels.length ? el.labels[0].textContent"
                " : el.textContent)(document.activeElement)"
            )
        )
    assert focus_order == ["Username", "Password", "Sign in"]

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS["alice"])
    page.keyboard.press("Enter")
    heading(page, "2-Step Verification")
    code = page.get_by_label("Code", exact=True)
    expect(code).to_be_focused()

    now = current_step()
    valid = {code_at(ALICE_KEY, step) for step in range(now - 2, now + 3)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in valid)
    page.keyboard.type(wrong)
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("That code didn't work.")
    expect(alert).to_contain_text("Codes depend on the time on your phone. The server's time is")
    expect(code).to_have_attribute("aria-describedby", re.compile(".+"))
    shot(page, "wrong-code")

    # The recovery-code switch is reachable by keyboard too.
    page.get_by_role("button", name="Use a recovery code").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Recovery code")).to_be_focused()


def test_without_a_clinic_two_step_verification_is_optional_and_can_be_removed(page: Page, shot):
    sign_in(page, "carol")
    heading(page, "My Account: carol")
    expect(page.get_by_text("Status: Off")).to_be_visible()
    page.get_by_role("link", name="Set Up 2-Step Verification").click()
    page.get_by_role("link", name="Set Up an authenticator app").click()
    page.get_by_label("Your password").fill(PASSWORDS["carol"])
    page.get_by_role("button", name="Continue").click()
    key = page.locator("#setup-key").inner_text().replace(" ", "")
    page.get_by_label("Code", exact=True).fill(code_at(key, current_step()))
    page.get_by_role("button", name="Verify and turn on").click()
    heading(page, "2-Step Verification is on")
    page.get_by_role("button", name="I've saved it, continue").click()
    expect(page.get_by_text("Status: On")).to_be_visible()

    page.get_by_role("button", name="Remove Authenticator app").click()
    password = page.get_by_label("Your password, to remove Authenticator app")
    expect(password).to_be_focused()
    password.fill("not-her-password")
    page.get_by_role("button", name="Remove method").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That password isn't right. Enter the password you sign in with."
    )
    password.fill(PASSWORDS["carol"])
    page.get_by_role("button", name="Remove method").click()
    expect(page.get_by_role("status").first).to_have_text("Authenticator app was removed.")
    expect(page.get_by_text("Status: Off")).to_be_visible()
    shot(page, "removed")


def test_a_rate_limited_sign_in_counts_down_retry_after(page: Page):
    page.route(
        "**/api/auth/login/",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "2"},
            json={"detail": "Request was throttled.", "code": "throttled"},
        ),
    )
    page.goto("/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("demo-carol-2sv")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("You can try again in 2 seconds.")
    button = page.get_by_role("button", name=re.compile(r"^Sign in($| \()"))
    expect(button).to_be_disabled()
    expect(button).to_have_text(re.compile(r"^Sign in \(wait 0:0[12]\)$"))
    expect(button).to_be_enabled(timeout=5000)
    expect(button).to_have_text("Sign in")


@pytest.mark.parametrize("path", ["/#/account", "/#/clinic/1", "/#/setup/sms"])
def test_signed_out_visitors_are_sent_to_sign_in(page: Page, path):
    page.goto(path)
    heading(page, "Sign in")
