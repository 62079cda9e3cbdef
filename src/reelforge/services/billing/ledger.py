"""The credits ledger: double-entry and append-only.

Every movement is one `LedgerTransaction` whose entries sum to zero, written under an
idempotency key (repeating a write returns the first one and changes nothing). Balances are
sums of entries, never stored. Books:

    lot       an account's usable credits, one running balance per lot (grant)
    hold      credits reserved for a job (reserve → capture or release)
    postpaid  an invoiced account's running debt (negative while it owes)
    issued    platform side of grants and invoices
    consumed  platform side of captured credits (what generation earned)
    expired   platform side of lots that ran out of time, or were replaced by a plan change

Callers own the transaction; `lock_account` serialises an account's reservations so that
parallel submits can never spend the same credit twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from reelforge.domain.job import new_id
from reelforge.errors import InvalidRequest, PaymentRequired
from reelforge.storage import repositories as repo
from reelforge.storage.billing_tables import CreditLot, LedgerEntry, LedgerTransaction, PlanChange
from reelforge.storage.tables import Account

LOT, HOLD, POSTPAID = "lot", "hold", "postpaid"
ISSUED, CONSUMED, EXPIRED = "issued", "consumed", "expired"

GRANT_SOURCES = ("daily", "monthly", "topup", "grant")


@dataclass(frozen=True)
class Leg:
    book: str
    amount: int
    lot_id: str | None = None


@dataclass
class Balance:
    available: int  # usable now: unexpired lots
    held: int  # reserved for running or queued jobs
    postpaid_owed: int = 0  # an invoiced account's debt since its last invoice
    lots: list[dict[str, Any]] = field(default_factory=list)


def check_credits(value: object, what: str = "credits") -> int:
    """A positive whole number of credits, or InvalidRequest (bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(
            f"{what} must be a whole number of credits, got {value!r}",
            code="invalid_amount",
            field=what,
        )
    if value <= 0:
        raise InvalidRequest(
            f"{what} must be positive, got {value}", code="invalid_amount", field=what
        )
    return value


# The row lock lives in storage (the job pipeline takes it too, for the plan's concurrency).
lock_account = repo.lock_account


def existing(s: Session, key: str) -> LedgerTransaction | None:
    return s.scalar(select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key))


def post(
    s: Session,
    *,
    key: str,
    account_id: str,
    kind: str,
    legs: list[Leg],
    now: datetime,
    job_id: str | None = None,
    key_id: str | None = None,
    memo: str | None = None,
) -> tuple[LedgerTransaction, bool]:
    """Write one balanced transaction; (transaction, created). A repeated key returns the
    first transaction with created=False."""
    found = existing(s, key)
    if found is not None:
        return found, False
    if sum(leg.amount for leg in legs) != 0:
        raise ValueError(f"unbalanced ledger transaction {kind}: {legs}")
    moved = sum(leg.amount for leg in legs if leg.amount > 0)
    txn = LedgerTransaction(
        id=new_id("txn"),
        idempotency_key=key,
        account_id=account_id,
        kind=kind,
        credits=moved,
        job_id=job_id,
        key_id=key_id,
        memo=memo,
        created_at=now,
    )
    s.add(txn)
    s.flush()
    for leg in legs:
        if leg.amount:
            s.add(
                LedgerEntry(
                    txn_id=txn.id,
                    account_id=account_id,
                    book=leg.book,
                    lot_id=leg.lot_id,
                    job_id=job_id,
                    amount=leg.amount,
                    created_at=now,
                )
            )
    s.flush()
    return txn, True


# -- grants ---------------------------------------------------------------------------------


def grant(
    s: Session,
    *,
    account_id: str,
    credits: int,
    source: str,
    key: str,
    now: datetime,
    expires_at: datetime | None,
    unit_usd: float = 0.0,
    memo: str | None = None,
) -> CreditLot:
    """Add a lot of credits (idempotent on `key`)."""
    check_credits(credits)
    if source not in GRANT_SOURCES:
        raise InvalidRequest(
            f"grant source must be one of {', '.join(GRANT_SOURCES)}", field="source"
        )
    found = existing(s, key)
    if found is not None:
        lot = s.scalar(select(CreditLot).where(CreditLot.txn_id == found.id))
        assert lot is not None
        return lot
    lot_id = new_id("lot")
    txn, _ = post(
        s,
        key=key,
        account_id=account_id,
        kind="grant",
        now=now,
        memo=memo,
        legs=[Leg(ISSUED, -credits, lot_id), Leg(LOT, credits, lot_id)],
    )
    lot = CreditLot(
        id=lot_id,
        account_id=account_id,
        source=source,
        credits=credits,
        unit_usd=unit_usd,
        expires_at=expires_at,
        created_at=now,
        txn_id=txn.id,
    )
    s.add(lot)
    s.flush()
    return lot


