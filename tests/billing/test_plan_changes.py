"""Plan changes by an operator (`reelforge accounts set-plan`, `customers.set_plan`):
the new plan's allowance replaces the old one's for the period, never stacks on it; top-ups
and grants are untouched. (The same rule through Stripe's webhooks: test_payments.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reelforge.app.platform import Platform
from reelforge.config import Settings
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.jobs import queries
from reelforge.storage.billing_tables import CreditLot, LedgerEntry, LedgerTransaction
from tests.billing.test_credits import PRICE, Clock, billed, run_all, submit
from tests.fakes import GradientBackend

ALLOWANCE = {"free": 20, "standard": 660, "pro": 3000, "premier": 8000}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def p(settings: Settings, backend: GradientBackend, clock: Clock) -> Iterator[Platform]:
    platform = billed(settings, backend, clock)
    yield platform
    platform.close()


def balance(p: Platform, name: str) -> dict:
    return dict(customers.account_summary(p, name)["balance"])


def ledger_rows(p: Platform) -> tuple[int, list[str]]:
    with p.db.session(write=False) as s:
        unbalanced = s.scalar(
            select(func.count()).select_from(
                select(LedgerEntry.txn_id)
                .group_by(LedgerEntry.txn_id)
                .having(func.sum(LedgerEntry.amount) != 0)
                .subquery()
            )
        )
        kinds = list(
            s.scalars(select(LedgerTransaction.kind).order_by(LedgerTransaction.created_at))
        )
    return int(unbalanced or 0), kinds


def test_four_plan_changes_leave_the_last_plans_allowance_plus_top_ups(p: Platform) -> None:
    """The issue's reproduction: pro → premier → pro → standard held 3000 + 8000 + 660 (+ the
    grant) afterwards; now it holds standard's 660 and the grant."""
    accounts.ensure_account(p, "acme")
    customers.grant(p, "acme", 500, reason="top-up by hand")
    assert balance(p, "acme")["available"] == 20 + 500  # free's daily allowance + the grant
    for plan in ("pro", "premier", "pro", "standard"):
        shown = customers.set_plan(p, "acme", plan)
        assert shown["plan"] == plan
        assert shown["balance"]["available"] == ALLOWANCE[plan] + 500, plan
        # reading the account again grants nothing more
        assert balance(p, "acme")["available"] == ALLOWANCE[plan] + 500
    lots = {lot["source"]: lot["left"] for lot in balance(p, "acme")["lots"]}
    assert lots == {"monthly": 660, "grant": 500}
    unbalanced, kinds = ledger_rows(p)
    # each change wrote the old allowance's remainder off (append-only) and granted the new
    assert unbalanced == 0 and kinds.count("expire") == 4


def test_allowance_used_this_period_counts_against_the_new_plan(p: Platform, clock: Clock) -> None:
    """Spending on one plan and switching does not refill: the period's allowance is the
    current plan's, less what the account already used of plan allowances this period."""
    acct = accounts.ensure_account(p, "acme")
    customers.set_plan(p, "acme", "pro")
    job = submit(p, acct)
    assert run_all(p, acct, job["id"])["status"] == "succeeded"
    assert balance(p, "acme")["available"] == 3000 - PRICE
    assert customers.set_plan(p, "acme", "premier")["balance"]["available"] == 8000 - PRICE
    assert customers.set_plan(p, "acme", "pro")["balance"]["available"] == 3000 - PRICE
    # set-plan to the plan it is on changes nothing
    assert customers.set_plan(p, "acme", "pro")["balance"]["available"] == 3000 - PRICE
    # a new month: standard's whole allowance (last month's use no longer counts)
    customers.set_plan(p, "acme", "standard")
    clock.now += timedelta(days=30)  # 2026-12-02
    assert balance(p, "acme")["available"] == 660
    with p.db.session(write=False) as s:
        monthly = s.scalars(
            select(CreditLot).where(CreditLot.source == "monthly").order_by(CreditLot.created_at)
        ).all()
        assert [lot.credits for lot in monthly] == [
            3000,
            8000 - PRICE,
            3000 - PRICE,
            660 - PRICE,
            660,
        ]
    assert ledger_rows(p)[0] == 0


def test_credits_a_queued_job_holds_across_a_plan_change(p: Platform) -> None:
    """A job holding credits of the old allowance when the plan changes: the new allowance
    is whole (held credits are not spent yet); cancelled, the job's credits go back to the
    old lot, which is not spent again, so nothing stacks either way."""
    acct = accounts.ensure_account(p, "acme")
    customers.set_plan(p, "acme", "pro")
    job = submit(p, acct)
    assert balance(p, "acme") == {**balance(p, "acme"), "available": 3000 - PRICE, "held": PRICE}
    assert customers.set_plan(p, "acme", "premier")["balance"]["available"] == 8000
    queries.cancel_job(p, acct, job["id"])
    after = balance(p, "acme")
    assert (after["available"], after["held"]) == (8000, 0)
    assert [lot["source"] for lot in after["lots"]] == ["monthly"]
    assert ledger_rows(p)[0] == 0


def test_a_repeated_idempotency_key_grants_nothing_and_says_so(p: Platform) -> None:
    accounts.ensure_account(p, "acme")
    first = customers.grant(p, "acme", 50, idempotency_key="promo-1")
    assert first["granted"]["credits"] == 50 and first["granted"]["repeated"] is False
    again = customers.grant(p, "acme", 50, idempotency_key="promo-1")
    assert again["granted"] == {
        "lot": first["granted"]["lot"],
        "credits": 0,
        "repeated": True,
        "first_credits": 50,
    }
    assert again["balance"]["available"] == 70
    # the key belongs to the account it was used for
    accounts.ensure_account(p, "other")
    with pytest.raises(Exception) as err:
        customers.grant(p, "other", 50, idempotency_key="promo-1")
    assert getattr(err.value, "code", None) == "idempotency_key_reused"
    assert balance(p, "other")["available"] == 20


def test_quote_over_http_prices_an_unregistered_family(p: Platform) -> None:
    """POST /v1/quotes shares the CLI's service: wan-14b (not registered) is an estimate."""
    from fastapi.testclient import TestClient

    from reelforge.api.app import create_app

    new = accounts.create_api_key(p, "alice")
    with TestClient(create_app(p)) as c:
        c.headers["Authorization"] = f"Bearer {new.key}"
        r = c.post(
            "/v1/quotes",
            json={"prompt": "a fox", "model": "wan-14b", "duration": 1, "resolution": "480p"},
        )
        assert r.status_code == 200, r.text
        # 36 credits/s x 1 s x 0.5 (480p) = 18; 73 device s per second x 1 on an H200
        q = r.json()
        assert (q["credits"], q["registered"], q["family"]) == (18, False, "wan")
        assert (q["estimated_device_seconds"], q["device"]) == (73.0, "H200")
        assert "not registered" in q["note"] and q["affordable"] is True  # free: 20 a day
        r = c.post("/v1/quotes", json={"prompt": "a fox", "model": "imagen-9"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_model"
