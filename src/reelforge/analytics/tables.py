"""The KPI report as tables: one list of rows per table with typed columns, shown by
`reelforge report` and written by `reelforge report --csv DIR` (one CSV per table), so the
screen and the files always hold the same figures. Cells keep raw values (money in USD to 6
decimals, shares as fractions); `cell_text` formats them the one way the report shows money
(reelforge.domain.money.usd_text, the rule every surface follows) and shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reelforge.analytics.records import pct_text, usd_text

# column kinds: text, int, usd (amounts: $1,234.56), usd_each (unit prices, per generation:
# $0.0687), share, bool
KINDS = ("text", "int", "usd", "usd_each", "share", "bool")


@dataclass(frozen=True)
class Column:
    name: str  # the CSV header
    title: str  # the heading on screen
    kind: str = "text"


@dataclass
class ReportTable:
    name: str  # the CSV file is NAME.csv
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    caption: str | None = None


def cell_text(kind: str, value: Any) -> str:
    """A cell as the report shows it."""
    if value is None:
        return "n/a"
    if kind == "usd":
        return usd_text(value)
    if kind == "usd_each":
        return usd_text(value, unit=True)
    if kind == "share":
        return pct_text(value)
    if kind == "bool":
        return "yes" if value else "no"
    return str(value)


def _c(name: str, kind: str = "text", title: str | None = None) -> Column:
    return Column(name, title or name.replace("_", " "), kind)


def report_tables(r: dict[str, Any]) -> list[ReportTable]:
    """Every table of the KPI report `r` (as `kpis.kpi_report` returns it)."""
    tables: list[ReportTable] = []

    avg = r["average_generation_cost_usd"]
    t = ReportTable(
        "average_cost",
        f"Average cost per generation: {usd_text(avg['overall'], unit=True)}",
        [
            _c("group"),
            _c("key"),
            _c("generations", "int"),
            _c("mean_cost_usd", "usd_each", "mean cost"),
            _c("total_cost_usd", "usd", "total cost"),
        ],
    )
    for group in ("model", "plan", "resolution"):
        for key, v in avg[f"by_{group}"].items():
            t.rows.append([group, key, v["generations"], v["mean_usd"], v["cost_usd"]])
    tables.append(t)

    m = r["margins"]
    t = ReportTable(
        "margins",
        f"Margins: cash {pct_text(m['cash']['margin'])}, credit value "
        f"{pct_text(m['credit_value']['margin'])}",
        [
            _c("plan"),
            _c("cash_received_usd", "usd", "cash received"),
            _c("cost_usd", "usd", "all cost"),
            _c("cash_margin_usd", "usd", "cash margin"),
            _c("cash_margin", "share", "cash margin %"),
            _c("credit_value_usd", "usd", "credits consumed, value"),
            _c("generation_cost_usd", "usd", "generation cost"),
            _c("credit_value_margin_usd", "usd", "credit-value margin"),
            _c("credit_value_margin", "share", "credit-value margin %"),
        ],
        caption=m["reconciliation"]["text"],
    )
    for key, v in [*m["by_plan"].items(), ("all", m)]:
        cash, cv = v["cash"], v["credit_value"]
        t.rows.append(
            [
                key,
                cash["revenue_usd"],
                cash["cost_usd"],
                cash["margin_usd"],
                cash["margin"],
                cv["revenue_usd"],
                cv["cost_usd"],
                cv["margin_usd"],
                cv["margin"],
            ]
        )
    tables.append(t)

    gm = r["gross_margin"]
    t = ReportTable(
        "gross_margin",
        f"Gross margin per generation (credit value): {pct_text(gm['margin'])}",
        [
            _c("plan"),
            _c("generations", "int"),
            _c("credit_value_usd", "usd", "credits consumed, value"),
            _c("cost_usd", "usd", "generation cost"),
            _c("margin_usd", "usd", "margin"),
            _c("margin", "share", "margin %"),
            _c("margin_per_generation_usd", "usd_each", "margin/generation"),
        ],
    )
    for key, v in [*gm["by_plan"].items(), ("all", gm)]:
        t.rows.append(_gross_margin_row(key, v))
    tables.append(t)

    # the same by model: a hosted provider's model beside local ones (its price is its cost)
    t = ReportTable(
        "gross_margin_by_model",
        f"Gross margin per generation by model (credit value): {pct_text(gm['margin'])}",
        [_c("model"), *t.columns[1:]],  # the by-plan table's columns, keyed by model
    )
    for key, v in [*gm["by_model"].items(), ("all", gm)]:
        t.rows.append(_gross_margin_row(key, v))
    tables.append(t)

    waste = r["compute_waste"]
    t = ReportTable(
        "compute_waste",
        f"Compute waste: {usd_text(waste['usd'])} ({pct_text(waste['share'])})",
        [
            _c("cause"),
            _c("jobs", "int"),
            _c("cost_usd", "usd", "cost"),
            _c("share", "share", "share of all cost"),
        ],
    )
    for cause, v in waste["by_cause"].items():
        t.rows.append([cause, v["jobs"], v["usd"], v["share"]])
    tables.append(t)

    rev = r["revenue_usd"]
    t = ReportTable(
        "revenue",
        f"Revenue: {usd_text(rev['total'])} from {rev['payments']} payments",
        [_c("by"), _c("key"), _c("revenue_usd", "usd", "revenue")],
        caption=f"ARPPU {usd_text(r['arppu_usd'])} over {r['paying_accounts']} "
        "paying accounts; a payment counts under the plan that paid it",
    )
    for group in ("kind", "plan"):
        for key, value in rev[f"by_{group}"].items():
            t.rows.append([group, key, value])
    tables.append(t)

    c = r["free_to_paid_conversion"]
    t = ReportTable(
        "conversion",
        "Free-to-paid conversion",
        [_c("measure"), _c("converted", "int"), _c("of", "int"), _c("share", "share")],
    )
    t.rows += [
        ["within 30 days of signup", c["converted_30d"], c["signups"], c["share_30d"]],
        [
            "within 30 days (30 days passed)",
            c["matured_converted_30d"],
            c["matured_signups"],
            c["matured_share_30d"],
        ],
        ["by the end of the window", c["converted"], c["signups"], c["share"]],
    ]
    tables.append(t)

    t = ReportTable(
        "retention",
        "Retention",
        [
            _c("day"),
            _c("retained", "int"),
            _c("eligible", "int", "eligible signups"),
            _c("share", "share"),
        ],
    )
    for day, v in r["retention"].items():
        t.rows.append([day.upper(), v["retained"], v["eligible"], v["share"]])
    tables.append(t)

    t = ReportTable(
        "weekly_cohorts",
        "Weekly signup cohorts",
        [
            _c("week"),
            _c("signups", "int"),
            _c("converted", "int"),
            _c("converted_share", "share", "converted %"),
            _c("active_week_1", "share", "active week 1"),
            _c("active_week_2", "share", "week 2"),
            _c("active_week_4", "share", "week 4"),
        ],
    )
    for row in r["weekly_cohorts"]:
        t.rows.append(
            [
                row["week"],
                row["signups"],
                row["converted"],
                row["converted_share"],
                row["active_week_1"],
                row["active_week_2"],
                row["active_week_4"],
            ]
        )
    tables.append(t)

    t = ReportTable(
        "segments",
        "Segment shares",
        [
            _c("segment"),
            _c("generations", "int"),
            _c("generations_share", "share", "share"),
            _c("cost_usd", "usd", "cost"),
            _c("cost_share", "share", "share"),
        ],
    )
    for name, key in (("enterprise", "enterprise_share"), ("commerce", "commerce_share")):
        v = r[key]
        t.rows.append(
            [name, v["generations"], v["generations_share"], v["cost_usd"], v["cost_share"]]
        )
    tables.append(t)

    c = r.get("commerce_usage")  # promo clips of commerce batches (services/billing/reports)
    if c is not None:
        t = ReportTable(
            "commerce",
            f"Commerce clips: {c['clips']} ({pct_text(c['generations_share'])} of generations, "
            f"{pct_text(c['cost_share'])} of cost, {pct_text(c['revenue_share'])} of revenue)",
            [
                _c("kind"),
                _c("key"),
                _c("clips", "int"),
                _c("share", "share"),
                _c("cost_usd", "usd", "cost"),
                _c("revenue_usd", "usd", "revenue"),
            ],
        )
        for name, m in c["template_mix"].items():
            t.rows.append(["template", name, m["clips"], m["share"], None, None])
        for row in c["per_sku"]:
            t.rows.append(
                ["sku", row["sku"], row["clips"], None, row["cost_usd"], row["revenue_usd"]]
            )
        tables.append(t)

    v = r["verdict"]
    t = ReportTable(
        "verdict",
        "Verdict",
        [
            _c("plan"),
            _c("pays_for_itself", "bool", "pays for itself"),
            _c("cash_received_usd", "usd", "cash received"),
            _c("cost_usd", "usd", "all cost"),
            _c("cash_margin", "share"),
            _c("credit_value_usd", "usd", "credits consumed, value"),
            _c("generation_cost_usd", "usd", "generation cost"),
            _c("credit_value_margin", "share"),
            _c("text"),
        ],
    )
    for key, e in [*v["by_plan"].items(), ("overall", v["overall"])]:
        t.rows.append(
            [
                key,
                e["pays_for_itself"],
                e["revenue_usd"],
                e["cost_usd"],
                e["margin"],
                e["credit_value_usd"],
                e["generation_cost_usd"],
                e["credit_value_margin"],
                e["text"],
            ]
        )
    tables.append(t)

    load = r.get("reviewer_load")  # what `reelforge report` adds (services/governance)
    if load is not None:
        t = ReportTable(
            "reviewer_load",
            "Reviewer load",
            [
                _c("day"),
                _c("sent", "int"),
                _c("appeals", "int"),
                _c("by_language", title="by language"),
                _c("by_category", title="by category"),
                _c("pending", "int"),
                _c("median_seconds_to_decision", "int", "median s to decision"),
            ],
            caption=f"median {_seconds(load['median_seconds_to_decision'])}, "
            f"p90 {_seconds(load['p90_seconds_to_decision'])} to a decision; "
            f"{load['pending']} pending",
        )
        for d in load["days"]:
            t.rows.append(
                [
                    d["day"],
                    d["sent"],
                    d["appeals"],
                    _counts(d["by_language"]),
                    _counts(d["by_category"]),
                    d["pending"],
                    d["median_seconds_to_decision"],
                ]
            )
        tables.append(t)
    return tables


def _gross_margin_row(key: str, v: dict[str, Any]) -> list[Any]:
    return [
        key,
        v["generations"],
        v["revenue_usd"],
        v["cost_usd"],
        v["margin_usd"],
        v["margin"],
        v["margin_per_generation_usd"],
    ]


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} s"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"
