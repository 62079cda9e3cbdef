"""The billing page over HTTP (TestClient): plan, balance by lot with expiry, ledger history
by page, and upgrade / top-up through Stripe Checkout. The checkout goes through the real
services.billing.checkout and the Stripe library with only its HTTP transport answered from
memory (tests/billing/test_payments.py's FakeStripeHTTP); the credits arrive through the
real webhook route with a body signed as Stripe signs it."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import signin
from reelforge.services.billing import checkout, customers, statement
from reelforge.storage.tables import Account
from reelforge.web.security import CSRF_COOKIE, SESSION_COOKIE
from tests.billing.test_payments import (
    SK,
    WHSEC,
    FakeStripeHTTP,
    _sheet_file,
    event,
    post,
    topup_session,
)
from tests.conftest import make_settings
from tests.web.conftest import Browser


def rows(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}"[^>]*>.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, f"no table {table}"
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


@pytest.fixture
def paying_platform(tmp_path: Path) -> Iterator[Platform]:
    """Stripe configured (both keys), the test sheet with Stripe prices, accounts start free."""
    p = bootstrap(
        make_settings(
            tmp_path,
            stripe_secret_key=SK,
            stripe_webhook_secret=WHSEC,
            billing_file=_sheet_file(tmp_path),
            default_plan="free",
        )
    )
    yield p
    p.close()


@pytest.fixture
def stripe_http(monkeypatch: pytest.MonkeyPatch) -> FakeStripeHTTP:
    """Stripe's HTTP transport for every checkout the pages start (the rest is real)."""
    http = FakeStripeHTTP()
    monkeypatch.setattr(
        checkout, "create_checkout", functools.partial(checkout.create_checkout, http_client=http)
    )
    return http


def account_id(p: Platform, b: Browser) -> str:
    """The signed-in browser's account."""
    user = signin.session_user(p, b.client.cookies.get(SESSION_COOKIE))
    assert user is not None
    return user.account.id


