"""Commerce usage for the KPI report: promo clips made by catalogue batches — clips, cost and
revenue per SKU, their share of all generations, cost and revenue, and the template mix.

Pure, on plain records: a clip is a batch item's job (`CommerceClipRow`); it counts once it
is a generation (usage metered with the outcome `succeeded`, as in kpis.py); its cost is the
sum of its usage events and its revenue the credits it consumed at their lots' unit price
(postpaid credits, which have no lot, at their plan's credit price).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reelforge.analytics.records import SUCCEEDED, ConsumedRow, UsageRow, money, share

TOP_SKUS = 50


@dataclass(frozen=True)
class CommerceClipRow:
    job_id: str
    account_id: str
    sku: str
    template: str
    aspect: str


def commerce_usage(
    clips: Iterable[CommerceClipRow],
    usage: Iterable[UsageRow],
    consumed: Iterable[ConsumedRow],
    postpaid_credit_usd: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The `commerce_usage` section of the KPI report over the usage and consumed credits
    given (already limited to the report's window and accounts). Postpaid credits (no lot)
    count at `postpaid_credit_usd` of the plan the job was metered on, as in kpis.py."""
    cost: dict[str, float] = defaultdict(float)
    succeeded: set[str] = set()
    job_plan: dict[str, str] = {}
    for u in usage:
        if u.job_id:
            cost[u.job_id] += u.cost_usd
            if u.plan:
                job_plan.setdefault(u.job_id, u.plan)
            if u.outcome == SUCCEEDED:
                succeeded.add(u.job_id)
    postpaid = postpaid_credit_usd or {}
    revenue: dict[str, float] = defaultdict(float)
    for c in consumed:
        unit = c.unit_usd
        if unit is None:
            unit = postpaid.get(job_plan.get(c.job_id, ""), 0.0)
        revenue[c.job_id] += c.credits * unit
    all_cost = sum(cost[j] for j in succeeded)
    all_revenue = sum(revenue[j] for j in succeeded)

    per_sku: dict[tuple[str, str], dict[str, Any]] = {}
    templates: dict[str, int] = defaultdict(int)
    aspects: dict[str, int] = defaultdict(int)
    clip_cost = clip_revenue = 0.0
    count = 0
    seen: set[str] = set()
    for clip in clips:
        if clip.job_id not in succeeded or clip.job_id in seen:
            continue
        seen.add(clip.job_id)
        count += 1
        clip_cost += cost[clip.job_id]
        clip_revenue += revenue[clip.job_id]
        templates[clip.template] += 1
        aspects[clip.aspect] += 1
        row = per_sku.setdefault(
            (clip.account_id, clip.sku),
            {"account_id": clip.account_id, "sku": clip.sku, "clips": 0, "cost_usd": 0.0,
             "revenue_usd": 0.0},
        )  # fmt: skip
        row["clips"] += 1
        row["cost_usd"] += cost[clip.job_id]
        row["revenue_usd"] += revenue[clip.job_id]
    skus = sorted(per_sku.values(), key=lambda r: (-r["clips"], -r["cost_usd"], r["sku"]))
    for row in skus:
        row["cost_usd"], row["revenue_usd"] = money(row["cost_usd"]), money(row["revenue_usd"])
    return {
        "clips": count,
        "generations_share": share(count, len(succeeded)),
        "cost_usd": money(clip_cost),
        "cost_share": share(clip_cost, all_cost),
        "revenue_usd": money(clip_revenue),
        "revenue_share": share(clip_revenue, all_revenue),
        "skus": len(per_sku),
        "per_sku": skus[:TOP_SKUS],
        "template_mix": {
            name: {"clips": n, "share": share(n, count)} for name, n in sorted(templates.items())
        },
        "aspect_mix": {
            name: {"clips": n, "share": share(n, count)} for name, n in sorted(aspects.items())
        },
    }
