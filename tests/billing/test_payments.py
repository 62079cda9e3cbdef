"""Stripe payments: checkout sessions and the webhook, through the real route, on both
deployment shapes. Webhook bodies are signed here exactly as Stripe signs them; the only
stand-in is the HTTP transport of the Stripe library for `create_checkout` (Stripe's servers
are not reachable from tests)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import stripe
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.billing.sheet import DEFAULT_SHEET
from reelforge.config import Settings
from reelforge.domain.account import AccountRef
from reelforge.errors import CapabilityMissing, Conflict, InvalidRequest, ReelforgeError
from reelforge.services.accounts import accounts
from reelforge.services.billing import checkout, ledger, payment_events
from reelforge.storage.billing_tables import (
    CreditLot,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    PlanChange,
    StripeEvent,
)
from reelforge.storage.tables import Account
from reelforge.webhooks import signing
from tests.conftest import _truncate_pg, make_settings

WHSEC = "whsec_test_" + "a" * 24
SK = "sk_test_reelforge"
PERIOD_END = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp())


def _sheet_file(tmp_path: Path) -> Path:
    """The default sheet with Stripe prices on two plans and one pack (the other pack keeps
    no price, so checkout sends it inline)."""
    data = yaml.safe_load(DEFAULT_SHEET.read_text(encoding="utf-8"))
    data["plans"]["standard"]["stripe_price"] = "price_standard"
    data["plans"]["pro"]["stripe_price"] = "price_pro"
    data["plans"]["premier"]["stripe_price"] = "price_premier"
    data["topups"]["packs"]["small"]["stripe_price"] = "price_small"
    path = tmp_path / "billing.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def settings(stack: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """As conftest's, with Stripe configured, the test sheet, and accounts starting free."""
    values: dict[str, object] = {
        "stripe_secret_key": SK,
        "stripe_webhook_secret": WHSEC,
        "billing_file": _sheet_file(tmp_path),
        "default_plan": "free",
    }
    if stack == "postgres":
        pg = request.getfixturevalue("pg_database")
        _truncate_pg(pg)
        values.update(database_url=pg, queue_url=request.getfixturevalue("redis_url"))
    return make_settings(tmp_path, **values)


@pytest.fixture
def alice(platform: Platform) -> AccountRef:
    return accounts.ensure_account(platform, "alice")


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as c:
        yield c


# -- signing and events, as Stripe sends them ----------------------------------------------


def sign(payload: bytes, *, secret: str = WHSEC, ts: int | None = None) -> str:
    """Stripe's scheme, which is reelforge's own webhook signature."""
    return signing.sign(secret, payload, int(time.time()) if ts is None else ts)


def event(etype: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{secrets.token_hex(8)}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": etype,
        "livemode": False,
        "data": {"object": obj},
    }


def post(client: TestClient, body: dict[str, Any], **signing: Any) -> Any:
    payload = json.dumps(body).encode()
    return client.post(
        "/v1/billing/stripe/webhook",
        content=payload,
        headers={"Stripe-Signature": sign(payload, **signing), "Content-Type": "application/json"},
    )


def topup_session(
    account_id: str,
    *,
    pack: str = "small",
    amount: Any = 500,
    session_id: str = "cs_test_topup",
    credits: int = 330,
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": amount,
        "currency": "usd",
        "customer": "cus_alice",
        "client_reference_id": account_id,
        "metadata": {
            "account_id": account_id,
            "kind": "topup",
            "pack": pack,
            "credits": str(credits),
        },
    }


def subscription_session(account_id: str, plan: str = "standard") -> dict[str, Any]:
    return {
        "id": "cs_test_sub",
        "object": "checkout.session",
        "mode": "subscription",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": 1000,
        "currency": "usd",
        "customer": "cus_alice",
        "subscription": "sub_alice",
        "client_reference_id": account_id,
        "metadata": {"account_id": account_id, "kind": "subscription", "plan": plan},
    }