ALLOWANCE_SOURCES = ("daily", "monthly")  # a plan's own credits (not top-ups or grants)


def replace_allowance(
    s: Session,
    *,
    account_id: str,
    source: str,
    credits: int,
    period_end: datetime,
    key: str,
    now: datetime,
    unit_usd: float = 0.0,
    memo: str | None = None,
) -> CreditLot | None:
    """Make `credits` the account's plan allowance for the period ending `period_end`: one
    allowance at a time, never two stacked (docs/billing.md, "Plan changes").

    What is left of the account's running allowance lots (daily or monthly, any plan) is
    written off to the expired book, and a lot of `credits` less what the account already
    consumed of `source` allowance lots of this same period is granted: a plan change
    neither stacks allowances nor refills what was spent. Credits a running job holds are
    not counted: if the job fails they go back to their old lot, which is not spent again.
    Top-ups and grants are not touched. Idempotent on `key`; returns the new lot (None when
    nothing is left to grant)."""
    found = existing(s, key)
    if found is not None:
        return s.scalar(select(CreditLot).where(CreditLot.txn_id == found.id))
    if source not in ALLOWANCE_SOURCES:
        raise InvalidRequest(
            f"an allowance comes from {' or '.join(ALLOWANCE_SOURCES)}", field="source"
        )
    running = s.scalars(
        select(CreditLot).where(
            CreditLot.account_id == account_id,
            CreditLot.source.in_(ALLOWANCE_SOURCES),
            CreditLot.expires_at > now,
        )
    ).all()  # closed (replaced) lots too: they count as used
    ids = [lot.id for lot in running]
    left = _lot_sums(s, ids)
    expired, held = _sums_by_lot(s, ids, EXPIRED), _sums_by_lot(s, ids, HOLD)
    used = 0
    for lot in running:
        rest = left.get(lot.id, 0)
        if lot.source == source and lot.expires_at == period_end:
            used += lot.credits - rest - expired.get(lot.id, 0) - held.get(lot.id, 0)
        if lot.closed_at is None and rest > 0:
            post(
                s,
                key=f"replace:{lot.id}:{key}",
                account_id=account_id,
                kind="expire",
                now=now,
                memo=memo,
                legs=[Leg(LOT, -rest, lot.id), Leg(EXPIRED, rest, lot.id)],
            )
        if lot.closed_at is None and not _holds_on(s, lot.id):
            lot.closed_at = now
    remaining = max(0, credits - used)
    if remaining == 0:  # nothing to grant: the key is still spent, so a repeat is a no-op
        post(s, key=key, account_id=account_id, kind="allowance", legs=[], now=now, memo=memo)
        return None
    return grant(
        s,
        account_id=account_id,
        credits=remaining,
        source=source,
        key=key,
        now=now,
        expires_at=period_end,
        unit_usd=unit_usd,
        memo=memo,
    )


def end_allowance(
    s: Session, *, account_id: str, key: str, now: datetime, memo: str | None = None
) -> None:
    """Write off what is left of the account's running plan allowance (a plan change: the
    new plan's allowance, if it has one, is granted by `replace_allowance`)."""
    replace_allowance(
        s,
        account_id=account_id,
        source="monthly",
        credits=0,
        period_end=now,
        key=key,
        now=now,
        memo=memo,
    )


def change_plan(
    s: Session, account: Account, plan: str, source: str, now: datetime, *, memo: str | None = None
) -> PlanChange:
    """Put `account` on `plan` (the plan-change rule of docs/billing.md, for an operator's
    change and Stripe's alike): the PlanChange record, then one allowance at a time: what is
    left of the old plan's allowance ends here; the new plan's (less what was used this
    period) is granted by plan_grants, or by the caller."""
    change = repo.record_plan_change(s, account.id, account.plan, plan, source, now)
    end_allowance(
        s,
        account_id=account.id,
        key=f"plan_change:{change.id}",
        now=now,
        memo=memo or f"plan change {account.plan} -> {plan}",
    )
    account.plan, account.plan_source, account.plan_started_at = plan, source, now
    return change


