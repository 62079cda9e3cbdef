"""`reelforge accounts ...`, `reelforge quote` and `reelforge simulate`, in-process, with the
embedded defaults in a temp data dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from reelforge.app.bootstrap import bootstrap
from reelforge.cli import app
from reelforge.config import Settings
from reelforge.services.billing import reports
from reelforge.storage.billing_tables import LedgerEntry, Payment, PlanChange, UsageEvent
from reelforge.storage.tables import Account, Job


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key in list(__import__("os").environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> Any:
    r = cli.invoke(app, list(args))
    assert r.exit_code == code, r.output
    return json.loads(r.stdout) if code == 0 and "--json" in args else r.output


def test_accounts_lifecycle(cli: CliRunner) -> None:
    created = run(cli, "accounts", "create", "acme", "--segment", "enterprise", "--json")
    assert (created["plan"], created["segment"], created["balance"]["available"]) == (
        "free",
        "enterprise",
        20,
    )
    granted = run(
        cli,
        "accounts",
        "grant",
        "acme",
        "500",
        "--days",
        "30",
        "--reason",
        "pilot",
        "--idempotency-key",
        "pilot-1",
        "--json",
    )
    assert granted["balance"]["available"] == 520
    again = run(cli, "accounts", "grant", "acme", "500", "--idempotency-key", "pilot-1", "--json")
    assert again["balance"]["available"] == 520  # the same key grants once, and says so
    assert again["granted"]["credits"] == 0 and again["granted"]["repeated"] is True
    said = cli.invoke(app, ["accounts", "grant", "acme", "500", "--idempotency-key", "pilot-1"])
    assert said.exit_code == 0 and "granted nothing" in said.output
    for bad in ("2.5", "ten", "0x10"):
        assert "invalid_amount" in run(cli, "accounts", "grant", "acme", bad, code=2)
    assert "unknown_plan" in run(cli, "accounts", "set-plan", "acme", "platinum", code=2)
    shown = run(cli, "accounts", "show", "acme")  # issue 12 item 14: it printed "daily None"
    assert "no budget" in shown and "None" not in shown
    assert "account_not_found" in run(cli, "accounts", "show", "nobody", code=2)
    assert "account_exists" in run(cli, "accounts", "create", "acme", code=2)
    pro = run(cli, "accounts", "set-plan", "acme", "pro", "--json")
    # pro's allowance replaces free's daily one; the grant stays
    assert pro["plan"] == "pro" and pro["balance"]["available"] == 500 + 3000
    daily = run(cli, "accounts", "budget", "acme", "--daily", "100")
    assert "budget daily 100 credits, monthly no limit" in daily and "None" not in daily
    budget = run(cli, "accounts", "budget", "acme", "--daily", "100", "--monthly", "2000", "--json")
    assert budget["budgets"]["daily"] == 100 and budget["budgets"]["monthly"] == 2000
    assert "not_postpaid" in run(cli, "accounts", "invoice", "acme", code=2)
    shown = run(cli, "accounts", "show", "acme")
    assert "pro" in shown and "3500" in shown


def test_enterprise_accounts_are_invoiced_for_what_they_used(
    cli: CliRunner, tmp_path: Path
) -> None:
    run(
        cli,
        "accounts",
        "create",
        "bigco",
        "--plan",
        "enterprise",
        "--segment",
        "enterprise",
        "--json",
    )
    p = bootstrap(Settings(data_dir=tmp_path / "data"))
    try:
        from reelforge.services.accounts import accounts
        from reelforge.services.jobs.submit import SubmitRequest, submit_job
        from reelforge.services.jobs.uploads import create_upload

        ref = accounts.ensure_account(p, "bigco")
        with p.db.session(write=False) as s:  # it signed up on enterprise, not on free
            changes = s.execute(
                select(PlanChange.from_plan, PlanChange.to_plan, PlanChange.source)
            ).all()
        assert [tuple(c) for c in changes] == [(None, "enterprise", "signup")]
        image = (Path(__file__).parents[2] / "src/reelforge/assets/sample.jpg").read_bytes()
        upload = create_upload(p, ref, image, "sample.jpg")
        job = submit_job(
            p,
            ref,
            SubmitRequest.parse(
                {"prompt": "slow zoom", "image_upload_id": upload.id, "duration": 4}
            ),
        ).job
        assert job["billing"] == "reserved" and job["credits"] == 4  # motion: 1 credit/s
    finally:
        p.close()
    shown = run(cli, "accounts", "show", "bigco", "--json")
    assert shown["postpaid"] and shown["balance"]["postpaid_owed"] == 4
    invoice = run(cli, "accounts", "invoice", "bigco", "--json")
    assert invoice["credits"] == 4 and invoice["amount_usd"] == pytest.approx(0.05)  # 4 x 1.2c
    assert run(cli, "accounts", "invoice", "bigco", "--json")["id"] == invoice["id"]
    assert f"{invoice['id']}: 4 credits, $0.05" in run(cli, "accounts", "invoice", "bigco")
    assert run(cli, "accounts", "show", "bigco", "--json")["balance"]["postpaid_owed"] == 0


def test_invoice_money_reads_as_the_report_does(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 item 14: `$1,234.56` with its thousands separator (it printed `$1234.56`),
    the one rule of reelforge.domain.money."""
    from reelforge.cli import billing

    def invoice(p: object, name: str, month: str | None = None) -> dict[str, Any]:
        return {"id": "inv_1", "credits": 102880, "amount_usd": 1234.56}

    monkeypatch.setattr(billing.customers, "invoice", invoice)
    assert "inv_1: 102880 credits, $1,234.56\n" in run(cli, "accounts", "invoice", "bigco")