def invoice(
    *,
    invoice_id: str = "in_1",
    amount_paid: Any = 1000,
    price: str = "price_standard",
    customer: str = "cus_alice",
    metadata: dict[str, str] | None = None,
    legacy: bool = False,
) -> dict[str, Any]:
    """A paid subscription invoice, in the current shape (`parent.subscription_details`,
    `pricing.price_details`) or the one before API 2025-03 (`subscription`, `price`)."""
    line: dict[str, Any] = {
        "id": "il_1",
        "object": "line_item",
        "amount": amount_paid,
        "currency": "usd",
        "period": {"start": PERIOD_END - 30 * 86400, "end": PERIOD_END},
    }
    inv: dict[str, Any] = {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "amount_paid": amount_paid,
        "currency": "usd",
        "status": "paid",
        "billing_reason": "subscription_cycle",
    }
    if legacy:
        line["price"] = {"id": price, "object": "price"}
        inv.update(subscription="sub_alice", subscription_details={"metadata": metadata or {}})
    else:
        line["pricing"] = {
            "type": "price_details",
            "price_details": {"price": price, "product": "prod_1"},
        }
        inv["parent"] = {
            "type": "subscription_details",
            "subscription_details": {"subscription": "sub_alice", "metadata": metadata or {}},
        }
    inv["lines"] = {"object": "list", "data": [line]}
    return inv


def subscription(
    *,
    status: str = "active",
    price: str = "price_pro",
    customer: str = "cus_alice",
    sub_id: str = "sub_alice",
) -> dict[str, Any]:
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "metadata": {},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_1",
                    "price": {"id": price, "object": "price"},
                    "current_period_end": PERIOD_END,
                }
            ],
        },
    }


# -- reading back -------------------------------------------------------------------------


def count(p: Platform, table: type) -> int:
    with p.db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def counts(p: Platform) -> dict[str, int]:
    return {
        t.__name__: count(p, t)
        for t in (StripeEvent, Payment, PlanChange, CreditLot, LedgerTransaction)
    }


def available(p: Platform, account_id: str) -> int:
    with p.db.session(write=False) as s:
        return ledger.balance(s, account_id, p.clock()).available


def account_row(p: Platform, account_id: str) -> Account:
    with p.db.session(write=False) as s:
        row = s.get(Account, account_id)
        assert row is not None
        return row


def plan_changes(p: Platform, account_id: str) -> list[tuple[str | None, str, str]]:
    with p.db.session(write=False) as s:
        rows = s.scalars(
            select(PlanChange).where(PlanChange.account_id == account_id).order_by(PlanChange.id)
        ).all()
        return [(r.from_plan, r.to_plan, r.source) for r in rows]


# -- webhook: top-ups ---------------------------------------------------------------------


def test_topup_checkout_grants_its_credits_once(
    platform: Platform, client: TestClient, alice: AccountRef
) -> None:
    body = event("checkout.session.completed", topup_session(alice.id))
    r = post(client, body)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "received": True,
        "duplicate": False,
        "event": body["id"],
        "result": "topup_granted",
    }
    assert available(platform, alice.id) == 330
    with platform.db.session(write=False) as s:
        pay = s.get(Payment, "cs_test_topup")
        assert pay is not None
        assert (
            pay.account_id,
            pay.kind,
            pay.provider,
            pay.amount_cents,
            pay.credits,
            pay.currency,
        ) == (alice.id, "topup", "stripe", 500, 330, "usd")
        lot = s.scalars(select(CreditLot)).one()
        assert lot.source == "topup" and lot.unit_usd == pytest.approx(5 / 330)
        assert lot.expires_at is not None
        assert abs(lot.expires_at - (platform.clock() + timedelta(days=365))) < timedelta(minutes=5)
    assert account_row(platform, alice.id).stripe_customer_id == "cus_alice"
    before = counts(platform)

    # Stripe redelivers the same event (freshly signed): acknowledged, nothing changes.
    r = post(client, body)
    assert r.status_code == 200 and r.json() == {"received": True, "duplicate": True}
    assert available(platform, alice.id) == 330
    assert counts(platform) == before
    assert before["Payment"] == 1 and before["StripeEvent"] == 1

    # The same session reported by another event (async payment) is not paid twice either.
    again = event("checkout.session.async_payment_succeeded", topup_session(alice.id))
    assert post(client, again).status_code == 200
    assert available(platform, alice.id) == 330
    assert count(platform, Payment) == 1 and count(platform, CreditLot) == 1


