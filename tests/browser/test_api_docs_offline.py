"""/docs and /redoc render in a real browser with every request off the machine refused, as
on a network without internet access (issue 12 item 8): Swagger UI draws the operations and
its Authorize button for the bearer scheme, ReDoc draws the reference; nothing is fetched
from anywhere but the API itself."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect


def _offline(page: Page, outside: list[str], errors: list[str]) -> None:
    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_loopback)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # what the page's Content-Security-Policy refuses never reaches the route; the one refusal
    # meant is ReDoc's menu logo from its CDN (it hides itself when the image does not load)
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if "Content Security Policy" in m.text
            and "cdn.redoc.ly/redoc/logo-mini.svg" not in m.text
            else None
        ),
    )
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)


def test_swagger_ui_renders_offline(page: Page, studio_url: str) -> None:
    outside: list[str] = []
    errors: list[str] = []
    _offline(page, outside, errors)
    page.goto(studio_url + "/docs")
    videos = page.locator(".opblock-summary-path", has_text="/v1/videos").first
    expect(videos).to_be_visible(timeout=20_000)
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert page.locator(".opblock").count() > 20
    assert outside == [] and errors == [], (outside, errors)


def test_redoc_renders_offline(page: Page, studio_url: str) -> None:
    outside: list[str] = []
    errors: list[str] = []
    _offline(page, outside, errors)
    page.goto(studio_url + "/redoc")
    expect(page.get_by_text("/v1/videos", exact=True).first).to_be_attached(timeout=20_000)
    expect(page.locator(".menu-content")).to_be_visible()
    expect(page.get_by_role("img", name="redocly logo")).to_have_count(0)  # hid itself
    page.get_by_placeholder("Search...").fill("upload")  # the search index runs in a worker
    expect(page.locator("[data-role='search:results'] li").first).to_be_visible()
    assert outside == [] and errors == [], (outside, errors)
