"""Credits on the job path, on SQLite and on PostgreSQL + Redis: reserve at submit, capture
on success, release on failure, cancel or block; limits, budgets, expiry, the result cache,
quotes; and parallel submits that can never overspend."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.billing.sheet import DEFAULT_SHEET
from reelforge.config import Settings
from reelforge.errors import InvalidRequest, PaymentRequired, RateLimited
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers, ledger
from reelforge.services.governance import reviews
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage.billing_tables import LedgerEntry, LedgerTransaction, UsageEvent
from reelforge.storage.tables import Job
from reelforge.worker.loop import Worker
from tests.fakes import GradientBackend, broken_backend
from tests.helpers import wait_final

# 1 s of 480p on a model priced at the sheet's fallback (10 credits/s) x 0.5 = 5 credits
BODY = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}
PRICE = 5


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def billed(
    settings: Settings,
    backend: GradientBackend,
    clock: Clock,
    **overrides: object,
) -> Platform:
    values = {"default_plan": "free", "result_cache": "account", **overrides}
    s = settings.model_copy(update=values)
    s.worker_queues.append(backend.queue)
    return bootstrap(s, backends=[backend], clock=clock)


@pytest.fixture
def p(settings: Settings, backend: GradientBackend, clock: Clock) -> Iterator[Platform]:
    platform = billed(settings, backend, clock)
    yield platform
    platform.close()


def submit(p: Platform, acct: accounts.AccountRef, **fields: object) -> dict:
    return submit_job(p, acct, SubmitRequest.parse({**BODY, **fields})).job


def run_all(p: Platform, acct: accounts.AccountRef, job_id: str) -> dict:
    worker = Worker(p).start()
    try:
        return wait_final(p, acct, job_id)
    finally:
        worker.stop()


def available(p: Platform, acct: accounts.AccountRef) -> int:
    return int(customers.me(p, acct)["balance"]["available"])


def assert_balanced(p: Platform) -> None:
    """Every ledger transaction's entries sum to zero."""
    with p.db.session(write=False) as s:
        sums = s.execute(
            select(LedgerEntry.txn_id, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.txn_id)
        ).all()
    assert sums and all(total == 0 for _, total in sums)


def txn_kinds(p: Platform, job_id: str) -> list[str]:
    with p.db.session(write=False) as s:
        return list(
            s.scalars(
                select(LedgerTransaction.kind)
                .where(LedgerTransaction.job_id == job_id)
                .order_by(LedgerTransaction.created_at)
            )
        )


