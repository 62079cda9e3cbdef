"""Figures from a planner run: per plan (wait p50/p95, clips, device-hours, cost per clip,
revenue, margin), the fleet (device-hours, utilisation, over time) and what was lost.

Revenue: each account on a subscription plan pays the plan's price prorated over the part of
the demand's window it was on the plan (from its first request on the plan to the end), and
buys credits it uses beyond the plan's allowance for that time as top-ups at the best pack
price; postpaid (enterprise) accounts pay their credits at the plan's credit price; free
pays nothing.

Cost and margin as the KPI report counts them: each job's device seconds at its device's
hourly price (failed work included: it is waste), margin = (revenue - cost) / revenue.
The fleet view adds the idle time: every device-hour the fleet was up, shared among plans in
proportion to the device seconds their jobs used (fleet_cost_usd, fleet_margin)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from reelforge.planner.engine import Outcome, SimDevice, SimJob
from reelforge.planner.profiles import quantile

BUCKET_S = 3600.0


def _round(x: float, n: int = 4) -> float:
    return round(x, n) if math.isfinite(x) else x


MONTH_S = 30 * 86400.0


def revenue_by_plan(out: Outcome, topup_unit_usd: float) -> dict[str, float]:
    first: dict[tuple[str, str], float] = {}
    used: dict[tuple[str, str], int] = defaultdict(int)
    plans = {}
    for j in out.jobs:
        key = (j.arrival.account, j.plan.name)
        plans[j.plan.name] = j.plan
        first[key] = min(first.get(key, j.submitted), j.submitted)
        if j.state in ("succeeded", "cached"):  # failed, cancelled and lost work is free
            used[key] += j.credits
    revenue: dict[str, float] = defaultdict(float)
    for (account, name), since in first.items():
        plan = plans[name]
        credits = used[(account, name)]
        if plan.postpaid:
            revenue[name] += credits * (plan.credit_usd or 0.0)
            continue
        months = max(0.0, out.end - since) / MONTH_S
        allowance = plan.monthly_credits * months
        revenue[name] += plan.price_usd * months + max(0.0, credits - allowance) * (
            topup_unit_usd if plan.price_usd > 0 else 0.0
        )
    return dict(revenue)


def _margin(revenue: float, cost: float) -> float | None:
    return _round((revenue - cost) / revenue) if revenue else None


def _device_hours(d: SimDevice, end: float) -> float:
    return max(0.0, (d.down_at if d.down_at is not None else end) - d.up_at) / 3600


def summarize(out: Outcome, topup_unit_usd: float) -> dict[str, Any]:
    """The report; `topup_unit_usd` is what a credit bought as a top-up costs (best pack)."""
    revenues = revenue_by_plan(out, topup_unit_usd)
    fleet_cost = sum(_device_hours(d, out.end) * d.kind.hourly_usd for d in out.devices)
    used_s = sum(j.device_s for j in out.jobs)
    by_plan: dict[str, list[SimJob]] = defaultdict(list)
    for j in out.jobs:
        by_plan[j.plan.name].append(j)
    plans: dict[str, Any] = {}
    total_revenue = sum(revenues.values())
    direct_total = sum(j.cost_usd for j in out.jobs)
    for name, jobs in sorted(by_plan.items()):
        waits = [j.wait for j in jobs if j.wait is not None and j.state != "cached"]
        done = [j for j in jobs if j.state in ("succeeded", "cached")]
        device_s = sum(j.device_s for j in jobs)
        direct = sum(j.cost_usd for j in jobs)
        share = device_s / used_s if used_s else 0.0
        cost = fleet_cost * share
        revenue = revenues.get(name, 0.0)
        plans[name] = {
            "submitted": len(jobs),
            "completed": len(done),
            "cache_hits": sum(j.state == "cached" for j in jobs),
            "failed": sum(j.state == "failed" for j in jobs),
            "cancelled": sum(j.state == "cancelled" for j in jobs),
            "lost_to_timeout": sum(j.state == "lost" for j in jobs),
            "refused_queue_full": sum(j.state == "refused" for j in jobs),
            "refused_no_credits": sum(j.state == "refused_credits" for j in jobs),
            "wait_p50_s": _round(quantile(waits, 0.5), 1),
            "wait_p95_s": _round(quantile(waits, 0.95), 1),
            "device_hours": _round(device_s / 3600),
            "cost_usd": _round(direct),
            "cost_per_clip_usd": _round(direct / len(done)) if done else None,
            "revenue_usd": _round(revenue),
            "margin": _round((revenue - direct) / revenue) if revenue else None,
            "fleet_cost_usd": _round(cost),
            "fleet_margin": _round((revenue - cost) / revenue) if revenue else None,
            "cost_share_of_revenue": _round(direct / total_revenue) if total_revenue else None,
        }
    kinds: dict[str, Any] = {}
    for d in out.devices:
        k = kinds.setdefault(
            d.kind.kind,
            {
                "configured": d.kind.count,
                "started": 0,
                "peak": 0,
                "device_hours": 0.0,
                "busy_hours": 0.0,
            },
        )
        k["started"] += 1
        k["device_hours"] += _device_hours(d, out.end)
        k["busy_hours"] += d.busy_s / 3600
    for name, k in kinds.items():
        k["peak"] = _peak([d for d in out.devices if d.kind.kind == name], out.end)
        k["utilisation"] = _round(k["busy_hours"] / k["device_hours"]) if k["device_hours"] else 0.0
        k["device_hours"], k["busy_hours"] = _round(k["device_hours"]), _round(k["busy_hours"])
    waste_s = sum(j.device_s for j in out.jobs if j.state == "failed")
    return {
        "object": "capacity_plan",
        "policy": out.policy.model_dump(),
        "fleet": out.fleet.model_dump(),
        "hours": _round(out.end / 3600, 2),
        "plans": plans,
        "totals": {
            "submitted": len(out.jobs),
            "completed": sum(p["completed"] for p in plans.values()),
            "revenue_usd": _round(total_revenue),
            "cost_usd": _round(direct_total),
            "margin": _margin(total_revenue, direct_total),
            "fleet_cost_usd": _round(fleet_cost),
            "fleet_margin": _margin(total_revenue, fleet_cost),
            "failed_device_hours": _round(waste_s / 3600),
            "lost_to_timeout": sum(p["lost_to_timeout"] for p in plans.values()),
            "unserved": out.unserved,
        },
        "devices": kinds,
        "utilisation_over_time": utilisation_series(out),
        "wait_over_time": wait_series(out),
    }


def _peak(devices: list[SimDevice], end: float) -> int:
    """The most devices of a kind up at once."""
    edges = sorted(
        [(d.up_at, 1) for d in devices]
        + [(d.down_at if d.down_at is not None else end, -1) for d in devices],
        key=lambda e: (e[0], e[1]),
    )
    peak = up = 0
    for _, step in edges:
        up += step
        peak = max(peak, up)
    return peak


def _buckets(end: float) -> int:
    return max(1, math.ceil(end / BUCKET_S))


def utilisation_series(out: Outcome) -> list[dict[str, Any]]:
    """Per hour: devices up, busy share of their time."""
    n = _buckets(out.end)
    busy = [0.0] * n
    up = [0.0] * n
    for d in out.devices:
        _spread(up, d.up_at, d.down_at if d.down_at is not None else out.end)
        for start, stop in d.spans:
            _spread(busy, start, min(stop, out.end))
    return [
        {
            "hour": i,
            "devices": _round(up[i] / BUCKET_S, 2),
            "utilisation": _round(busy[i] / up[i]) if up[i] else 0.0,
        }
        for i in range(n)
    ]


def wait_series(out: Outcome) -> list[dict[str, Any]]:
    """Per hour and plan: p95 wait of the jobs that started in that hour."""
    n = _buckets(out.end)
    waits: dict[tuple[int, str], list[float]] = defaultdict(list)
    for j in out.jobs:
        if j.started is not None and j.state != "cached" and j.wait is not None:
            waits[(min(n - 1, int(j.started // BUCKET_S)), j.plan.name)].append(j.wait)
    return [
        {"hour": h, "plan": plan, "wait_p95_s": _round(quantile(v, 0.95), 1), "jobs": len(v)}
        for (h, plan), v in sorted(waits.items())
    ]


def _spread(buckets: list[float], start: float, stop: float) -> None:
    t = start
    while t < stop:
        i = min(len(buckets) - 1, int(t // BUCKET_S))
        edge = min(stop, (i + 1) * BUCKET_S) if i < len(buckets) - 1 else stop
        buckets[i] += edge - t
        t = edge
