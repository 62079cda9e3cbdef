"""Searches over planner runs: the smallest fleet that meets a wait target per plan, and the
price multiplier that reaches a target margin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reelforge.errors import InvalidRequest
from reelforge.planner.fleet import MAX_DEVICES, Fleet

Run = Callable[[Fleet], dict[str, Any]]


def meets(report: dict[str, Any], targets: dict[str, float]) -> bool:
    """Every targeted plan's p95 wait is within its target and nothing was lost to a
    timeout or left unserved."""
    plans = report["plans"]
    if report["totals"]["lost_to_timeout"] or report["totals"]["unserved"]:
        return False
    return all(
        plans[name]["wait_p95_s"] <= limit for name, limit in targets.items() if name in plans
    )


def smallest_fleet(
    run: Run, fleet: Fleet, targets: dict[str, float], *, max_devices: int = 512
) -> tuple[Fleet, dict[str, Any], list[dict[str, Any]]]:
    """Double every kind's count (at least one each) until the targets are met, then
    shrink one kind at a time by bisection while they stay met. Returns the fleet, its
    report and the trial log (counts → met)."""
    if not targets:
        raise InvalidRequest("give at least one wait target (plan=seconds)", code="invalid_target")
    trials: list[dict[str, Any]] = []

    def trial(counts: dict[str, int]) -> tuple[bool, dict[str, Any]]:
        report = run(fleet.with_counts(counts))
        ok = meets(report, targets)
        trials.append({"counts": dict(counts), "met": ok, "margin": report["totals"]["margin"]})
        return ok, report

    counts = {k: max(1, c) for k, c in fleet.counts().items()}
    ok, _ = trial(counts)
    while not ok:
        if sum(counts.values()) * 2 > min(max_devices, MAX_DEVICES):
            raise InvalidRequest(
                f"no fleet of up to {max_devices} devices meets the targets "
                f"(last tried {counts}); relax the targets or add device kinds",
                code="targets_unreachable",
            )
        counts = {k: c * 2 for k, c in counts.items()}
        ok, _ = trial(counts)
    for kind in list(counts):
        lo, hi = 0, counts[kind]  # hi meets; find the smallest that still does
        while hi - lo > 1:
            mid = (lo + hi) // 2
            ok_mid, _ = trial({**counts, kind: mid})
            if ok_mid:
                hi = mid
            else:
                lo = mid
        if hi != counts[kind]:
            counts[kind] = hi
    best = fleet.with_counts(counts)
    return best, run(best), trials


def price_for_margin(
    report: dict[str, Any], target: float, *, fleet: bool = False
) -> dict[str, Any]:
    """The multiplier on what a credit earns (or on every price in credits per second) that
    makes revenue earn `target` margin on the run's cost (jobs' device time; with `fleet`,
    the whole fleet's time, idle included), overall and per paid plan, demand held equal:
    a first-order answer (a dearer clip may sell less)."""
    if not -1 < target < 1:
        raise InvalidRequest("a target margin lies between -1 and 1", code="invalid_target")

    def factor(revenue: float, cost: float) -> float | None:
        return None if revenue <= 0 else cost / ((1 - target) * revenue)

    totals = report["totals"]
    key = "fleet_cost_usd" if fleet else "cost_usd"
    overall = factor(totals["revenue_usd"], totals[key])
    per_plan = {
        name: (None if (f := factor(p["revenue_usd"], p[key])) is None else round(f, 4))
        for name, p in report["plans"].items()
        if p["revenue_usd"] > 0
    }
    return {
        "target_margin": target,
        "on": "fleet cost (idle included)" if fleet else "job cost",
        "price_multiplier": None if overall is None else round(overall, 4),
        "per_plan": per_plan,
        "note": "multiply prices.per_second (or divide each plan's credits per dollar) by this",
    }