def test_success_captures_the_reserved_credits_and_records_the_measured_cost(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    assert available(p, acct) == 20  # the free plan's daily credits
    job = submit(p, acct)
    assert (job["credits"], job["billing"], job["credits_charged"]) == (PRICE, "reserved", 0)
    assert available(p, acct) == 20 - PRICE
    done = run_all(p, acct, job["id"])
    assert done["status"] == "succeeded"
    assert (done["billing"], done["credits_charged"]) == ("captured", PRICE)
    assert done["cost_usd"] > 0
    assert txn_kinds(p, job["id"]) == ["reserve", "capture"]
    with p.db.session(write=False) as s:
        usage = {
            u.kind: u for u in s.scalars(select(UsageEvent).where(UsageEvent.job_id == job["id"]))
        }
    assert {"compute", "storage"} <= set(usage)
    compute = usage["compute"]
    assert compute.outcome == "succeeded" and compute.plan == "free"
    # device time: the job's wall time less the output frame checks (metered as moderation)
    timings = done["timings"]
    assert compute.quantity == pytest.approx(
        timings["total"] - timings["output_moderation"], abs=0.01
    )
    assert usage["moderation"].quantity == pytest.approx(
        timings["moderation_submit"] + timings["output_moderation"], abs=0.01
    )
    assert compute.cost_usd == pytest.approx(compute.quantity * 0.05 / 3600, rel=1e-3)  # cpu
    assert done["cost_usd"] == pytest.approx(sum(u.cost_usd for u in usage.values()), abs=1e-6)
    events, _ = queries.events_since(p, acct, job["id"], 0)
    assert events[-1]["type"] == "succeeded" and events[-1]["credits_charged"] == PRICE
    assert_balanced(p)


def test_a_failed_job_is_free_and_its_cost_is_waste(settings: Settings, clock: Clock) -> None:
    p = billed(settings, broken_backend(), clock)
    try:
        acct = accounts.ensure_account(p, "alice")
        done = run_all(p, acct, submit(p, acct)["id"])
        assert done["status"] == "failed"
        assert (done["billing"], done["credits_charged"]) == ("released", 0)
        assert available(p, acct) == 20
        assert txn_kinds(p, done["id"]) == ["reserve", "release"]
        with p.db.session(write=False) as s:
            outcomes = set(
                s.scalars(select(UsageEvent.outcome).where(UsageEvent.job_id == done["id"]))
            )
        assert outcomes == {"failed"}
        assert_balanced(p)
    finally:
        p.close()


def test_cancel_and_block_release_or_reserve_nothing(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    job = submit(p, acct)
    queries.cancel_job(p, acct, job["id"])
    final = queries.get_job(p, acct, job["id"])
    assert (final["status"], final["billing"], final["credits_charged"]) == (
        "cancelled",
        "released",
        0,
    )
    blocked = submit(p, acct, prompt="a graphic video of a man being beheaded, blood everywhere")
    assert blocked["status"] == "blocked" and blocked["billing"] == "none"
    assert txn_kinds(p, blocked["id"]) == []
    assert available(p, acct) == 20


def test_a_block_overturned_on_appeal_is_charged_when_it_succeeds(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    admin = accounts.ensure_account(p, "ops", admin=True)
    blocked = submit(p, acct, prompt="a graphic video of a man being beheaded, blood everywhere")
    assert (blocked["status"], blocked["billing"]) == ("blocked", "none")
    reviews.appeal(p, acct, blocked["id"], "it is a history documentary")
    (pending,) = reviews.list_reviews(p)
    reviews.decide(p, pending["id"], approve=True, reviewer=admin)
    done = run_all(p, acct, blocked["id"])
    assert (done["status"], done["billing"], done["credits_charged"]) == (
        "succeeded",
        "captured",
        PRICE,
    )
    assert txn_kinds(p, blocked["id"]) == ["charge"]
    assert available(p, acct) == 20 - PRICE
    assert_balanced(p)


def test_not_enough_credits_refuses_and_writes_nothing(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    with pytest.raises(PaymentRequired) as err:
        submit(p, acct, duration=10, resolution="720p")  # 100 credits; the free plan has 20
    assert err.value.code == "insufficient_credits" and err.value.http_status == 402
    with p.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
        assert (
            s.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.kind == "reserve")
            )
            == 0
        )
    assert available(p, acct) == 20
    customers.set_plan(p, "alice", "pro")  # 3000 credits this month; free's 20 end
    assert submit(p, acct, duration=10, resolution="720p")["billing"] == "reserved"
    assert available(p, acct) == 3000 - 100


def test_over_the_concurrency_a_job_waits_reserved_and_past_the_queue_cap_is_429_losing_nothing(
    settings: Settings, backend: GradientBackend, clock: Clock, tmp_path: Path
) -> None:
    acct_plan = {"daily_credits": 20, "concurrency": 1, "max_queued": 1}
    p = billed(settings, backend, clock, billing_file=custom_sheet(tmp_path, free=acct_plan))
    try:
        acct = accounts.ensure_account(p, "alice")
        assert submit(p, acct)["status"] == "queued"
        waiting = submit(p, acct)  # over the concurrency: accepted, waits, credits held
        assert waiting["status"] == "throttled" and waiting["billing"] == "reserved"
        with pytest.raises(RateLimited) as err:
            submit(p, acct)
        assert err.value.code == "queue_full" and err.value.http_status == 429
        with p.db.session(write=False) as s:
            assert s.scalar(select(func.count()).select_from(Job)) == 2
        assert available(p, acct) == 20 - 2 * PRICE
        assert_balanced(p)
    finally:
        p.close()


def test_key_and_organisation_budgets(p: Platform) -> None:
    new = accounts.create_api_key(p, "acme")
    customers.set_plan(p, "acme", "premier")
    customers.set_budget(p, "acme", daily=None, monthly=None, key_id=new.key_id)
    customers.set_budget(p, "acme", daily=2 * PRICE, monthly=None, key_id=new.key_id)
    ref = accounts.authenticate(p, new.key)
    submit(p, ref)
    submit(p, ref)
    with pytest.raises(RateLimited) as err:
        submit(p, ref)
    assert err.value.code == "budget_exceeded"
    # the organisation's own monthly budget applies to every key
    customers.set_budget(p, "acme", daily=None, monthly=None, key_id=new.key_id, clear=True)
    customers.set_budget(p, "acme", daily=None, monthly=3 * PRICE)
    submit(p, ref)
    with pytest.raises(RateLimited):
        submit(p, ref)
    with pytest.raises(InvalidRequest) as bad:
        customers.set_budget(p, "acme", daily=-1, monthly=None)
    assert bad.value.code == "invalid_amount"


def test_daily_credits_expire_and_are_granted_again(p: Platform, clock: Clock) -> None:
    acct = accounts.ensure_account(p, "alice")
    job = submit(p, acct)
    queries.cancel_job(p, acct, job["id"])
    customers.grant(p, "alice", 7, days=30, reason="goodwill")
    assert available(p, acct) == 27
    clock.now += timedelta(days=1)
    assert available(p, acct) == 27  # yesterday's 20 expired, today's 20 granted
    submit(p, acct)  # expiry is written when credits are next reserved
    with p.db.session(write=False) as s:
        kinds = list(s.scalars(select(LedgerTransaction.kind)))
    assert kinds.count("grant") == 3 and kinds.count("expire") == 1
    assert available(p, acct) == 27 - PRICE
    assert_balanced(p)


def test_grants_are_idempotent_and_bad_amounts_leave_the_ledger_untouched(p: Platform) -> None:
    accounts.ensure_account(p, "alice")
    first = customers.grant(p, "alice", 50, idempotency_key="promo-1")
    again = customers.grant(p, "alice", 50, idempotency_key="promo-1")
    assert first["granted"]["lot"] == again["granted"]["lot"]
    assert first["balance"]["available"] == again["balance"]["available"] == 70
    with p.db.session(write=False) as s:
        before = s.scalar(select(func.count()).select_from(LedgerEntry))
    for bad in (-5, 0, 2.5, True, "10"):
        with pytest.raises(InvalidRequest) as err:
            customers.grant(p, "alice", bad)
        assert err.value.code == "invalid_amount"
    with pytest.raises(InvalidRequest) as err:
        customers.set_plan(p, "alice", "platinum")
    assert err.value.code == "unknown_plan"
    with p.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == before


def test_the_ledger_refuses_updates_and_deletes(p: Platform) -> None:
    accounts.ensure_account(p, "alice")
    customers.grant(p, "alice", 5)
    for sql in (
        "UPDATE ledger_entries SET amount = amount + 1",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_transactions SET credits = 0",
    ):
        with pytest.raises(Exception, match="append-only"), p.db.session() as s:
            s.execute(text(sql))


def test_identical_requests_with_a_seed_hit_the_result_cache(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    customers.set_plan(p, "alice", "pro")
    first = run_all(p, acct, submit(p, acct, seed=42)["id"])
    hit = submit(p, acct, seed=42)
    assert hit["status"] == "succeeded" and hit["cache_hit"] and hit["cached_from"] == first["id"]
    assert hit["output"]["sha256"] == first["output"]["sha256"]
    assert hit["credits_charged"] == 1  # 10 % of 5 credits, rounded up
    with p.db.session(write=False) as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(UsageEvent)
                .where(UsageEvent.job_id == hit["id"], UsageEvent.kind == "compute")
            )
            == 0
        )
    assert not submit(p, acct, seed=43)["cache_hit"]  # another seed renders
    assert not submit(p, acct)["cache_hit"]  # no seed: a new random video was asked for
    other = accounts.ensure_account(p, "bob")
    customers.set_plan(p, "bob", "pro")
    assert not submit(p, other, seed=42)["cache_hit"]  # scoped to the account by default


def custom_sheet(tmp_path: Path, **plans: dict) -> Path:
    data = yaml.safe_load(DEFAULT_SHEET.read_text())
    data["plans"].update(plans)
    path = tmp_path / "billing.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_parallel_submits_never_overspend(
    settings: Settings, backend: GradientBackend, clock: Clock, tmp_path: Path
) -> None:
    sheet = custom_sheet(tmp_path, burst={"concurrency": 100, "priority": 1})
    p = billed(settings, backend, clock, billing_file=sheet)
    try:
        acct = accounts.ensure_account(p, "alice")
        customers.set_plan(p, "alice", "burst")
        customers.grant(p, "alice", 6 * PRICE)
        results: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(16)

        def one(i: int) -> None:
            barrier.wait()
            try:
                job = submit(p, acct, external_id=f"parallel-{i}")
                outcome = job["billing"]
            except PaymentRequired:
                outcome = "refused"
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count("reserved") == 6 and results.count("refused") == 10
        balance = customers.me(p, acct)["balance"]
        assert balance["available"] == 0 and balance["held"] == 6 * PRICE
        with p.db.session(write=False) as s:
            lots = s.execute(
                select(LedgerEntry.lot_id, func.sum(LedgerEntry.amount))
                .where(LedgerEntry.book == ledger.LOT)
                .group_by(LedgerEntry.lot_id)
            ).all()
        assert all(total >= 0 for _, total in lots)
        assert_balanced(p)
    finally:
        p.close()


