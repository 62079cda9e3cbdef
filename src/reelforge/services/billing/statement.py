"""What an account's billing page shows: its plan and balance by lot (customers.summary),
what it can buy (plans on sale and top-up packs from the sheet), whether payments are
configured, and its ledger history, newest first, one page at a time. Buying goes through
checkout.create_checkout, as the API's POST /v1/billing/checkout does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.errors import PaymentProviderError
from reelforge.services.billing import checkout
from reelforge.services.billing.charges import sheet_of
from reelforge.services.billing.ledger import HOLD, LOT, POSTPAID
from reelforge.storage.billing_tables import LedgerEntry, LedgerTransaction
from reelforge.storage.tables import Account

PAGE_SIZE = 25
MAX_PAGE = 100_000


def payments_configured(p: Platform) -> bool:
    """Both Stripe keys set: the secret key opens checkouts, the webhook secret is how the
    credits bought arrive (without it a customer could pay and get nothing)."""
    s = p.settings
    return bool(
        s.stripe_secret_key
        and s.stripe_secret_key.get_secret_value()
        and s.stripe_webhook_secret
        and s.stripe_webhook_secret.get_secret_value()
    )


def offers(p: Platform, account: AccountRef) -> dict[str, Any]:
    """Plans on sale (a price, not invoiced), the top-up packs, and whether this account
    can start a subscription checkout now (not while a Stripe subscription is active)."""
    sheet = sheet_of(p)
    with p.db.session(write=False) as s:
        row = s.get(Account, account.id)
        status = row.subscription_status if row is not None else None
    return {
        "payments_configured": payments_configured(p),
        "subscribed": status in checkout.ACTIVE_STATUSES,
        "subscription_status": status,
        "plans": [
            {
                "name": name,
                "price_usd": plan.price_usd,
                "monthly_credits": plan.monthly_credits,
                "daily_credits": plan.daily_credits,
                "priority": plan.priority,
                "concurrency": plan.concurrency,
            }
            for name, plan in sheet.plans.items()
            if plan.price_usd > 0 and not plan.postpaid
        ],
        "packs": [
            {"name": name, "credits": pack.credits, "price_usd": pack.price_usd}
            for name, pack in sheet.topups.packs.items()
        ],
        "topup_valid_days": sheet.topups.valid_days,
    }


def start_checkout(
    p: Platform, account: AccountRef, *, kind: str, plan: str | None, pack: str | None
) -> dict[str, Any]:
    """A Stripe Checkout Session (checkout.create_checkout, with its default return pages
    /billing/success and /billing/cancel); refused while payments are not configured."""
    if not payments_configured(p):
        raise checkout.not_configured("RF_STRIPE_SECRET_KEY and RF_STRIPE_WEBHOOK_SECRET")
    session = checkout.create_checkout(p, account, kind=kind, plan=plan, pack=pack)
    if not str(session.get("url") or "").startswith("https://"):
        raise PaymentProviderError("Stripe answered without a checkout page address")
    return session


def history(p: Platform, account_id: str, page: int = 1) -> dict[str, Any]:
    """One page of the account's ledger transactions, newest first. `change` is what each
    did to the credits the account can spend (its lots, or its postpaid debt), `held` what
    it did to the credits reserved for jobs. Markers that move no credits (an allowance
    with nothing left to grant) are left out."""
    mine = (LedgerTransaction.account_id == account_id) & (LedgerTransaction.kind != "allowance")
    with p.db.session(write=False) as s:
        total = int(s.scalar(select(func.count()).select_from(LedgerTransaction).where(mine)) or 0)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        txns = s.scalars(
            select(LedgerTransaction)
            .where(mine)
            .order_by(LedgerTransaction.created_at.desc(), LedgerTransaction.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
        sums: dict[tuple[str, str], int] = {}
        if txns:
            for txn_id, book, amount in s.execute(
                select(LedgerEntry.txn_id, LedgerEntry.book, func.sum(LedgerEntry.amount))
                .where(
                    LedgerEntry.txn_id.in_([t.id for t in txns]),
                    LedgerEntry.account_id == account_id,
                )
                .group_by(LedgerEntry.txn_id, LedgerEntry.book)
            ).all():
                sums[(str(txn_id), str(book))] = int(amount or 0)
        rows = [
            {
                "id": t.id,
                "kind": t.kind,
                "credits": t.credits,
                "change": sums.get((t.id, LOT), 0) + sums.get((t.id, POSTPAID), 0),
                "held": sums.get((t.id, HOLD), 0),
                "job_id": t.job_id,
                "memo": t.memo,
                "created_at": t.created_at.isoformat(),
            }
            for t in txns
        ]
    return {"page": page, "pages": pages, "total": total, "page_size": PAGE_SIZE, "rows": rows}
