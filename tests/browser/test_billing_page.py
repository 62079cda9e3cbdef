"""The billing page in a real browser, keyboard only: a top-up button leaves for Stripe's
checkout page (the page's Content-Security-Policy lets its forms go there), through the
real checkout service with only the Stripe library's HTTP transport answered from memory;
Stripe's page itself is answered by the browser's router (no internet here)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, expect

from reelforge.app.bootstrap import bootstrap
from reelforge.services.accounts import signin
from reelforge.services.billing import checkout
from reelforge.web import security
from tests.billing.test_payments import SK, WHSEC, FakeStripeHTTP, _sheet_file
from tests.browser.site import PASSWORD, serve
from tests.conftest import make_settings


@pytest.fixture
def paying_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str, FakeStripeHTTP]]:
    http = FakeStripeHTTP()
    monkeypatch.setattr(
        checkout, "create_checkout", functools.partial(checkout.create_checkout, http_client=http)
    )
    p = bootstrap(
        make_settings(
            tmp_path,
            stripe_secret_key=SK,
            stripe_webhook_secret=WHSEC,
            billing_file=_sheet_file(tmp_path),
            default_plan="free",
        )
    )
    try:
        token = signin.sign_up(p, "payer@example.com", PASSWORD).token
        with serve(p) as (url, _app):
            yield url, token, http
    finally:
        p.close()


def test_top_up_leaves_for_stripe_checkout(
    browser: Browser, paying_site: tuple[str, str, FakeStripeHTTP]
) -> None:
    url, token, http = paying_site
    context = browser.new_context()
    context.add_cookies([{"name": security.SESSION_COOKIE, "value": token, "url": url}])
    stripe_pages: list[str] = []

    def stripe(route: Route) -> None:
        stripe_pages.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Stripe Checkout</title>")

    context.route("https://checkout.stripe.com/**", stripe)
    blocked: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: blocked.append(m.text) if m.type == "error" else None)
    try:
        page.goto(url + "/billing")
        expect(page.get_by_role("heading", name="Upgrade or top up")).to_be_visible()
        # keyboard only: Tab to the pack's button, Enter
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
                "Buy 330 credits"
            ):
                break
        else:
            raise AssertionError("Tab never reaches the Buy button")
        page.keyboard.press("Enter")
        expect(page).to_have_url("https://checkout.stripe.com/c/pay/cs_test_new")
        assert stripe_pages == ["https://checkout.stripe.com/c/pay/cs_test_new"]
        (call,) = http.calls
        assert call["params"]["metadata[pack]"] == "small"
        # back from Stripe without paying
        page.goto(url + "/billing/cancel")
        expect(page.get_by_role("status")).to_have_text("Payment cancelled. Nothing was charged.")
        assert not blocked, blocked
    finally:
        context.close()