def test_quotes_and_the_account_over_http_with_rate_limits(p: Platform) -> None:
    new = accounts.create_api_key(p, "alice")
    with TestClient(create_app(p)) as c:
        c.headers["Authorization"] = f"Bearer {new.key}"
        r = c.post("/v1/quotes", json=BODY)
        assert r.status_code == 200, r.text
        quote = r.json()
        assert quote["credits"] == PRICE and quote["estimate_basis"] == "none"
        assert quote["balance"] == 20 and quote["affordable"] is True
        assert c.post("/v1/quotes", json={**BODY, "duration": -1}).status_code == 422
        account = c.get("/v1/account").json()
        assert account["plan"] == "free" and account["concurrency"] == 1
        created = c.post("/v1/videos", json=BODY)
        assert created.status_code == 202 and created.json()["credits"] == PRICE
        busy = c.post("/v1/videos", json=BODY)  # over the concurrency: waits its turn
        assert busy.status_code == 202 and busy.json()["status"] == "throttled"
        # Reads have their own, larger budget; work-creating requests 20 a minute on free.
        assert [c.get("/v1/account").status_code for _ in range(25)] == [200] * 25
        codes = [c.post("/v1/quotes", json=BODY).status_code for _ in range(25)]
        assert 429 in codes
        limited = c.post("/v1/quotes", json=BODY)
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1


def test_a_double_submit_reserves_once(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    first = submit(p, acct, external_id="order-17")
    again = submit(p, acct, external_id="order-17")
    assert again["id"] == first["id"]
    assert txn_kinds(p, first["id"]) == ["reserve"]
    assert available(p, acct) == 20 - PRICE


def test_the_plan_sets_the_queue_priority(p: Platform) -> None:
    free = accounts.ensure_account(p, "alice")
    assert submit(p, free, priority=3)["priority"] == 3  # free: plan priority 0
    pro = accounts.ensure_account(p, "bob")
    customers.set_plan(p, "bob", "pro")
    assert submit(p, pro, priority=3)["priority"] == 53  # pro: plan priority 5, then 3