def test_billing_page_without_payments(web_platform: Platform, visitor: Browser) -> None:
    assert visitor.client.get("/billing", follow_redirects=False).headers["location"] == "/signin"
    visitor.sign_up("free@example.com")
    r = visitor.get("/billing")
    assert r.status_code == 200
    assert re.search(r'<dd id="plan">free</dd>', r.text)
    assert re.search(r'<dd id="available">20</dd>', r.text)
    # the free plan's daily lot: its source, what is left, and when it expires
    (lot,) = rows(r.text, "lots")
    assert lot[:3] == ["Daily plan credits", "20", "20"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 00:00 UTC", lot[3]), lot
    (grant,) = rows(r.text, "history")
    assert grant[1:4] == ["Credits added", "20", "+20"]
    assert "Payments are not configured on this deployment" in r.text
    assert 'action="/billing/checkout"' not in r.text  # nothing offered to buy
    assert '<a href="/billing">Billing</a>' in r.text  # the nav link
    # a forged form post is refused with the same words, and nothing is sent anywhere
    r = visitor.submit("/billing", "/billing/checkout", {"kind": "topup", "pack": "small"})
    assert r.status_code == 422
    assert "Payments are not configured on this deployment" in r.text
    # the page in Chinese
    r = visitor.get("/billing", headers={"accept-language": "zh-CN"})
    assert "账单" in r.text and "按批次的余额" in r.text and "此部署未配置支付" in r.text


def test_top_up_through_stripe_checkout_and_the_webhook(
    paying_platform: Platform, stripe_http: FakeStripeHTTP
) -> None:
    with TestClient(create_app(paying_platform), base_url="http://testserver") as client:
        b = Browser(client)
        b.sign_up("payer@example.com")
        r = b.get("/billing")
        # the page's forms may be sent on to Stripe's checkout page (CSP form-action)
        assert (
            "form-action 'self' https://checkout.stripe.com;"
            in (r.headers["content-security-policy"])
        )
        assert "Payments are not configured" not in r.text
        assert 'aria-label="Buy 330 credits"' in r.text
        assert 'aria-label="Upgrade to standard"' in r.text
        # without the token: refused, Stripe never called
        r = client.post("/billing/checkout", data={"kind": "topup", "pack": "small"})
        assert r.status_code == 403 and stripe_http.calls == []
        r = b.submit(
            "/billing",
            "/billing/checkout",
            {"kind": "topup", "pack": "small"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"] == "https://checkout.stripe.com/c/pay/cs_test_new"
        (call,) = stripe_http.calls
        account = account_id(paying_platform, b)
        sent = call["params"]
        assert sent["client_reference_id"] == account
        assert (sent["mode"], sent["metadata[pack]"]) == ("payment", "small")
        assert sent["success_url"] == (
            paying_platform.settings.public_url.rstrip("/")
            + "/billing/success?session_id={CHECKOUT_SESSION_ID}"
        )
        assert sent["cancel_url"].endswith("/billing/cancel")
        # Stripe's return pages
        r = b.get("/billing/cancel")
        assert r.url.path == "/billing" and "Payment cancelled. Nothing was charged." in r.text
        r = b.get("/billing/success?session_id=cs_test_new")
        assert r.url.path == "/billing" and "the credits appear here within a minute" in r.text
        r = b.get("/billing?notice=<b>x</b>")  # only the page's own words, never the query's
        assert r.status_code == 200 and 'class="notice"' not in r.text
        # Stripe confirms: the webhook grants the pack, the page shows the new lot
        r = post(client, event("checkout.session.completed", topup_session(account)))
        assert r.status_code == 200, r.text
        r = b.get("/billing")
        assert re.search(r'<dd id="available">350</dd>', r.text)
        lots = rows(r.text, "lots")
        assert [lot[:3] for lot in lots] == [
            ["Daily plan credits", "20", "20"],
            ["Top-up", "330", "330"],
        ]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", lots[1][3])
        assert rows(r.text, "history")[0][1:4] == ["Credits added", "330", "+330"]


def test_checkout_refusals_are_shown_on_the_page(
    paying_platform: Platform, stripe_http: FakeStripeHTTP
) -> None:
    with TestClient(create_app(paying_platform), base_url="http://testserver") as client:
        b = Browser(client)
        b.sign_up("picky@example.com")
        r = b.submit("/billing", "/billing/checkout", {"kind": "topup", "pack": "huge"})
        assert r.status_code == 422 and "Choose one of the top-up packs." in r.text
        r = b.submit("/billing", "/billing/checkout", {"kind": "subscription", "plan": "free"})
        assert r.status_code == 422 and "This plan cannot be bought here." in r.text
        assert stripe_http.calls == []
        # an active subscription: no upgrade buttons, and a forged post is refused
        account = account_id(paying_platform, b)
        with paying_platform.db.session() as s:
            row = s.get(Account, account)
            assert row is not None
            row.stripe_subscription_id, row.subscription_status = "sub_1", "active"
        r = b.get("/billing")
        assert "Upgrade to" not in r.text and "You have a subscription (active)" in r.text
        r = b.submit("/billing", "/billing/checkout", {"kind": "subscription", "plan": "pro"})
        assert r.status_code == 409 and "You already have a subscription." in r.text
        # Stripe itself refuses
        stripe_http.status, stripe_http.body = (
            400,
            {"error": {"type": "invalid_request_error", "message": "No such price"}},
        )
        r = b.submit("/billing", "/billing/checkout", {"kind": "topup", "pack": "small"})
        assert r.status_code == 502 and "Nothing was charged" in r.text
        # Stripe answers without a page address: refused, not a redirect to nowhere
        stripe_http.status, stripe_http.body = (
            200,
            {"id": "cs_x", "object": "checkout.session", "url": None},
        )
        r = b.submit("/billing", "/billing/checkout", {"kind": "topup", "pack": "small"})
        assert r.status_code == 502 and "Nothing was charged" in r.text
        # the webhook secret missing: the page says payments are not configured
        paying_platform.settings.stripe_webhook_secret = None
        r = b.get("/billing")
        assert "Payments are not configured" in r.text and "Buy 330" not in r.text
        paying_platform.settings.stripe_webhook_secret = SecretStr(WHSEC)
        assert "Buy 330" in b.get("/billing").text
        # an invoiced (postpaid) plan is changed by the operator, not bought here
        name = customers.summary(paying_platform, account)["name"]
        customers.set_plan(paying_platform, name, "enterprise")
        r = b.get("/billing")
        assert "Your plan is invoiced every month" in r.text and "Buy 330" not in r.text


def test_history_pages(web_platform: Platform, visitor: Browser) -> None:
    visitor.sign_up("many@example.com")
    name = customers.summary(web_platform, account_id(web_platform, visitor))["name"]
    for i in range(statement.PAGE_SIZE + 4):  # + the free plan's daily grant
        customers.grant(web_platform, name, i + 1, reason=f"<b>gift {i + 1}</b>")
    first = visitor.get("/billing")
    history = rows(first.text, "history")
    assert len(history) == statement.PAGE_SIZE
    assert history[0][1:4] == ["Credits added", "29", "+29"]  # newest first
    assert history[0][5] == "&lt;b&gt;gift 29&lt;/b&gt;"  # a memo is text
    assert "Page 1 of 2" in first.text and 'rel="next"' in first.text
    second = rows(visitor.get("/billing?page=2").text, "history")
    assert [r[2] for r in second] == ["4", "3", "2", "1", "20"]  # the daily grant last
    assert "Page 2 of 2" in visitor.page and 'rel="prev"' in visitor.page
    assert "Page 2 of 2" in visitor.get("/billing?page=99").text  # past the end: the last
    assert visitor.get("/billing?page=0").status_code == 422
    assert visitor.get("/billing?page=x").status_code == 422


def test_billing_off(web_platform: Platform, visitor: Browser) -> None:
    visitor.sign_up("nobill@example.com")
    web_platform.billing = None
    r = visitor.get("/billing")
    assert r.status_code == 200
    assert "Billing is off on this deployment" in r.text and 'id="history"' not in r.text
    assert visitor.client.cookies.get(CSRF_COOKIE)