def test_concurrent_deliveries_of_one_event_apply_it_once(
    platform: Platform, alice: AccountRef
) -> None:
    payload = json.dumps(event("checkout.session.completed", topup_session(alice.id))).encode()
    start = threading.Barrier(4)

    def deliver() -> dict[str, Any]:
        start.wait()
        return payment_events.handle_stripe_webhook(platform, payload, sign(payload))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: deliver(), range(4)))
    assert sorted(r["duplicate"] for r in results) == [False, True, True, True]
    assert available(platform, alice.id) == 330
    assert count(platform, Payment) == 1 and count(platform, StripeEvent) == 1


def test_unpaid_topup_waits_for_the_async_payment(
    platform: Platform, client: TestClient, alice: AccountRef
) -> None:
    pending = topup_session(alice.id, pack="large", amount=2500, session_id="cs_slow", credits=1800)
    pending["payment_status"] = "unpaid"
    r = post(client, event("checkout.session.completed", pending))
    assert r.json()["result"] == "payment_pending"
    assert available(platform, alice.id) == 0 and count(platform, Payment) == 0
    pending["payment_status"] = "paid"
    r = post(client, event("checkout.session.async_payment_succeeded", pending))
    assert r.json()["result"] == "topup_granted"
    assert available(platform, alice.id) == 1800


@pytest.mark.parametrize("amount", [-500, 500.5, "500", True])
def test_bad_amounts_are_refused_and_nothing_is_written(
    platform: Platform, client: TestClient, alice: AccountRef, amount: Any
) -> None:
    before = counts(platform)
    r = post(client, event("checkout.session.completed", topup_session(alice.id, amount=amount)))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_amount"
    r = post(client, event("invoice.paid", invoice(amount_paid=amount)))
    assert r.json()["error"]["code"] == "invalid_amount"
    assert available(platform, alice.id) == 0
    assert counts(platform) == before


# -- webhook: subscriptions ---------------------------------------------------------------


def test_subscription_checkout_then_invoice_paid_grants_monthly_credits(
    platform: Platform, client: TestClient, alice: AccountRef
) -> None:
    r = post(client, event("checkout.session.completed", subscription_session(alice.id)))
    assert r.json()["result"] == "subscribed"
    row = account_row(platform, alice.id)
    assert (row.plan, row.plan_source, row.stripe_customer_id, row.stripe_subscription_id) == (
        "standard",
        "stripe",
        "cus_alice",
        "sub_alice",
    )
    assert plan_changes(platform, alice.id) == [
        (None, "free", "signup"),
        ("free", "standard", "stripe"),
    ]
    assert available(platform, alice.id) == 0  # credits come with the paid invoice

    r = post(client, event("invoice.paid", invoice()))
    assert r.status_code == 200 and r.json()["result"] == "credits_granted"
    assert available(platform, alice.id) == 660
    with platform.db.session(write=False) as s:
        pay = s.get(Payment, "in_1")
        assert pay is not None
        assert (pay.kind, pay.plan, pay.amount_cents, pay.credits) == (
            "subscription",
            "standard",
            1000,
            660,
        )
        lot = s.scalars(select(CreditLot)).one()
        assert lot.source == "monthly" and lot.unit_usd == pytest.approx(10 / 660)
        assert lot.expires_at == datetime.fromtimestamp(PERIOD_END, UTC)
    assert account_row(platform, alice.id).period_end == datetime.fromtimestamp(PERIOD_END, UTC)
    # The invoice again under another event id: the ledger key holds, one payment row.
    assert post(client, event("invoice.paid", invoice())).status_code == 200
    assert available(platform, alice.id) == 660 and count(platform, Payment) == 1
    assert plan_changes(platform, alice.id)[-1] == ("free", "standard", "stripe")
    assert account_row(platform, alice.id).subscription_status == "active"
    # A second subscription would be billed beside the first: checkout refuses it.
    http = FakeStripeHTTP()
    with pytest.raises(Conflict) as err:
        checkout.create_checkout(platform, alice, kind="subscription", plan="pro", http_client=http)
    assert err.value.code == "already_subscribed" and http.calls == []


