"""The operator console's KPI dashboard: the KPI report (reports.kpi_report) and its figures
over time (analytics.trends), as one table per chart. Each table is what its chart draws and
what its CSV download holds: raw values (USD to 6 decimals, shares as fractions, empty for
n/a), the same conventions as `reelforge report --csv`; the page shows money as the report
does (a column's kind: usd for amounts, usd_each for unit prices, reelforge.domain.money)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reelforge.analytics import trends
from reelforge.app.platform import Platform
from reelforge.errors import NotFound
from reelforge.services.accounts.accounts import INTERNAL_PLAN
from reelforge.services.billing import reports

# the dashboard's tables, in the order the page shows them (each is NAME.csv)
CHARTS = (
    "conversion_funnel",
    "cost_over_time",
    "gross_margin_by_plan",
    "cohort_retention",
    "segment_shares",
    "waste_by_cause",
    "revenue_by_source",
)


@dataclass
class ChartTable:
    name: str
    columns: list[tuple[str, str]]  # (CSV header, kind: text | int | usd | usd_each | share)
    rows: list[list[Any]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": [{"name": n, "kind": k} for n, k in self.columns],
            "rows": self.rows,
        }


def kpi_dashboard(
    p: Platform,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    simulated: bool = False,
) -> dict[str, Any]:
    """The report's window, data kind and hint, and every chart's table."""
    report, rows = reports.kpi_report_and_rows(p, since=since, until=until, simulated=simulated)
    now = p.clock()
    excluded = (INTERNAL_PLAN,)
    cost = trends.cost_over_time(
        accounts=rows["accounts"],
        usage=rows["usage"],
        now=now,
        since=since,
        until=until,
        exclude_plans=excluded,
    )
    cohorts = trends.cohort_retention(
        accounts=rows["accounts"],
        jobs=rows["jobs"],
        now=now,
        since=since,
        until=until,
        exclude_plans=excluded,
    )
    tables = [
        _funnel(report),
        ChartTable(
            "cost_over_time",
            [
                ("week", "text"),
                ("week_start", "text"),
                ("model", "text"),
                ("generations", "int"),
                ("mean_cost_usd", "usd_each"),
                ("cost_usd", "usd"),
            ],
            [list(r) for r in cost["rows"]],
        ),
        _gross_margin(report),
        ChartTable(
            "cohort_retention",
            [
                ("week", "text"),
                ("signups", "int"),
                ("d1", "share"),
                ("d7", "share"),
                ("d30", "share"),
            ],
            [
                [c["week"], c["signups"], c["d1"]["share"], c["d7"]["share"], c["d30"]["share"]]
                for c in cohorts
            ],
        ),
        _segments(report),
        _waste(report),
        _revenue(report),
    ]
    return {
        "data": report["data"],
        "window": report["window"],
        "hint": report["hint"],
        "generations": report["generations"],
        "total_cost_usd": report["total_cost_usd"],
        "revenue_usd": report["revenue_usd"]["total"],
        "tables": [t.view() for t in tables],
    }


def _funnel(r: dict[str, Any]) -> ChartTable:
    c = r["free_to_paid_conversion"]
    signups = c["signups"]
    t = ChartTable(
        "conversion_funnel", [("stage", "text"), ("accounts", "int"), ("share", "share")]
    )
    for stage, n in (
        ("free_signups", signups),
        ("paid_by_end", c["converted"]),
        ("paid_within_30_days", c["converted_30d"]),
    ):
        t.rows.append([stage, n, round(n / signups, 4) if signups else None])
    return t


def _gross_margin(r: dict[str, Any]) -> ChartTable:
    gm = r["gross_margin"]
    t = ChartTable(
        "gross_margin_by_plan",
        [
            ("plan", "text"),
            ("generations", "int"),
            ("credit_value_usd", "usd"),
            ("cost_usd", "usd"),
            ("margin_usd", "usd"),
            ("margin", "share"),
        ],
    )
    for plan, v in gm["by_plan"].items():
        t.rows.append(
            [
                plan,
                v["generations"],
                v["revenue_usd"],
                v["cost_usd"],
                v["margin_usd"],
                v["margin"],
            ]
        )
    return t


def _segments(r: dict[str, Any]) -> ChartTable:
    t = ChartTable(
        "segment_shares",
        [
            ("segment", "text"),
            ("generations", "int"),
            ("generations_share", "share"),
            ("cost_usd", "usd"),
            ("cost_share", "share"),
        ],
    )
    for name, key in (("enterprise", "enterprise_share"), ("commerce", "commerce_share")):
        v = r[key]
        t.rows.append(
            [name, v["generations"], v["generations_share"], v["cost_usd"], v["cost_share"]]
        )
    return t


def _waste(r: dict[str, Any]) -> ChartTable:
    t = ChartTable(
        "waste_by_cause",
        [("cause", "text"), ("jobs", "int"), ("cost_usd", "usd"), ("share", "share")],
    )
    for cause, v in r["compute_waste"]["by_cause"].items():
        t.rows.append([cause, v["jobs"], v["usd"], v["share"]])
    return t


def _revenue(r: dict[str, Any]) -> ChartTable:
    t = ChartTable("revenue_by_source", [("source", "text"), ("revenue_usd", "usd")])
    for kind, value in r["revenue_usd"]["by_kind"].items():
        t.rows.append([kind, value])
    return t


def chart_csv(dashboard: dict[str, Any], name: str) -> str:
    """One chart's table as CSV (header, then rows; text a spreadsheet would run as a
    formula gets a leading apostrophe, as in `reelforge report --csv`)."""
    table = next((t for t in dashboard["tables"] if t["name"] == name), None)
    if table is None:
        raise NotFound(f"no chart {name!r}; one of {', '.join(CHARTS)}", code="not_found")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c["name"] for c in table["columns"]])
    for row in table["rows"]:
        writer.writerow(["" if v is None else reports._csv_cell(v) for v in row])
    return out.getvalue()
