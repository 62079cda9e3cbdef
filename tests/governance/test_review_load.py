"""Reviewer load: prompts sent to a person per day by language and category, and the median
time to a decision, in the KPI report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reelforge.app.bootstrap import bootstrap
from reelforge.cli import app as cli_app
from reelforge.services.accounts import accounts
from reelforge.services.governance import reviews
from reelforge.services.governance.review_load import reviewer_load
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from tests.conftest import make_settings
from tests.fakes import GradientBackend


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_reviewer_load_by_day_language_and_category(tmp_path: Path) -> None:
    clock = Clock()
    p = bootstrap(make_settings(tmp_path), backends=[GradientBackend()], clock=clock)
    try:
        acct = accounts.ensure_account(p, "acme")

        def submit(prompt: str) -> dict[str, Any]:
            fields = {"model": "gradient", "duration": 1, "fps": 8, "prompt": prompt}
            return submit_job(p, acct, SubmitRequest.parse(fields)).job

        band = submit("a protest march for better school funding, peaceful")
        spanish = submit("Un gato naranja durmiendo al sol en una ventana de Sevilla")
        assert band["status"] == spanish["status"] == "review"
        clock.now += timedelta(days=1)
        chinese = submit("一只熊猫在竹林里吃竹子")
        ops = accounts.AccountRef("ops", "ops", is_admin=True)
        first, second = reviews.list_reviews(p)[:2]
        clock.now += timedelta(minutes=30)
        reviews.decide(p, first["id"], approve=True, reviewer=ops)
        reviews.decide(p, second["id"], approve=False, reviewer=ops)

        load = reviewer_load(p)
        day1, day2 = load["days"]
        assert (day1["day"], day1["sent"], day1["decided"]) == ("2026-12-06", 2, 2)
        assert day1["by_language"] == {"en": 1, "es": 1}
        assert day1["by_category"] == {"(none)": 1, "political": 1}
        assert day1["median_seconds_to_decision"] == (24 * 3600 + 1800)
        assert (day2["sent"], day2["pending"], day2["by_language"]) == (1, 1, {"zh": 1})
        assert load["total_sent"] == 3 and load["pending"] == 1
        window = reviewer_load(p, since=datetime(2026, 12, 7, tzinfo=UTC))
        assert [d["day"] for d in window["days"]] == ["2026-12-07"]
        assert chinese["moderation"]["submit"]["decision"] == "review"
    finally:
        p.close()


def test_the_kpi_report_carries_the_reviewer_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    r = CliRunner().invoke(cli_app, ["report", "--json"])
    assert r.exit_code == 0, r.output
    load = json.loads(r.stdout)["reviewer_load"]
    assert load["object"] == "reviewer_load" and load["days"] == [] and load["pending"] == 0


def test_the_reviewer_load_is_a_report_table_written_by_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reelforge report --csv DIR` writes every table the report shows, the reviewer load
    included, and the text report reads n/a (not None) where there is no time to a decision."""
    import csv

    p = bootstrap(make_settings(tmp_path), backends=[GradientBackend()])
    try:
        acct = accounts.ensure_account(p, "acme")
        fields = {"model": "gradient", "duration": 1, "fps": 8}
        held = submit_job(
            p,
            acct,
            SubmitRequest.parse(
                {**fields, "prompt": "Un gato naranja durmiendo al sol en una ventana de Sevilla"}
            ),
        ).job
        assert held["status"] == "review"
    finally:
        p.close()
    for key in [k for k in __import__("os").environ if k.startswith("RF_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "csv"
    r = CliRunner().invoke(cli_app, ["report", "--csv", str(out)])
    assert r.exit_code == 0, r.output
    assert "reviewer_load.csv" in r.output and (out / "reviewer_load.csv").exists()
    with (out / "reviewer_load.csv").open(encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["sent"], row["pending"], row["by_language"]) == ("1", "1", "es 1")
    assert row["median_seconds_to_decision"] == ""  # none decided yet: empty, as n/a is
    assert "Reviewer load" in r.stdout and "None" not in r.stdout
    assert "median n/a, p90 n/a to a decision; 1 pending" in " ".join(r.stdout.split())
