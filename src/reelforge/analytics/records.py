"""The plain records the KPI report works on, and its small arithmetic helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from reelforge.domain.money import usd_text as usd_text  # how money reads (re-exported)

SUCCEEDED = "succeeded"
UNKNOWN = "unknown"

# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRow:
    id: str
    created_at: datetime  # signup
    plan: str = "free"  # the plan now
    segment: str = "creator"  # creator | merchant | enterprise


@dataclass(frozen=True)
class UsageRow:
    """One metering event: one kind of cost of one job attempt."""

    account_id: str
    job_id: str | None
    kind: str  # compute | storage | moderation
    cost_usd: float
    outcome: str | None  # the job's status when it was metered
    created_at: datetime
    model: str | None = None
    plan: str | None = None  # the account's plan when it was metered
    resolution: str | None = None
    preset: str | None = None
    segment: str | None = None


@dataclass(frozen=True)
class PaymentRow:
    account_id: str
    amount_cents: int
    kind: str  # subscription | topup | invoice
    created_at: datetime
    plan: str | None = None
    currency: str = "usd"


@dataclass(frozen=True)
class PlanChangeRow:
    account_id: str
    to_plan: str
    created_at: datetime
    from_plan: str | None = None
    source: str = "operator"  # signup | operator | stripe


@dataclass(frozen=True)
class JobRow:
    id: str
    account_id: str
    created_at: datetime
    status: str = SUCCEEDED


@dataclass(frozen=True)
class ConsumedRow:
    """Credits a job consumed from one lot (the ledger's `consumed` book)."""

    job_id: str
    credits: int
    unit_usd: float | None  # the lot's revenue per credit; None: postpaid, no lot


@dataclass(frozen=True)
class PlanInfo:
    """What the report needs to know about a plan of the price sheet."""

    name: str
    paid: bool  # a subscription price, or postpaid invoicing
    postpaid: bool = False
    credit_usd: float = 0.0  # what a postpaid credit is invoiced at


# -- helpers ---------------------------------------------------------------------------------


def money(x: float) -> float:
    return round(x, 6) + 0.0  # + 0.0: no "-0.0"


def share(part: float, whole: float) -> float | None:
    return None if not whole else round(part / whole, 4) + 0.0


def mean(total: float, count: int) -> float | None:
    return None if not count else money(total / count)


def utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def pct_text(x: float | None) -> str:
    """A share as a percentage with one decimal (`-70.0%`); `n/a` for nothing."""
    return "n/a" if x is None else f"{x * 100:.1f}%"


class Window:
    def __init__(self, since: datetime | None, until: datetime | None, now: datetime):
        self.since = utc(since) if since else None
        self.until = utc(until) if until else None
        now = utc(now)
        self.end = min(self.until, now) if self.until else now

    def __contains__(self, t: datetime) -> bool:
        t = utc(t)
        return (self.since is None or t >= self.since) and (self.until is None or t < self.until)

    def observed(self, t: datetime) -> bool:
        return utc(t) < self.end