def _sums_by_lot(s: Session, lot_ids: list[str], book: str) -> dict[str, int]:
    if not lot_ids:
        return {}
    rows = s.execute(
        select(LedgerEntry.lot_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.lot_id.in_(lot_ids), LedgerEntry.book == book)
        .group_by(LedgerEntry.lot_id)
    ).all()
    return {str(lot): int(total or 0) for lot, total in rows}


# -- balances -------------------------------------------------------------------------------


def _book_sums(s: Session, account_id: str, book: str) -> dict[str | None, int]:
    rows = s.execute(
        select(LedgerEntry.lot_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.account_id == account_id, LedgerEntry.book == book)
        .group_by(LedgerEntry.lot_id)
    ).all()
    return {lot: int(total or 0) for lot, total in rows}


def _lot_sums(s: Session, lot_ids: list[str]) -> dict[str, int]:
    """Credits left in each of these lots."""
    if not lot_ids:
        return {}
    rows = s.execute(
        select(LedgerEntry.lot_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.lot_id.in_(lot_ids), LedgerEntry.book == LOT)
        .group_by(LedgerEntry.lot_id)
    ).all()
    return {str(lot): int(total or 0) for lot, total in rows}


def _usable_lots(s: Session, account_id: str, now: datetime) -> list[tuple[CreditLot, int]]:
    """Unexpired lots with credits left, soonest to expire first (they are spent first)."""
    # a lot written off before its time (an allowance replaced by a plan change, still open
    # while a job holds some of it) takes back what the job returns but is not spent again
    written_off = select(LedgerEntry.lot_id).where(
        LedgerEntry.account_id == account_id,
        LedgerEntry.book == EXPIRED,
        LedgerEntry.lot_id.is_not(None),
    )  # NOT IN
    lots = s.scalars(
        select(CreditLot).where(
            CreditLot.account_id == account_id,
            CreditLot.closed_at.is_(None),
            or_(CreditLot.expires_at.is_(None), CreditLot.expires_at > now),
            CreditLot.id.not_in(written_off),
        )
    ).all()
    left = _lot_sums(s, [lot.id for lot in lots])
    usable = [(lot, left.get(lot.id, 0)) for lot in lots if left.get(lot.id, 0) > 0]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    usable.sort(key=lambda pair: (pair[0].expires_at or far, pair[0].created_at))
    return usable


def balance(s: Session, account_id: str, now: datetime) -> Balance:
    usable = _usable_lots(s, account_id, now)
    held = sum(_book_sums(s, account_id, HOLD).values())
    owed = -sum(_book_sums(s, account_id, POSTPAID).values())
    lots = [
        {
            "id": lot.id,
            "source": lot.source,
            "granted": lot.credits,
            "left": left,
            "expires_at": lot.expires_at.isoformat() if lot.expires_at else None,
        }
        for lot, left in usable
    ]
    return Balance(
        available=sum(left for _, left in usable), held=held, postpaid_owed=owed, lots=lots
    )


def expire_lots(s: Session, account_id: str, now: datetime) -> int:
    """Write off what is left of lots that expired (to the expired book) and close them;
    returns the credits expired. Credits a running job holds from such a lot and later gets
    back are written off by the next call."""
    lots = s.scalars(
        select(CreditLot).where(
            CreditLot.account_id == account_id,
            CreditLot.closed_at.is_(None),
            CreditLot.expires_at <= now,
        )
    ).all()
    left = _lot_sums(s, [lot.id for lot in lots])
    total = 0
    for lot in lots:
        rest = left.get(lot.id, 0)
        if rest > 0:
            post(
                s,
                key=f"expire:{lot.id}:{now.isoformat()}",
                account_id=account_id,
                kind="expire",
                now=now,
                legs=[Leg(LOT, -rest, lot.id), Leg(EXPIRED, rest, lot.id)],
            )
            total += rest
        if not _holds_on(s, lot.id):
            lot.closed_at = now
    return total


def _holds_on(s: Session, lot_id: str) -> bool:
    """Whether credits of this lot are still reserved by a job (they may come back)."""
    held = s.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.lot_id == lot_id, LedgerEntry.book == HOLD
        )
    )
    return bool(held)


# -- job credits ----------------------------------------------------------------------------