def test_invoice_before_checkout_finds_the_account_by_metadata(
    platform: Platform, client: TestClient, alice: AccountRef
) -> None:
    """Stripe does not order events: an invoice that comes first (legacy shape here) links
    the customer and sets the plan; the later checkout event changes nothing more."""
    inv = invoice(
        price="price_pro",
        amount_paid=3700,
        legacy=True,
        metadata={"account_id": alice.id, "plan": "pro"},
    )
    r = post(client, event("invoice.paid", inv))
    assert r.json()["result"] == "credits_granted"
    row = account_row(platform, alice.id)
    assert (row.plan, row.stripe_customer_id, row.stripe_subscription_id) == (
        "pro",
        "cus_alice",
        "sub_alice",
    )
    assert available(platform, alice.id) == 3000
    post(client, event("checkout.session.completed", subscription_session(alice.id, "pro")))
    assert plan_changes(platform, alice.id) == [(None, "free", "signup"), ("free", "pro", "stripe")]
    assert available(platform, alice.id) == 3000


def test_subscription_updated_changes_the_plan(
    platform: Platform, client: TestClient, alice: AccountRef
) -> None:
    post(client, event("checkout.session.completed", subscription_session(alice.id)))
    r = post(client, event("customer.subscription.updated", subscription(price="price_pro")))
    assert r.json()["result"] == "plan_changed"
    row = account_row(platform, alice.id)
    assert (row.plan, row.subscription_status) == ("pro", "active")
    assert row.period_end == datetime.fromtimestamp(PERIOD_END, UTC)
    assert plan_changes(platform, alice.id)[-1] == ("standard", "pro", "stripe")

    # A card retry in progress keeps the plan; no plan change is recorded.
    r = post(
        client,
        event("customer.subscription.updated", subscription(status="past_due", price="price_pro")),
    )
    assert r.json()["result"] == "status_updated"
    assert account_row(platform, alice.id).subscription_status == "past_due"
    assert len(plan_changes(platform, alice.id)) == 3

    # Stripe gave up on the card: back to free.
    r = post(
        client,
        event("customer.subscription.updated", subscription(status="unpaid", price="price_pro")),
    )
    assert r.json()["result"] == "downgraded"
    row = account_row(platform, alice.id)
    assert (row.plan, row.subscription_status) == ("free", "unpaid")
    assert plan_changes(platform, alice.id)[-1] == ("pro", "free", "stripe")


def test_subscription_deleted_returns_the_account_to_free(
    platform: Platform, client: TestClient, alice: AccountRef
) -> None:
    post(client, event("checkout.session.completed", subscription_session(alice.id)))
    post(client, event("invoice.paid", invoice()))
    # The end of some older subscription of the customer leaves the current one alone.
    r = post(
        client,
        event("customer.subscription.deleted", subscription(status="canceled", sub_id="sub_old")),
    )
    assert r.json()["result"] == "stale_subscription"
    assert account_row(platform, alice.id).plan == "standard"

    r = post(
        client,
        event(
            "customer.subscription.deleted", subscription(status="canceled", price="price_standard")
        ),
    )
    assert r.json()["result"] == "downgraded"
    row = account_row(platform, alice.id)
    assert (row.plan, row.subscription_status) == ("free", "canceled")
    assert plan_changes(platform, alice.id)[-1] == ("standard", "free", "stripe")
    # one allowance at a time (docs/billing.md): ending the subscription now ends its
    # allowance with it (Stripe's cancel-at-period-end ends both at the period's end)
    assert available(platform, alice.id) == 0


