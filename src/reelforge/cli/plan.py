"""`reelforge plan`: replay a demand on a modelled fleet (planner/) and print the wait per
plan, cost per clip, margin per plan and the fleet's utilisation; optionally the smallest
fleet meeting wait targets and the price reaching a target margin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from reelforge.cli.common import JsonOpt, err, fail, out, platform, print_json
from reelforge.domain.money import usd_text
from reelforge.errors import InvalidRequest, ReelforgeError
from reelforge.planner import demand as demands
from reelforge.planner.fleet import read_fleet
from reelforge.planner.plan import DEMAND_SOURCES, demand_from, plan_for
from reelforge.planner.policy import POLICIES, load_policy


def _targets(values: list[str]) -> dict[str, float]:
    targets: dict[str, float] = {}
    for value in values:
        name, sep, seconds = value.partition("=")
        try:
            targets[name.strip()] = float(seconds)
        except ValueError:
            sep = ""
        if not sep or not name.strip() or targets.get(name.strip(), -1) < 0:
            raise fail(
                InvalidRequest(
                    f"--target takes PLAN=SECONDS (e.g. pro=120), not {value!r}",
                    code="invalid_target",
                )
            )
    return targets


def plan(
    demand: Annotated[
        str | None,
        typer.Option(
            "--demand",
            help="CSV of arrivals (at, model, resolution, duration; optional account, plan, "
            f"family, preset, cache_hit, cancel_after), or one of {', '.join(DEMAND_SOURCES)}.",
        ),
    ] = None,
    fleet: Annotated[
        Path | None, typer.Option("--fleet", help="Fleet file (YAML or JSON): device kinds.")
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option("--policy", help=f"{', '.join(POLICIES)}, or a YAML file of policy fields."),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target", help="PLAN=SECONDS: search the smallest fleet meeting this p95 wait."
        ),
    ] = None,
    target_margin: Annotated[
        float | None,
        typer.Option("--target-margin", help="Also give the price reaching this margin (0.3)."),
    ] = None,
    users: Annotated[int, typer.Option("--users", help="--demand population: users.")] = 1000,
    days: Annotated[int, typer.Option("--days", help="--demand population: days.")] = 90,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same run.")] = 1,
    measured: Annotated[
        bool,
        typer.Option(
            "--measured/--cited", help="Use this platform's measured job timings where it has some."
        ),
    ] = True,
    save_demand: Annotated[
        Path | None, typer.Option("--save-demand", help="Write the demand replayed as CSV.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve a demand on a modelled fleet: wait per plan, cost per clip, margin, utilisation."""
    if demand is None or fleet is None:
        raise fail(
            InvalidRequest(
                "give --demand (a CSV file or population, simulated, jobs) and --fleet FILE",
                code="missing_argument",
            )
        )
    try:
        chosen = load_policy(policy)
        fleet_model = read_fleet(fleet)
        targets = _targets(target or [])
    except ReelforgeError as exc:
        raise fail(exc) from None
    with platform() as p:
        if demand in DEMAND_SOURCES:
            arrivals = demand_from(p, demand, users=users, days=days, seed=seed)
        else:
            arrivals = demands.read_csv(Path(demand))
        if not arrivals:
            raise fail(InvalidRequest("the demand holds no arrivals", code="empty_demand"))
        if save_demand is not None:
            save_demand.write_text(demands.to_csv(arrivals), encoding="utf-8")
        with err.status(f"replaying {len(arrivals)} arrivals"):
            result = plan_for(
                p,
                arrivals,
                fleet_model,
                chosen,
                measured=measured,
                targets=targets or None,
                target_margin=target_margin,
                seed=seed,
            )
    if as_json:
        print_json(result)
        return
    show(result)


def _money(x: Any, unit: bool = False) -> str:
    """Money as `reelforge report` shows it (reelforge.domain.money); `unit` for $/clip."""
    return "—" if x is None else usd_text(x, unit=unit)


def _pct(x: Any) -> str:
    return "—" if x is None else f"{x * 100:.1f} %"


def show(r: dict[str, Any]) -> None:
    d = r["demand"]
    out.print(
        f"[bold]{d['arrivals']}[/] arrivals over {d['hours']} h, policy "
        f"[bold]{r['policy']['name']}[/], billing sheet {r['billing_sheet']}",
        highlight=False,
    )
    t = Table(
        "plan",
        "clips",
        "wait p50/p95",
        "$/clip",
        "revenue",
        "margin",
        "fleet",
        "lost",
        title="per plan (margin on job cost; fleet: idle time included)",
    )
    for name, pl in r["plans"].items():
        lost = pl["lost_to_timeout"] + pl["refused_queue_full"] + pl["refused_no_credits"]
        t.add_row(
            name,
            str(pl["completed"]),
            f"{pl['wait_p50_s']:.0f}/{pl['wait_p95_s']:.0f} s",
            _money(pl["cost_per_clip_usd"], unit=True),
            _money(pl["revenue_usd"]),
            _pct(pl["margin"]),
            _pct(pl["fleet_margin"]),
            str(lost),
        )
    out.print(t)
    f = Table("device", "peak", "device h", "busy h", "utilisation", title="fleet")
    for kind, k in r["devices"].items():
        f.add_row(
            kind,
            str(k["peak"]),
            f"{k['device_hours']:.1f}",
            f"{k['busy_hours']:.1f}",
            _pct(k["utilisation"]),
        )
    out.print(f)
    tot = r["totals"]
    out.print(
        f"revenue {_money(tot['revenue_usd'])}, job cost {_money(tot['cost_usd'])} (margin "
        f"{_pct(tot['margin'])}), fleet cost {_money(tot['fleet_cost_usd'])} (margin "
        f"{_pct(tot['fleet_margin'])}); lost to timeouts {tot['lost_to_timeout']}",
        highlight=False,
    )
    if "search" in r:
        s = r["search"]
        out.print(
            f"smallest fleet meeting {s['targets_wait_p95_s']}: {s['fleet']} "
            f"({len(s['trials'])} runs)",
            highlight=False,
        )
    for key in ("pricing", "pricing_fleet"):
        if key in r:
            pr = r[key]
            out.print(
                f"to earn {_pct(pr['target_margin'])} on {pr['on']}: what a credit earns "
                f"x {pr['price_multiplier']} (per plan: {pr['per_plan']})",
                highlight=False,
            )
