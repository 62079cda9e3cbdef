"""`reelforge report`: the KPI report (unit economics, revenue, conversion, retention)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from reelforge.cli.common import JsonOpt, err, fail, out, platform, print_json
from reelforge.errors import InvalidRequest, ReelforgeError
from reelforge.services.billing import reports
from reelforge.services.governance import review_load

SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="First day (YYYY-MM-DD, UTC) of the window; default: all data."),
]
UntilOpt = Annotated[
    str | None,
    typer.Option("--until", help="End of the window (YYYY-MM-DD, UTC), exclusive; default: now."),
]
SimulatedOpt = Annotated[
    bool,
    typer.Option(
        "--simulated", help="Report on the simulated data (`reelforge simulate`) instead."
    ),
]


CsvOpt = Annotated[
    Path | None,
    typer.Option(
        "--csv",
        help="Also write each table as DIR/NAME.csv (raw values: USD, shares as fractions).",
        metavar="DIR",
    ),
]


def report(
    since: SinceOpt = None,
    until: UntilOpt = None,
    simulated: SimulatedOpt = False,
    as_json: JsonOpt = False,
    csv_dir: CsvOpt = None,
) -> None:
    """KPIs: cost per generation, cash and credit-value margins (reconciled), waste,
    revenue, ARPPU, conversion, retention, weekly cohorts, segment shares and whether each
    plan pays for itself."""
    with platform() as p:
        window = reports.parse_when(since, "since"), reports.parse_when(until, "until")
        body = reports.kpi_report(p, since=window[0], until=window[1], simulated=simulated)
        # the cost side of the review band and of language routing (issue 17)
        body["reviewer_load"] = review_load.reviewer_load(p, since=window[0], until=window[1])
    if csv_dir is not None:
        try:
            written = reports.write_csv(body, csv_dir)
        except ReelforgeError as exc:
            raise fail(exc) from None
        except OSError as exc:
            raise fail(
                InvalidRequest(
                    f"cannot write the CSV files to {csv_dir}: {exc.strerror or exc}", field="csv"
                )
            ) from None
        err.print(
            f"wrote {len(written)} tables to {csv_dir}: " + ", ".join(w.name for w in written),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if as_json:
        print_json(body)
    else:
        show(body)


def _table(t: reports.ReportTable) -> Table:
    table = Table(
        *(c.title for c in t.columns),
        title=escape(t.title),
        caption=escape(t.caption) if t.caption else None,
    )
    for row in t.rows:
        table.add_row(
            *(escape(reports.cell_text(c.kind, v)) for c, v in zip(t.columns, row, strict=True))
        )
    return table


def show(r: dict[str, Any]) -> None:
    w = r["window"]
    if r.get("hint"):
        err.print(
            f"hint: {r['hint']}", style="yellow", highlight=False, markup=False, soft_wrap=True
        )
    out.print(
        f"[bold]KPI report[/] ({r['data']} data, price sheet "
        f"{escape(str(r['price_sheet']))}): {w['since'] or 'start'} → "
        f"{w['until'] or 'now'}; {r['generations']} generations, all cost "
        f"{reports.cell_text('usd', r['total_cost_usd'])}",
        highlight=False,
    )
    for t in reports.report_tables(r):  # the tables --csv writes, in the same order
        if t.name == "verdict":
            _show_verdict(r)
        else:
            out.print(_table(t))


def _show_verdict(r: dict[str, Any]) -> None:
    """The verdict per plan and overall, and the line reconciling the two margins."""
    out.print("[bold]Verdict[/] (cash margin decides; credit-value margin beside it)")
    for v in r["verdict"]["by_plan"].values():
        out.print(f"  {escape(v['text'])}", highlight=False, soft_wrap=True)
    out.print(
        f"  [bold]{escape(r['verdict']['overall']['text'])}[/]", highlight=False, soft_wrap=True
    )
    out.print(
        f"  {escape(r['margins']['reconciliation']['text'])}", highlight=False, soft_wrap=True
    )
