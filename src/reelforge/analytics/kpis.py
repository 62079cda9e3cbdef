"""The KPI report: unit economics (cost, margin, waste per generation), revenue, conversion,
retention, signup cohorts, segment shares and a plain-words verdict per plan.

Pure: it works on the plain records below and returns a JSON-ready dict. Definitions of every
figure are in docs/kpis.md; in short:

* the window is half-open, `since <= t < until` (None: unbounded); `end` = the earlier of
  `until` and `now` and is the moment up to which events are observed (retention days,
  cohort weeks and the 30-day conversion window count only once they have fully passed);
* a *generation* is a job with usage events whose outcome is `succeeded`; its cost is the
  sum of those events (compute + storage + moderation);
* waste is the cost of usage events whose outcome is failed, cancelled or blocked;
* the revenue attributed to a generation is its consumed credits * the unit price of the
  lots they came from (postpaid credits, which have no lot, at the plan's credit_usd).

Money is rounded to 6 decimals, shares to 4; a share or mean over nothing is None.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reelforge.analytics.growth import (
    conversion,
    first_paid,
    retention,
    signup_cohorts,
    signup_plans,
)
from reelforge.analytics.records import (
    SUCCEEDED,
    UNKNOWN,
    AccountRow,
    ConsumedRow,
    JobRow,
    PaymentRow,
    PlanChangeRow,
    PlanInfo,
    UsageRow,
    Window,
    mean,
    money,
    pct_text,
    share,
    usd_text,
    utc,
)

__all__ = [
    "AccountRow",
    "ConsumedRow",
    "JobRow",
    "PaymentRow",
    "PlanChangeRow",
    "PlanInfo",
    "UsageRow",
    "kpi_report",
    "pct_text",
    "usd_text",
]

WASTE_CAUSES = ("failed", "cancelled", "blocked")
ENTERPRISE, MERCHANT = "enterprise", "merchant"


@dataclass
class _Generation:
    account_id: str
    cost: float = 0.0
    model: str = UNKNOWN
    plan: str = UNKNOWN
    resolution: str = UNKNOWN
    segment: str = UNKNOWN


class _Group:
    def __init__(self) -> None:
        self.count = 0
        self.cost = 0.0
        self.revenue = 0.0

    def add(self, cost: float, revenue: float = 0.0) -> None:
        self.count += 1
        self.cost += cost
        self.revenue += revenue


# -- the report ------------------------------------------------------------------------------


def kpi_report(
    *,
    accounts: Iterable[AccountRow],
    usage: Iterable[UsageRow],
    payments: Iterable[PaymentRow],
    plan_changes: Iterable[PlanChangeRow],
    jobs: Iterable[JobRow],
    consumed: Iterable[ConsumedRow],
    plans: Sequence[PlanInfo],
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    exclude_plans: Iterable[str] = ("internal",),
) -> dict[str, Any]:
    """Every KPI over the window [since, until). `plans` lists the sheet's plans in order;
    accounts now on an `exclude_plans` plan (the operator's own) are left out entirely, as is
    usage metered on such a plan."""
    excluded = set(exclude_plans)
    w = Window(since, until, now)
    r = _select(accounts, usage, payments, plan_changes, jobs, consumed, plans, w, excluded)
    plan_info, account_by_id = r.plan_info, r.account_by_id
    signup_plan = signup_plans(account_by_id.values(), r.changes)
    paid_at = first_paid(r.all_payments, r.changes, plan_info, w)
    t = _tally_usage(r.usage, account_by_id)
    unit = _unit_price(plan_info, t.job_plan)
    job_revenue: dict[str, float] = defaultdict(float)
    for c in r.consumed:
        if c.job_id in t.job_plan:
            job_revenue[c.job_id] += c.credits * unit(c)

    report: dict[str, Any] = {
        "object": "kpi_report",
        "window": {
            "since": w.since.isoformat() if w.since else None,
            "until": w.until.isoformat() if w.until else None,
            "observed_until": w.end.isoformat(),
        },
        "generations": len(t.gens),
        "total_cost_usd": money(t.total_cost),
        "average_generation_cost_usd": _average_cost(t.gens),
        "gross_margin": _gross_margin(t.gens, job_revenue),
        "compute_waste": _waste(t.waste, t.waste_jobs, t.total_cost),
    }
    plan_at = _plan_at(r.changes, account_by_id, signup_plan)

    def payment_plan(p: PaymentRow) -> str:
        """The plan that paid: the payment's own, else the payer's plan at that moment."""
        return p.plan or plan_at(p.account_id, p.created_at)

    revenue, paying = _revenue(r.window_payments, payment_plan)
    report["revenue_usd"] = revenue
    report["paying_accounts"] = paying
    report["arppu_usd"] = mean(revenue["total"], paying)
    report.update(_growth(r, signup_plan, paid_at))
    report.update(_segment_shares(t))
    cash = _cash(r.window_payments, r.consumed, payment_plan, plan_info, t.job_plan, unit)
    plan_names = [p.name for p in plans if p.name not in excluded]
    report["margins"] = _margins(
        plans=plan_names, cash=cash, cost=t.cost_by_plan, gens=t.gens, job_revenue=job_revenue
    )
    conversions: dict[str, int] = defaultdict(int)
    for account_id, when in paid_at.items():
        if when in w and account_id in account_by_id:
            conversions[signup_plan.get(account_id, UNKNOWN)] += 1
    report["verdict"] = _verdict(
        plans=plan_names, plan_info=plan_info, margins=report["margins"], conversions=conversions
    )
    return report


@dataclass
class _Records:
    """The records the report reads: the window's, of the accounts it covers."""

    window: Window
    plan_info: dict[str, PlanInfo]  # the sheet's plans, in order
    account_by_id: dict[str, AccountRow]
    usage: list[UsageRow]  # metered in the window
    all_payments: list[PaymentRow]
    window_payments: list[PaymentRow]
    changes: list[PlanChangeRow]  # oldest first
    jobs: list[JobRow]  # created before the window's end
    consumed: list[ConsumedRow]


def _select(
    accounts: Iterable[AccountRow],
    usage: Iterable[UsageRow],
    payments: Iterable[PaymentRow],
    plan_changes: Iterable[PlanChangeRow],
    jobs: Iterable[JobRow],
    consumed: Iterable[ConsumedRow],
    plans: Sequence[PlanInfo],
    w: Window,
    excluded: set[str],
) -> _Records:
    """Accounts now on an excluded plan are left out entirely, as is usage metered on one."""
    account_by_id = {a.id: a for a in accounts if a.plan not in excluded}

    def mine(account_id: str) -> bool:
        return account_id in account_by_id

    all_payments = [p for p in payments if mine(p.account_id)]
    return _Records(
        window=w,
        plan_info={p.name: p for p in plans if p.name not in excluded},
        account_by_id=account_by_id,
        usage=[
            u for u in usage if mine(u.account_id) and u.plan not in excluded and u.created_at in w
        ],
        all_payments=all_payments,
        window_payments=[p for p in all_payments if p.created_at in w],
        changes=sorted(
            (c for c in plan_changes if mine(c.account_id)), key=lambda c: utc(c.created_at)
        ),
        jobs=[j for j in jobs if mine(j.account_id) and w.observed(j.created_at)],
        consumed=list(consumed),
    )


def _growth(
    r: _Records, signup_plan: Mapping[str, str], paid_at: Mapping[str, datetime]
) -> dict[str, Any]:
    """Free-to-paid conversion, retention and weekly cohorts of the window's signups."""
    w = r.window
    signups = sorted(
        (a for a in r.account_by_id.values() if a.created_at in w),
        key=lambda a: (utc(a.created_at), a.id),
    )
    job_times: dict[str, list[datetime]] = defaultdict(list)
    for j in r.jobs:
        job_times[j.account_id].append(utc(j.created_at))
    return {
        "free_to_paid_conversion": conversion(signups, signup_plan, paid_at, r.plan_info, w),
        "retention": retention(signups, job_times, w),
        "weekly_cohorts": signup_cohorts(signups, job_times, paid_at, w),
    }


@dataclass
class _Tally:
    """The window's metered usage summed up: generations and their costs, cost per plan and
    segment, waste per cause, and the plan each job was metered on."""

    gens: dict[str, _Generation] = field(default_factory=dict)
    total_cost: float = 0.0
    cost_by_plan: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    waste: dict[str, float] = field(default_factory=lambda: dict.fromkeys(WASTE_CAUSES, 0.0))
    waste_jobs: dict[str, set[str]] = field(
        default_factory=lambda: {c: set() for c in WASTE_CAUSES}
    )
    job_plan: dict[str, str] = field(default_factory=dict)
    seg_cost: dict[str, float] = field(default_factory=lambda: {ENTERPRISE: 0.0, MERCHANT: 0.0})


def _tally_usage(usage_rows: Iterable[UsageRow], account_by_id: Mapping[str, AccountRow]) -> _Tally:
    t = _Tally()
    for u in usage_rows:
        account = account_by_id[u.account_id]
        plan = u.plan or account.plan
        segment = u.segment or account.segment
        t.total_cost += u.cost_usd
        t.cost_by_plan[plan] += u.cost_usd
        if segment == ENTERPRISE or plan == ENTERPRISE:
            t.seg_cost[ENTERPRISE] += u.cost_usd
        if segment == MERCHANT:
            t.seg_cost[MERCHANT] += u.cost_usd
        if u.job_id:
            t.job_plan.setdefault(u.job_id, plan)
        if u.outcome == SUCCEEDED and u.job_id:
            g = t.gens.setdefault(u.job_id, _Generation(u.account_id))
            g.cost += u.cost_usd
            if g.model == UNKNOWN and u.model:
                g.model = u.model
            if g.plan == UNKNOWN:
                g.plan = plan
            if g.resolution == UNKNOWN and u.resolution:
                g.resolution = u.resolution
            if g.segment == UNKNOWN:
                g.segment = segment
        elif u.outcome in t.waste:
            t.waste[u.outcome] += u.cost_usd
            if u.job_id:
                t.waste_jobs[u.outcome].add(u.job_id)
    return t


def _unit_price(
    plan_info: Mapping[str, PlanInfo], job_plan: Mapping[str, str]
) -> Callable[[ConsumedRow], float]:
    """The USD a consumed credit brought: its lot's unit price; postpaid credits (no lot) at
    the plan's credit_usd."""

    def unit(c: ConsumedRow) -> float:
        if c.unit_usd is not None:
            return c.unit_usd
        info = plan_info.get(job_plan.get(c.job_id, UNKNOWN))
        return info.credit_usd if info and info.postpaid else 0.0

    return unit


def _segment_shares(t: _Tally) -> dict[str, Any]:
    succeeded = len(t.gens)
    ent = sum(1 for g in t.gens.values() if ENTERPRISE in (g.segment, g.plan))
    mer = sum(1 for g in t.gens.values() if g.segment == MERCHANT)
    return {
        "enterprise_share": _segment_share(ent, succeeded, t.seg_cost[ENTERPRISE], t.total_cost),
        "commerce_share": _segment_share(mer, succeeded, t.seg_cost[MERCHANT], t.total_cost),
    }


def _cash(
    window_payments: Iterable[PaymentRow],
    consumed_rows: Iterable[ConsumedRow],
    payment_plan: Callable[[PaymentRow], str],
    plan_info: Mapping[str, PlanInfo],
    job_plan: Mapping[str, str],
    unit: Callable[[ConsumedRow], float],
) -> dict[str, float]:
    """Cash per plan: USD payments on prepaid plans; postpaid plans' usage, invoiced later."""
    cash: dict[str, float] = defaultdict(float)
    for p in window_payments:
        plan = payment_plan(p)
        info = plan_info.get(plan)
        if p.currency.lower() == "usd" and not (info and info.postpaid):
            cash[plan] += p.amount_cents / 100
    for c in consumed_rows:
        plan = job_plan.get(c.job_id, UNKNOWN)
        info = plan_info.get(plan)
        if info is not None and info.postpaid:
            cash[plan] += c.credits * unit(c)
    return cash


# -- the parts -------------------------------------------------------------------------------


def _by(
    gens: Mapping[str, _Generation], key: str, revenue: Mapping[str, float] | None = None
) -> dict[str, _Group]:
    groups: dict[str, _Group] = defaultdict(_Group)
    for job_id, g in gens.items():
        groups[getattr(g, key)].add(g.cost, revenue.get(job_id, 0.0) if revenue else 0.0)
    return dict(sorted(groups.items()))


def _average_cost(gens: Mapping[str, _Generation]) -> dict[str, Any]:
    def view(groups: Mapping[str, _Group]) -> dict[str, Any]:
        return {
            k: {
                "generations": g.count,
                "cost_usd": money(g.cost),
                "mean_usd": mean(g.cost, g.count),
            }
            for k, g in groups.items()
        }

    total = sum(g.cost for g in gens.values())
    return {
        "overall": mean(total, len(gens)),
        "generations": len(gens),
        "cost_usd": money(total),
        "by_model": view(_by(gens, "model")),
        "by_plan": view(_by(gens, "plan")),
        "by_resolution": view(_by(gens, "resolution")),
    }


def _margin_view(count: int, revenue: float, cost: float) -> dict[str, Any]:
    return {
        "generations": count,
        "revenue_usd": money(revenue),
        "cost_usd": money(cost),
        "margin_usd": money(revenue - cost),
        "margin_per_generation_usd": mean(revenue - cost, count),
        "margin": share(revenue - cost, revenue),
    }


def _gross_margin(gens: Mapping[str, _Generation], revenue: Mapping[str, float]) -> dict[str, Any]:
    total_rev = sum(revenue.get(j, 0.0) for j in gens)
    total_cost = sum(g.cost for g in gens.values())
    view = _margin_view(len(gens), total_rev, total_cost)
    view["by_plan"] = {
        k: _margin_view(g.count, g.revenue, g.cost) for k, g in _by(gens, "plan", revenue).items()
    }
    view["by_model"] = {  # hosted provider models beside local ones: the provider's price is cost
        k: _margin_view(g.count, g.revenue, g.cost) for k, g in _by(gens, "model", revenue).items()
    }
    return view


def _waste(
    waste: Mapping[str, float], jobs: Mapping[str, set[str]], total_cost: float
) -> dict[str, Any]:
    wasted = sum(waste.values())
    return {
        "usd": money(wasted),
        "share": share(wasted, total_cost),
        "total_cost_usd": money(total_cost),
        "jobs": len(set().union(*jobs.values())),
        "by_cause": {
            c: {"usd": money(waste[c]), "share": share(waste[c], total_cost), "jobs": len(jobs[c])}
            for c in WASTE_CAUSES
        },
    }


def _revenue(
    payments: Iterable[PaymentRow], payment_plan: Callable[[PaymentRow], str]
) -> tuple[dict[str, Any], int]:
    total = 0.0
    count = 0
    other_currency = 0
    by_kind: dict[str, float] = defaultdict(float)
    by_plan: dict[str, float] = defaultdict(float)
    paying: set[str] = set()
    for p in payments:
        if p.currency.lower() != "usd":
            other_currency += 1
            continue
        usd = p.amount_cents / 100
        total += usd
        count += 1
        by_kind[p.kind] += usd
        by_plan[payment_plan(p)] += usd
        if p.amount_cents > 0:
            paying.add(p.account_id)
    return (
        {
            "total": money(total),
            "payments": count,
            "by_kind": {k: money(v) for k, v in sorted(by_kind.items())},
            "by_plan": {k: money(v) for k, v in sorted(by_plan.items())},
            "non_usd_payments_left_out": other_currency,
        },
        len(paying),
    )


def _segment_share(gens: int, all_gens: int, cost: float, total_cost: float) -> dict[str, Any]:
    return {
        "generations": gens,
        "generations_share": share(gens, all_gens),
        "cost_usd": money(cost),
        "cost_share": share(cost, total_cost),
    }


def _plan_at(
    changes: Sequence[PlanChangeRow],
    account_by_id: Mapping[str, AccountRow],
    signup_plan: Mapping[str, str],
) -> Callable[[str, datetime], str]:
    """The plan an account was on at a moment: its signup plan, then each plan change up to
    that moment (changes are sorted oldest first)."""
    history: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for c in changes:
        history[c.account_id].append((utc(c.created_at), c.to_plan))

    def at(account_id: str, when: datetime) -> str:
        plan = signup_plan.get(account_id) or account_by_id[account_id].plan
        for changed, to_plan in history.get(account_id, ()):
            if changed > utc(when):
                break
            plan = to_plan
        return plan

    return at


def _money_view(revenue: float, cost: float) -> dict[str, Any]:
    return {
        "revenue_usd": money(revenue),
        "cost_usd": money(cost),
        "margin_usd": money(revenue - cost),
        "margin": share(revenue - cost, revenue),
    }


def _margins(
    *,
    plans: Sequence[str],
    cash: Mapping[str, float],
    cost: Mapping[str, float],
    gens: Mapping[str, _Generation],
    job_revenue: Mapping[str, float],
) -> dict[str, Any]:
    """The two margins side by side, overall and per plan, and the line that reconciles
    them: cash (cash received, or invoiced usage for postpaid plans, vs all measured cost)
    and credit value (credits the generations consumed x their price vs generation cost)."""
    groups = _by(gens, "plan", job_revenue)
    names = [n for n in plans if n in cost or n in cash or n in groups]
    names += sorted((set(cost) | set(cash) | set(groups)) - set(names))
    by_plan = {}
    for name in names:
        g = groups.get(name)
        by_plan[name] = {
            "cash": _money_view(cash.get(name, 0.0), cost.get(name, 0.0)),
            "credit_value": {
                **_money_view(g.revenue if g else 0.0, g.cost if g else 0.0),
                "generations": g.count if g else 0,
            },
        }
    cash_total, cost_total = sum(cash.values()), sum(cost.values())
    value = sum(job_revenue.get(j, 0.0) for j in gens)
    gen_cost = sum(g.cost for g in gens.values())
    unused, outside = cash_total - value, cost_total - gen_cost
    cash_margin, value_margin = cash_total - cost_total, value - gen_cost
    text = (
        f"cash margin {usd_text(cash_margin)} = credit-value margin "
        f"{usd_text(value_margin)} + cash received beyond the value of credits consumed "
        f"{usd_text(unused)} - cost outside generations (waste, reviews) "
        f"{usd_text(outside)}"
    )
    return {
        "cash": _money_view(cash_total, cost_total),
        "credit_value": {**_money_view(value, gen_cost), "generations": len(gens)},
        "reconciliation": {
            "cash_margin_usd": money(cash_margin),
            "credit_value_margin_usd": money(value_margin),
            "cash_beyond_credit_value_usd": money(unused),
            "cost_outside_generations_usd": money(outside),
            "text": text,
        },
        "by_plan": by_plan,
    }


def _verdict(
    *,
    plans: Sequence[str],
    plan_info: Mapping[str, PlanInfo],
    margins: Mapping[str, Any],
    conversions: Mapping[str, int],
) -> dict[str, Any]:
    """Whether each plan pays for itself, in words that match the margins table: the cash
    margin decides (cash received, or invoiced usage, vs all cost); the credit-value margin
    says whether the credits used are priced above what they cost. An unpaid plan (free) is
    credited with no one else's revenue: it is the acquisition cost of its conversions."""

    def clause(view: Mapping[str, Any]) -> str:
        cv = view["credit_value"]
        if not cv["generations"]:
            return ""
        return (
            f"; credits used are worth {usd_text(cv['revenue_usd'])} vs generation cost "
            f"{usd_text(cv['cost_usd'])} (credit-value margin {pct_text(cv['margin'])})"
        )

    by_plan: dict[str, Any] = {}
    for name, view in margins["by_plan"].items():
        info = plan_info.get(name)
        cash, cv = view["cash"], view["credit_value"]
        revenue, cost, margin = cash["revenue_usd"], cash["cost_usd"], cash["margin"]
        pays = revenue > 0 and revenue >= cost
        covered = cv["generations"] > 0 and cv["revenue_usd"] >= cv["cost_usd"]
        what = "invoiced usage" if info is not None and info.postpaid else "cash received"
        entry: dict[str, Any] = {
            "revenue_usd": revenue,
            "cost_usd": cost,
            "margin": margin,
            "pays_for_itself": pays,
            "credit_value_usd": cv["revenue_usd"],
            "generation_cost_usd": cv["cost_usd"],
            "credit_value_margin": cv["margin"],
            "credits_cover_cost": covered,
        }
        if info is not None and not info.paid:
            n = conversions.get(name, 0)
            entry.update(conversions=n, cost_per_conversion_usd=mean(cost, n))
            tail = (
                f"it is the acquisition cost of {n} conversion{'s' if n != 1 else ''} in "
                f"the window ({usd_text(mean(cost, n), unit=True)} each); their payments "
                f"count under the plans they paid for"
                if n
                else "no account converted from it in the window"
            )
            text = (
                (
                    f"{name}: does not pay for itself — costs {usd_text(cost)} against "
                    f"{usd_text(revenue)} paid on it; {tail}"
                )
                if not pays
                else (
                    f"{name}: pays for itself — {what} {usd_text(revenue)} covers cost "
                    f"{usd_text(cost)} (cash margin {pct_text(margin)})"
                )
            )
        elif pays and (covered or not cv["generations"]):
            text = (
                f"{name}: pays for itself — {what} {usd_text(revenue)} covers cost "
                f"{usd_text(cost)} (cash margin {pct_text(margin)}){clause(view)}"
            )
        elif pays:
            text = (
                f"{name}: pays for itself in cash only — {what} {usd_text(revenue)} "
                f"covers cost {usd_text(cost)} (cash margin {pct_text(margin)}), but "
                f"{clause(view)[2:]}: it relies on credits paid for and not used"
            )
        elif revenue <= 0:
            text = f"{name}: does not pay for itself — costs {usd_text(cost)} with no revenue"
        else:
            text = (
                f"{name}: does not pay for itself — {what} {usd_text(revenue)} vs cost "
                f"{usd_text(cost)} (cash margin {pct_text(margin)}){clause(view)}"
            )
        entry["text"] = text
        by_plan[name] = entry
    cash, cv = margins["cash"], margins["credit_value"]
    revenue, cost, margin = cash["revenue_usd"], cash["cost_usd"], cash["margin"]
    pays = revenue > 0 and revenue >= cost
    if not revenue and not cost:
        text = "overall: no usage and no revenue in the window"
    elif pays and cv["generations"] and cv["revenue_usd"] < cv["cost_usd"]:
        text = (
            "overall: the platform pays for itself in cash only — cash received "
            f"{usd_text(revenue)} covers cost {usd_text(cost)} (cash margin "
            f"{pct_text(margin)}), but {clause(margins)[2:]}: it relies on credits paid "
            "for and not used"
        )
    else:
        head = (
            "overall: the platform pays for itself — cash received "
            f"{usd_text(revenue)} covers cost {usd_text(cost)}"
            if pays
            else "overall: the platform does not pay for itself — cash received "
            f"{usd_text(revenue)} vs cost {usd_text(cost)}"
        )
        text = f"{head} (cash margin {pct_text(margin)}){clause(margins)}"
    return {
        "by_plan": by_plan,
        "overall": {
            "revenue_usd": revenue,
            "cost_usd": cost,
            "margin": margin,
            "pays_for_itself": pays,
            "credit_value_usd": cv["revenue_usd"],
            "generation_cost_usd": cv["cost_usd"],
            "credit_value_margin": cv["margin"],
            "text": text,
        },
    }