def test_stripe_plan_changes_replace_the_allowance_never_stack_it(
    platform: Platform, client: TestClient, alice: AccountRef
) -> None:
    """The operator's reproduction through Stripe: standard, then pro → premier → pro →
    standard in one period, with a proration invoice and a top-up between: the account holds
    the last plan's allowance and its top-up, whatever the order of the events."""
    post(client, event("checkout.session.completed", subscription_session(alice.id)))
    post(client, event("invoice.paid", invoice()))
    assert available(platform, alice.id) == 660
    post(client, event("checkout.session.completed", topup_session(alice.id)))
    assert available(platform, alice.id) == 660 + 330
    for price, plan in (("price_pro", "pro"), ("price_premier", "premier"), ("price_pro", "pro")):
        r = post(client, event("customer.subscription.updated", subscription(price=price)))
        assert r.json()["result"] == "plan_changed"
        allowance = {"pro": 3000, "premier": 8000}[plan]
        assert available(platform, alice.id) == allowance + 330, plan
    # the proration invoice of the last change pays for the same period: no second pro
    r = post(
        client,
        event("invoice.paid", invoice(invoice_id="in_2", amount_paid=2700, price="price_pro")),
    )
    assert r.json()["result"] == "credits_granted"
    assert available(platform, alice.id) == 3000 + 330
    post(client, event("customer.subscription.updated", subscription(price="price_standard")))
    assert available(platform, alice.id) == 660 + 330
    assert account_row(platform, alice.id).plan == "standard"
    with platform.db.session(write=False) as s:
        lots = {lot.source: lot for lot in s.scalars(select(CreditLot)) if lot.closed_at is None}
        assert lots["topup"].credits == 330  # the top-up is never touched
        sums = (
            s.execute(select(func.sum(LedgerEntry.amount)).group_by(LedgerEntry.txn_id))
            .scalars()
            .all()
        )
        assert set(sums) == {0}


# -- webhook: refusals and acknowledgements -----------------------------------------------


def test_forged_signatures_are_refused_and_nothing_is_written(
    platform: Platform, client: TestClient, alice: AccountRef
) -> None:
    before = counts(platform)
    body = event("checkout.session.completed", topup_session(alice.id))
    payload = json.dumps(body).encode()
    url = "/v1/billing/stripe/webhook"
    forged = {
        "wrong secret": sign(payload, secret="whsec_guessed"),
        "another body": sign(payload.replace(b"330", b"9999")),
        "no v1": f"t={int(time.time())}",
        "garbage": "hello",
    }
    for what, header in forged.items():
        r = client.post(url, content=payload, headers={"Stripe-Signature": header})
        assert r.status_code == 400, what
        assert r.json()["error"]["code"] == "invalid_signature", what
    r = client.post(url, content=payload)  # no header at all
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_signature"
    assert available(platform, alice.id) == 0
    assert counts(platform) == before


def test_a_replayed_old_delivery_is_refused(
    platform: Platform, client: TestClient, alice: AccountRef
) -> None:
    before = counts(platform)
    body = event("checkout.session.completed", topup_session(alice.id))
    r = post(client, body, ts=int(time.time()) - 301)  # Stripe's tolerance is 300 s
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_signature"
    assert "tolerance" in r.json()["error"]["message"]
    assert counts(platform) == before
    assert post(client, body, ts=int(time.time()) - 60).status_code == 200  # within it


