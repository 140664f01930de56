"""Steps that the browser tests share: the screen's heading, signing in and out of the web app."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def heading(page: Page, name) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/")
    heading(page, "Sign in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^Sign out")).click()
    heading(page, "Sign in")
    expect(page.get_by_role("alert")).to_have_text("You're signed out.")
