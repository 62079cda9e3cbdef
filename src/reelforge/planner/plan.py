"""One planner run, as the CLI and the admin API ask for it: replay a demand on a fleet
under a policy, optionally search the smallest fleet meeting wait targets and the price
that reaches a target margin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reelforge.app.platform import Platform
from reelforge.billing.sheet import BillingSheet
from reelforge.errors import InvalidRequest
from reelforge.planner import demand
from reelforge.planner import report as reports
from reelforge.planner.demand import Arrival
from reelforge.planner.engine import simulate
from reelforge.planner.fleet import Fleet
from reelforge.planner.policy import Policy
from reelforge.planner.profiles import ProfileBook, measured_profiles
from reelforge.planner.search import price_for_margin, smallest_fleet
from reelforge.services.billing.charges import sheet_of
from reelforge.services.ops import demand as ops_demand


def run_plan(
    demand: list[Arrival],
    fleet: Fleet,
    sheet: BillingSheet,
    policy: Policy,
    *,
    records: list[dict[str, Any]] | None = None,
    targets: dict[str, float] | None = None,
    target_margin: float | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    """The report of `demand` on `fleet` (or on the smallest fleet meeting `targets`)."""
    kinds = [d.kind for d in fleet.devices]
    book = ProfileBook(sheet, measured_profiles(records or [], kinds))

    def run(f: Fleet) -> dict[str, Any]:
        return reports.summarize(simulate(demand, f, sheet, book, policy, seed=seed), topup)

    packs = sheet.topups.packs.values()
    topup = min((pack.unit_usd for pack in packs), default=0.0)

    search: dict[str, Any] | None = None
    if targets:
        best, result, trials = smallest_fleet(run, fleet, targets)
        search = {"targets_wait_p95_s": targets, "fleet": best.counts(), "trials": trials}
    else:
        result = run(fleet)
    result["demand"] = {
        "arrivals": len(demand),
        "hours": round((demand[-1].at - demand[0].at) / 3600, 2) if demand else 0.0,
        "plans": sorted({a.plan for a in demand}),
        "families": sorted({a.family for a in demand}),
    }
    result["profiles"] = book.rows({a.family for a in demand}, {a.resolution for a in demand})
    result["billing_sheet"] = sheet.version
    if search is not None:
        result["search"] = search
    if target_margin is not None:
        result["pricing"] = price_for_margin(result, target_margin)
        result["pricing_fleet"] = price_for_margin(result, target_margin, fleet=True)
    return result


DEMAND_SOURCES = ("population", "simulated", "jobs")


def demand_from(
    p: Platform,
    source: str,
    *,
    users: int = 1000,
    days: int = 90,
    seed: int = 1,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Arrival]:
    """A demand from the simulator's population model (no database), or from the
    platform's job records: `simulated` (a `reelforge simulate` run) or `jobs` (real)."""
    if source == "population":
        return demand.from_population(users, days, seed)
    if source not in DEMAND_SOURCES:
        raise InvalidRequest(
            f"a demand comes from a CSV file or one of: {', '.join(DEMAND_SOURCES)}",
            code="invalid_demand",
            field="demand",
        )
    rows = ops_demand.arrivals(p, simulated=source == "simulated", since=since, until=until)
    if not rows:
        raise InvalidRequest(
            f"there are no {'simulated ' if source == 'simulated' else ''}jobs to replay "
            f"(run `reelforge simulate` first, or give a CSV)",
            code="empty_demand",
        )
    return demand.parse_csv(demand.rows_to_csv(rows))


def plan_for(
    p: Platform,
    arrivals: list[Arrival],
    fleet: Fleet,
    policy: Policy,
    *,
    measured: bool = True,
    targets: dict[str, float] | None = None,
    target_margin: float | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    """run_plan with the platform's billing sheet and, where it has measured jobs, their
    timings (real jobs only: simulated ones were timed from the cited profiles)."""
    records = ops_demand.device_records(p) if measured else []
    return run_plan(
        arrivals,
        fleet,
        sheet_of(p),
        policy,
        records=records,
        targets=targets,
        target_margin=target_margin,
        seed=seed,
    )