def test_unknown_event_types_are_acknowledged(platform: Platform, client: TestClient) -> None:
    body = event("customer.created", {"id": "cus_x", "object": "customer"})
    r = post(client, body)
    assert r.status_code == 200 and r.json()["result"] == "ignored"
    with platform.db.session(write=False) as s:
        row = s.get(StripeEvent, body["id"])
        assert row is not None and (row.type, row.result) == ("customer.created", "ignored")
    assert count(platform, Payment) == 0 and count(platform, CreditLot) == 0


def test_events_for_unknown_customers_are_acknowledged(
    platform: Platform, client: TestClient
) -> None:
    body = event("invoice.paid", invoice(customer="cus_nobody"))
    r = post(client, body)
    assert r.status_code == 200 and r.json()["result"] == "unknown_account"
    r = post(client, event("checkout.session.completed", topup_session("acct_gone")))
    assert r.status_code == 200 and r.json()["result"] == "unknown_account"
    assert count(platform, StripeEvent) == 2
    assert count(platform, Payment) == 0 and count(platform, CreditLot) == 0


def test_a_body_that_is_not_an_event_is_refused(platform: Platform, client: TestClient) -> None:
    payload = b"not json"
    r = client.post(
        "/v1/billing/stripe/webhook", content=payload, headers={"Stripe-Signature": sign(payload)}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_payload"


def test_webhook_without_a_secret_says_payments_are_not_configured(
    platform: Platform, client: TestClient
) -> None:
    platform.settings.stripe_webhook_secret = None
    r = post(client, event("customer.created", {"id": "cus_x"}))
    assert r.status_code == 422 and r.json()["error"]["code"] == "payments_not_configured"
    assert count(platform, StripeEvent) == 0


# -- checkout -----------------------------------------------------------------------------


class FakeStripeHTTP(stripe.HTTPClient):
    """Stripe's HTTP transport, answering from memory and keeping what was sent."""

    name = "fake"

    def __init__(self, status: int = 200, body: dict[str, Any] | None = None):
        super().__init__()
        self.status = status
        self.body = (
            body
            if body is not None
            else {
                "id": "cs_test_new",
                "object": "checkout.session",
                "url": "https://checkout.stripe.com/c/pay/cs_test_new",
            }
        )
        self.calls: list[dict[str, Any]] = []

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        data = post_data.decode() if isinstance(post_data, bytes) else post_data or ""
        self.calls.append(
            {
                "method": method,
                "url": url,
                "headers": dict(headers or {}),
                "params": {k: v[0] for k, v in parse_qs(data).items()},
            }
        )
        return json.dumps(self.body), self.status, {"request-id": "req_test"}

    def request_stream(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_subscription_checkout_sends_the_plan_price_and_our_references(
    platform: Platform, alice: AccountRef
) -> None:
    http = FakeStripeHTTP()
    out = checkout.create_checkout(
        platform, alice, kind="subscription", plan="standard", http_client=http
    )
    assert out == {
        "object": "checkout_session",
        "id": "cs_test_new",
        "url": "https://checkout.stripe.com/c/pay/cs_test_new",
    }
    (call,) = http.calls
    assert call["method"] == "post"
    assert call["url"] == "https://api.stripe.com/v1/checkout/sessions"
    assert call["headers"]["Authorization"] == f"Bearer {SK}"
    sent = call["params"]
    assert sent["mode"] == "subscription"
    assert sent["line_items[0][price]"] == "price_standard"
    assert sent["line_items[0][quantity]"] == "1"
    assert sent["client_reference_id"] == alice.id
    assert sent["metadata[account_id]"] == alice.id
    assert sent["metadata[kind]"] == "subscription"
    assert sent["metadata[plan]"] == "standard"
    assert sent["metadata[credits]"] == "660"
    assert sent["subscription_data[metadata][account_id]"] == alice.id
    assert sent["subscription_data[metadata][plan]"] == "standard"
    assert sent["success_url"].startswith(platform.settings.public_url)
    assert "customer" not in sent


def test_topup_checkout_sends_an_inline_price_when_the_pack_has_none(
    platform: Platform, alice: AccountRef
) -> None:
    with platform.db.session() as s:
        row = s.get(Account, alice.id)
        assert row is not None
        row.stripe_customer_id = "cus_alice"
    http = FakeStripeHTTP()
    checkout.create_checkout(
        platform,
        alice,
        kind="topup",
        pack="large",
        success_url="https://app.example/ok",
        cancel_url="https://app.example/no",
        http_client=http,
    )
    sent = http.calls[0]["params"]
    assert sent["mode"] == "payment"
    assert sent["line_items[0][price_data][currency]"] == "usd"
    assert sent["line_items[0][price_data][unit_amount]"] == "2500"
    assert "line_items[0][price]" not in sent
    assert (sent["metadata[kind]"], sent["metadata[pack]"], sent["metadata[credits]"]) == (
        "topup",
        "large",
        "1800",
    )
    assert sent["client_reference_id"] == alice.id
    assert sent["customer"] == "cus_alice"
    assert (sent["success_url"], sent["cancel_url"]) == (
        "https://app.example/ok",
        "https://app.example/no",
    )
    http = FakeStripeHTTP()
    checkout.create_checkout(platform, alice, kind="topup", pack="small", http_client=http)
    assert http.calls[0]["params"]["line_items[0][price]"] == "price_small"


@pytest.mark.parametrize(
    ("kind", "plan", "pack", "code"),
    [
        ("subscription", "gold", None, "unknown_plan"),
        ("subscription", None, None, "unknown_plan"),
        ("subscription", "free", None, "plan_not_purchasable"),
        ("subscription", "enterprise", None, "plan_not_purchasable"),
        ("subscription", "internal", None, "plan_not_purchasable"),
        ("topup", None, "huge", "unknown_pack"),
    ],
)
def test_checkout_refuses_what_cannot_be_bought(
    platform: Platform, alice: AccountRef, kind: str, plan: str | None, pack: str | None, code: str
) -> None:
    http = FakeStripeHTTP()
    with pytest.raises(InvalidRequest) as err:
        checkout.create_checkout(platform, alice, kind=kind, plan=plan, pack=pack, http_client=http)
    assert err.value.code == code
    assert http.calls == []


def test_checkout_errors_from_stripe_and_configuration(
    platform: Platform, alice: AccountRef
) -> None:
    http = FakeStripeHTTP(
        status=400,
        body={
            "error": {"type": "invalid_request_error", "message": "No such price: 'price_standard'"}
        },
    )
    with pytest.raises(ReelforgeError) as err:
        checkout.create_checkout(
            platform, alice, kind="subscription", plan="standard", http_client=http
        )
    assert (err.value.code, err.value.http_status) == ("payment_provider_error", 502)
    assert "No such price" in err.value.message

    platform.settings.stripe_secret_key = None
    with pytest.raises(CapabilityMissing) as missing:
        checkout.create_checkout(
            platform, alice, kind="topup", pack="small", http_client=FakeStripeHTTP()
        )
    assert missing.value.code == "payments_not_configured"


def test_checkout_route_is_authenticated_and_validates_its_body(
    platform: Platform, client: TestClient
) -> None:
    url = "/v1/billing/checkout"
    assert client.post(url, json={"kind": "topup", "pack": "small"}).status_code == 401
    key = accounts.create_api_key(platform, "alice").key
    client.headers["Authorization"] = f"Bearer {key}"
    r = client.post(url, json={"kind": "topup", "pack": "small", "price": 1})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_field"
    r = client.post(url, json={"kind": "gift"})
    assert r.status_code == 422
    r = client.post(url, json={"kind": "subscription", "plan": "free"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "plan_not_purchasable"
    platform.settings.stripe_secret_key = None
    r = client.post(url, json={"kind": "topup", "pack": "small"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "payments_not_configured"
