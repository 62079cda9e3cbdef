"""In a real browser: a prompt of markup is shown as text on the gallery, the video page and
the operator's review queue (no script runs, no dialog opens, no error is reported), and
another account's video id shows the not-found page. The HTTP-level checks are
tests/web/test_security_pages.py."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.site import POLITICAL, XSS_PROMPT, Site, shared_site


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest) -> Site:
    return shared_site(request)


def test_a_prompt_of_markup_is_text_and_runs_nothing(browser: Browser, site: Site) -> None:
    context = browser.new_context()
    context.add_cookies(site.cookies("creator"))  # type: ignore[arg-type]
    page = context.new_page()
    events: list[str] = []
    page.on("dialog", lambda d: (events.append(f"dialog {d.message}"), d.dismiss()))
    page.on("console", lambda m: events.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: events.append(str(e)))
    try:
        for path in ("/videos", f"/videos/{site.video_id}"):
            page.goto(site.url + path)
            expect(page.get_by_text(XSS_PROMPT).first).to_be_visible()
            assert page.locator("main script").count() == 0, path
        assert not events, events
    finally:
        context.close()


def test_a_held_prompt_of_markup_is_text_in_the_review_queue(browser: Browser, site: Site) -> None:
    """The operator's review queue shows a creator's prompt: as text, nothing runs."""
    context = browser.new_context()
    context.add_cookies(site.cookies("operator"))  # type: ignore[arg-type]
    page = context.new_page()
    events: list[str] = []
    page.on("dialog", lambda d: (events.append(f"dialog {d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: events.append(str(e)))
    try:
        page.goto(site.url + "/console/reviews")
        expect(page.get_by_text(POLITICAL).first).to_be_visible()
        assert page.locator("main img[src='x']").count() == 0
        assert not events, events
    finally:
        context.close()


def test_another_accounts_video_shows_not_found(browser: Browser, site: Site) -> None:
    context = browser.new_context()
    context.add_cookies(site.cookies("operator"))  # type: ignore[arg-type]
    page = context.new_page()
    try:
        response = page.goto(f"{site.url}/videos/{site.video_id}")
        assert response is not None and response.status == 404
        main = page.locator("main").inner_html()  # (the header's forms echo the path)
        assert site.video_id not in main and "boat" not in main
    finally:
        context.close()
