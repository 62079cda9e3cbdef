"""`reelforge report`: the KPI report (unit economics, revenue, conversion, retention)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from reelforge.cli.common import JsonOpt, out, platform, print_json
from reelforge.services import reports

SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="First day (YYYY-MM-DD, UTC) of the window; default: all data.")]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", help="End of the window (YYYY-MM-DD, UTC), exclusive; default: now.")]
SimulatedOpt = Annotated[bool, typer.Option(
    "--simulated", help="Report on the simulated data (`reelforge simulate`) instead.")]


def report(since: SinceOpt = None, until: UntilOpt = None, simulated: SimulatedOpt = False,
           as_json: JsonOpt = False) -> None:
    """KPIs: cost and margin per generation, waste, revenue, ARPPU, conversion, retention,
    weekly cohorts, segment shares and whether each plan pays for itself."""
    with platform() as p:
        body = reports.kpi_report(p, since=reports.parse_when(since, "since"),
                                  until=reports.parse_when(until, "until"),
                                  simulated=simulated)
    if as_json:
        print_json(body)
    else:
        show(body)


def _usd(x: float | None) -> str:
    if x is None:
        return "-"
    sign = "-" if x < 0 else ""
    return f"{sign}${abs(x):,.6f}" if abs(x) < 1 else f"{sign}${abs(x):,.2f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def show(r: dict[str, Any]) -> None:
    w = r["window"]
    out.print(f"[bold]KPI report[/] ({r['data']} data, price sheet {r['price_sheet']}): "
              f"{w['since'] or 'start'} → {w['until'] or 'now'}; "
              f"{r['generations']} generations, cost {_usd(r['total_cost_usd'])}")

    avg = r["average_generation_cost_usd"]
    t = Table("group", "key", "generations", "mean cost", "total cost",
              title=f"Average cost per generation: {_usd(avg['overall'])}")
    for group in ("model", "plan", "resolution"):
        for key, v in avg[f"by_{group}"].items():
            t.add_row(group, key, str(v["generations"]), _usd(v["mean_usd"]),
                      _usd(v["cost_usd"]))
    out.print(t)

    gm = r["gross_margin"]
    t = Table("plan", "generations", "revenue", "cost", "margin", "margin/generation",
              title=f"Gross margin per generation: {_pct(gm['margin'])}")
    for key, v in [*gm["by_plan"].items(), ("all", gm)]:
        t.add_row(key, str(v["generations"]), _usd(v["revenue_usd"]), _usd(v["cost_usd"]),
                  _pct(v["margin"]), _usd(v["margin_per_generation_usd"]))
    out.print(t)

    waste = r["compute_waste"]
    t = Table("cause", "jobs", "cost", "share of all cost",
              title=f"Compute waste: {_usd(waste['usd'])} ({_pct(waste['share'])})")
    for cause, v in waste["by_cause"].items():
        t.add_row(cause, str(v["jobs"]), _usd(v["usd"]), _pct(v["share"]))
    out.print(t)

    rev = r["revenue_usd"]
    t = Table("by", "key", "revenue",
              title=f"Revenue: {_usd(rev['total'])} from {rev['payments']} payments",
              caption=f"ARPPU {_usd(r['arppu_usd'])} over {r['paying_accounts']} paying "
                      f"accounts")
    for group in ("kind", "plan"):
        for key, v in rev[f"by_{group}"].items():
            t.add_row(group, key, _usd(v))
    out.print(t)

    c = r["free_to_paid_conversion"]
    t = Table("measure", "converted", "of", "share", title="Free-to-paid conversion")
    t.add_row("within 30 days of signup", str(c["converted_30d"]), str(c["signups"]),
              _pct(c["share_30d"]))
    t.add_row("within 30 days (30 days passed)", str(c["matured_converted_30d"]),
              str(c["matured_signups"]), _pct(c["matured_share_30d"]))
    t.add_row("by the end of the window", str(c["converted"]), str(c["signups"]),
              _pct(c["share"]))
    out.print(t)

    t = Table("day", "retained", "eligible signups", "share", title="Retention")
    for day, v in r["retention"].items():
        t.add_row(day.upper(), str(v["retained"]), str(v["eligible"]), _pct(v["share"]))
    out.print(t)

    t = Table("week", "signups", "converted", "active week 1", "week 2", "week 4",
              title="Weekly signup cohorts")
    for row in r["weekly_cohorts"]:
        t.add_row(row["week"], str(row["signups"]),
                  f"{row['converted']} ({_pct(row['converted_share'])})",
                  _pct(row["active_week_1"]), _pct(row["active_week_2"]),
                  _pct(row["active_week_4"]))
    out.print(t)

    t = Table("segment", "generations", "share", "cost", "share", title="Segment shares")
    for name, key in (("enterprise", "enterprise_share"), ("commerce", "commerce_share")):
        v = r[key]
        t.add_row(name, str(v["generations"]), _pct(v["generations_share"]),
                  _usd(v["cost_usd"]), _pct(v["cost_share"]))
    out.print(t)

    out.print("[bold]Verdict[/]")
    for v in r["verdict"]["by_plan"].values():
        out.print(f"  {escape(v['text'])}", highlight=False)
    out.print(f"  [bold]{escape(r['verdict']['overall']['text'])}[/]", highlight=False)
