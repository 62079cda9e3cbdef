"""A person in a real browser: sign up, reach the account page, create an API key that is
shown once, revoke it (htmx swaps the row), with no Content-Security-Policy violation."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_sign_up_create_key_shown_once(page: Page, studio_url: str) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )

    page.goto(studio_url + "/")
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.get_by_role("link", name="Create one").click()
    page.get_by_label("E-mail").fill("smoke@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    expect(page.get_by_text("smoke@example.com").first).to_be_visible()
    expect(page.get_by_role("link", name="API docs").first).to_have_attribute("href", "/docs")

    page.get_by_label("Label (optional)").fill("smoke <b>key</b>")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert re.fullmatch(r"rf_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}", key), key
    expect(page.get_by_role("cell", name="smoke <b>key</b>", exact=True)).to_be_visible()  # text

    page.goto(studio_url + "/account")  # shown once: never again
    assert key not in page.content()
    assert page.locator("#new-key").count() == 0

    # revoke through htmx (the CSRF token travels in its header); the row is swapped
    page.get_by_role("button", name=re.compile("^Revoke key")).click()
    expect(page.get_by_role("cell", name="Revoked")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account$"))

    # a phone's width: no horizontal scroll (tables scroll inside their card)
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # the language switcher (app.js submits on change)
    page.get_by_label("Language").select_option("zh")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("heading", name="账户", exact=True)).to_be_visible()

    assert not problems, problems