def test_quote_prints_credits_and_estimate(cli: CliRunner) -> None:
    quote = run(cli, "quote", "--duration", "10", "--resolution", "1080p", "--json")
    assert quote["model"] == "motion" and quote["credits"] == 20  # 1/s x 10 s x 2 (1080p)
    assert quote["estimate_basis"] == "profile" and quote["estimated_device_seconds"] == 6.0
    text = run(cli, "quote", "--duration", "10", "--resolution", "1080p")
    assert "20 credits" in text
    # under a cent: 4 significant digits, as everywhere (issue 12 item 14; it was $0.0001)
    assert quote["estimated_cost_usd"] == 0.000083 and "($0.000083, profile)" in text
    assert "invalid_request" in run(cli, "quote", "--duration", "-3", code=2)


def test_quote_prices_a_model_family_not_registered_yet(cli: CliRunner) -> None:
    """The README's own example: wan-14b is no registered model here, but the sheet prices
    the wan family (36 credits/s) and profiles it (250 device s per output second at 720p
    on an H200 at $3.50/h): 180 credits, 1250 s, $1.215278, said to be an estimate."""
    quote = run(
        cli, "quote", "--model", "wan-14b", "--duration", "5", "--resolution", "720p", "--json"
    )
    assert (quote["credits"], quote["estimated_device_seconds"], quote["device"]) == (
        180,
        1250.0,
        "H200",
    )
    assert quote["estimated_cost_usd"] == pytest.approx(1250 * 3.5 / 3600, abs=1e-6)
    assert (quote["registered"], quote["family"], quote["estimate_basis"]) == (
        False,
        "wan",
        "profile",
    )
    text = run(cli, "quote", "--model", "wan2.1-t2v-14b", "--preset", "draft")
    assert "54 credits" in text and "an estimate for wan2.1-t2v-14b" in text
    assert "not registered" in text
    # a registered model is not an estimate; a name no profile knows is still unknown
    assert run(cli, "quote", "--json")["registered"] is True
    for unknown in ("sdxl-1", "wand", "wan-14b;rm -rf", "wan\u202e"):
        assert "unknown_model" in run(cli, "quote", "--model", unknown, code=2)


def test_simulate_marks_everything_it_makes_and_the_report_keeps_it_apart(
    cli: CliRunner, tmp_path: Path
) -> None:
    result = run(cli, "simulate", "--users", "25", "--days", "12", "--seed", "5", "--json")
    counts = result["counts"]
    assert result["simulated"] is True and counts["signups_creator"] > 0
    p = bootstrap(Settings(data_dir=tmp_path / "data"))
    try:
        with p.db.session(write=False) as s:
            accounts = s.scalars(select(Account).where(Account.name.like("sim-%"))).all()
            assert len(accounts) == 25 and all(a.simulated for a in accounts)
            jobs = s.scalars(select(Job)).all()
            assert jobs and all(j.simulated for j in jobs)
            assert sum(j.status == "succeeded" for j in jobs) == (
                counts.get("jobs_succeeded", 0) + counts.get("jobs_succeeded_cache_hit", 0)
            )
            assert (
                s.scalar(
                    select(func.count())
                    .select_from(UsageEvent)
                    .where(UsageEvent.simulated.is_(False))
                )
                == 0
            )
            assert all(pay.simulated for pay in s.scalars(select(Payment)))
            sums = (
                s.execute(select(func.sum(LedgerEntry.amount)).group_by(LedgerEntry.txn_id))
                .scalars()
                .all()
            )
            assert sums and set(sums) == {0}
        real = reports.kpi_report(p)
        simulated = reports.kpi_report(p, simulated=True)
    finally:
        p.close()
    assert real["generations"] == 0 and real["data"] == "real"
    assert simulated["data"] == "simulated" and simulated["generations"] > 0
    assert simulated["generations"] == sum(
        v for k, v in counts.items() if k.startswith("jobs_succeeded")
    )