def reserve(
    s: Session,
    *,
    account_id: str,
    job_id: str,
    credits: int,
    now: datetime,
    key_id: str | None = None,
    postpaid: bool = False,
) -> LedgerTransaction:
    """Hold `credits` for a job, from the lots that expire first (or, for postpaid accounts,
    as debt: their limit is the organisation's budget, checked by the caller).
    PaymentRequired when a prepaid account cannot cover it. Call `lock_account` first in the
    same transaction."""
    check_credits(credits)
    found = existing(s, f"reserve:{job_id}")
    if found is not None:
        return found
    legs: list[Leg] = []
    if postpaid:
        legs = [Leg(POSTPAID, -credits), Leg(HOLD, credits)]
    else:
        usable = _usable_lots(s, account_id, now)
        available = sum(left for _, left in usable)
        if available < credits:
            raise PaymentRequired(
                f"this request needs {credits} credits and the account has {available}; "
                f"top up or upgrade the plan (see GET /v1/account)"
            )
        need = credits
        for lot, left in usable:
            take = min(left, need)
            legs += [Leg(LOT, -take, lot.id), Leg(HOLD, take, lot.id)]
            need -= take
            if need == 0:
                break
    txn, _ = post(
        s,
        key=f"reserve:{job_id}",
        account_id=account_id,
        kind="reserve",
        legs=legs,
        now=now,
        job_id=job_id,
        key_id=key_id,
    )
    return txn


def _held_by_lot(s: Session, job_id: str) -> dict[str | None, int]:
    rows = s.execute(
        select(LedgerEntry.lot_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.job_id == job_id, LedgerEntry.book == HOLD)
        .group_by(LedgerEntry.lot_id)
    ).all()
    return {lot: int(total or 0) for lot, total in rows if total}


def capture(s: Session, *, account_id: str, job_id: str, now: datetime) -> int:
    """Turn a job's hold into consumed credits; returns the credits captured."""
    held = _held_by_lot(s, job_id)
    legs = [
        leg
        for lot, amount in held.items()
        for leg in (Leg(HOLD, -amount, lot), Leg(CONSUMED, amount, lot))
    ]
    if not legs:
        return 0
    txn, _ = post(
        s,
        key=f"capture:{job_id}",
        account_id=account_id,
        kind="capture",
        legs=legs,
        now=now,
        job_id=job_id,
    )
    return txn.credits


def release(s: Session, *, account_id: str, job_id: str, now: datetime) -> int:
    """Give a job's hold back to the lots (or the postpaid book) it came from."""
    held = _held_by_lot(s, job_id)
    legs: list[Leg] = []
    for lot, amount in held.items():
        legs += [Leg(HOLD, -amount, lot), Leg(LOT if lot else POSTPAID, amount, lot)]
    if not legs:
        return 0
    txn, _ = post(
        s,
        key=f"release:{job_id}",
        account_id=account_id,
        kind="release",
        legs=legs,
        now=now,
        job_id=job_id,
    )
    return txn.credits


def charge(
    s: Session, *, account_id: str, job_id: str, credits: int, now: datetime, postpaid: bool = False
) -> int:
    """Charge a job that holds nothing (approved on appeal after its credits were released):
    at most what the account has left, never below zero. Returns the credits charged."""
    legs: list[Leg] = []
    if postpaid:
        legs = [Leg(POSTPAID, -credits), Leg(CONSUMED, credits)]
    else:
        need = credits
        for lot, left in _usable_lots(s, account_id, now):
            take = min(left, need)
            legs += [Leg(LOT, -take, lot.id), Leg(CONSUMED, take, lot.id)]
            need -= take
            if need == 0:
                break
    if not legs:
        return 0
    txn, _ = post(
        s,
        key=f"charge:{job_id}",
        account_id=account_id,
        kind="charge",
        legs=legs,
        now=now,
        job_id=job_id,
    )
    return txn.credits


def settle_invoice(
    s: Session, *, account_id: str, invoice_id: str, credits: int, now: datetime
) -> bool:
    """Clear `credits` of a postpaid account's debt (its invoice was issued)."""
    _, created = post(
        s,
        key=f"invoice:{invoice_id}",
        account_id=account_id,
        kind="invoice",
        legs=[Leg(ISSUED, -credits), Leg(POSTPAID, credits)],
        now=now,
        memo=invoice_id,
    )
    return created
