"""Stripe's webhook: events become plan changes, credit grants and revenue rows.

Stripe is the source of truth for money, the ledger for credits. Every Stripe event is
applied at most once, in the same transaction as the `stripe_events` row that records it, so
a retried or replayed delivery changes nothing. Subscription credits come from `invoice.paid`
(one grant per invoice), top-up credits from the completed checkout session (one grant per
session); both grants are also idempotent in the ledger itself.

Stripe does not promise the order of events, so each handler finds the account by whatever
the event carries (customer id, subscription id, our metadata) and links what it learns.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.billing.sheet import BillingSheet, Plan
from reelforge.errors import InvalidRequest, WebhookRejected
from reelforge.services.billing import ledger
from reelforge.services.billing.charges import sheet_of
from reelforge.services.billing.checkout import ACTIVE_STATUSES, not_configured
from reelforge.storage import repositories as repo
from reelforge.storage.billing_tables import Payment, StripeEvent
from reelforge.storage.tables import Account

log = logging.getLogger(__name__)

FREE = "free"
# Statuses after which the subscription no longer pays for the plan.
ENDED_STATUSES = ("canceled", "unpaid", "incomplete_expired", "paused")
PAID_SESSION = ("paid", "no_payment_required")
TOPUP_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
# A grant that Stripe gave no period for lasts about a month, like a plan's own grant.
_DEFAULT_PERIOD = timedelta(days=31)


# -- webhook --------------------------------------------------------------------------------


def handle_stripe_webhook(p: Platform, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Verify a Stripe webhook delivery and apply its event once.

    A delivery that does not verify (signature, or a timestamp older than Stripe's
    5-minute tolerance) is refused with `invalid_signature` and changes nothing. An event
    already applied answers `duplicate: true`. Events for accounts reelforge does not know,
    and event types it does not use, are recorded and acknowledged so Stripe stops retrying.
    """
    secret = (
        p.settings.stripe_webhook_secret.get_secret_value()
        if p.settings.stripe_webhook_secret
        else None
    )
    if not secret:
        raise not_configured("RF_STRIPE_WEBHOOK_SECRET")
    data = _verified_event(payload, signature, secret)
    event_id, etype = data.get("id"), data.get("type")
    obj = _dict(data.get("data")).get("object")
    if not isinstance(event_id, str) or not isinstance(etype, str) or not isinstance(obj, dict):
        raise WebhookRejected("the webhook body is not a Stripe event", code="invalid_payload")

    sheet = sheet_of(p)
    now = p.clock()
    try:
        with p.db.session() as s:
            if s.get(StripeEvent, event_id) is not None:
                return {"received": True, "duplicate": True}
            # Claim the event id before applying it: a concurrent delivery of the same event
            # waits on this primary key and then fails, instead of applying it twice.
            row = StripeEvent(
                id=event_id, type=etype[:60], account_id=None, result="applying", received_at=now
            )
            s.add(row)
            s.flush()
            account_id, result = _apply(s, sheet, etype, obj, now)
            row.account_id, row.result = account_id, result[:200]
    except IntegrityError:
        if not _seen(p, event_id):
            raise
        return {"received": True, "duplicate": True}
    if result in ("unknown_account", "unknown_plan", "unknown_pack"):
        log.warning(
            "stripe event %s (%s): %s; acknowledged, an operator should look",
            event_id,
            etype,
            result,
        )
    return {"received": True, "duplicate": False, "event": event_id, "result": result}


def _verified_event(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event object of a delivery whose signature verifies; WebhookRejected otherwise
    (`invalid_signature`, or `invalid_payload` for a body that is not a JSON object). The
    header arrives as latin-1: a non-ASCII one cannot be Stripe's (and `compare_digest`
    refuses non-ASCII str), so it is refused before any comparison."""
    if signature is not None and not signature.isascii():
        raise WebhookRejected("the Stripe-Signature header does not verify: it is not ASCII")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(
            "the webhook body is not UTF-8 JSON", code="invalid_payload"
        ) from None
    try:
        stripe.WebhookSignature.verify_header(
            text, signature, secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(f"the Stripe-Signature header does not verify: {exc}") from None
    except (ValueError, OverflowError):  # a timestamp that is not a sane integer
        raise WebhookRejected(
            "the Stripe-Signature header does not verify: bad timestamp"
        ) from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        raise WebhookRejected(
            "the webhook body is not a Stripe event", code="invalid_payload"
        ) from None
    if not isinstance(data, dict):
        raise WebhookRejected(
            "the webhook body is not a Stripe event (not a JSON object)", code="invalid_payload"
        )
    if _unstorable(data):
        raise WebhookRejected(
            "the webhook body holds a NUL or a lone surrogate, which Stripe never sends",
            code="invalid_payload",
        )
    return data


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _unstorable(value: object, depth: int = 0) -> bool:
    """A string (or key) no database text column can hold: NUL (PostgreSQL) or a lone
    surrogate (not encodable); also anything nested past 100 levels."""
    if depth > 100:
        return True
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(k, depth) or _unstorable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v, depth + 1) for v in value)
    return False


def _seen(p: Platform, event_id: str) -> bool:
    with p.db.session(write=False) as s:
        return s.get(StripeEvent, event_id) is not None


def _apply(
    s: Session, sheet: BillingSheet, etype: str, obj: dict[str, Any], now: datetime
) -> tuple[str | None, str]:
    """Apply one event; (account id or None, result recorded on the event)."""
    if etype in TOPUP_EVENTS:
        return _checkout_completed(s, sheet, obj, now)
    if etype == "invoice.paid":
        return _invoice_paid(s, sheet, obj, now)
    if etype == "customer.subscription.updated":
        return _subscription_changed(s, sheet, obj, now, deleted=False)
    if etype == "customer.subscription.deleted":
        return _subscription_changed(s, sheet, obj, now, deleted=True)
    return None, "ignored"


# -- event pieces ---------------------------------------------------------------------------


def _id(value: object) -> str | None:
    """An object reference, whether Stripe sent the id or the expanded object."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) and found else None
    return None


def _dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _amount(value: object, what: str) -> int:
    """Cents as Stripe sends them: a whole, non-negative number; anything else is refused
    before a row is written (the transaction rolls back)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(
            f"{what} must be a non-negative whole number of cents, got {value!r}",
            code="invalid_amount",
            field=what,
        )
    return value


_MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z


def _time(value: object) -> datetime | None:
    """A Unix time as Stripe sends it; None for anything else (an absurd value too)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_TIMESTAMP:
        return None
    return datetime.fromtimestamp(value, UTC)


def _find_account(
    s: Session,
    *,
    account_id: object = None,
    customer: str | None = None,
    subscription: str | None = None,
    prefer_id: bool = False,
) -> Account | None:
    """The account an event is about. Checkout sessions carry our account id (preferred);
    invoices and subscriptions are found by the customer, then the subscription, then the
    metadata we put on the subscription."""
    by_id = s.get(Account, account_id) if isinstance(account_id, str) and account_id else None
    if prefer_id and by_id is not None:
        return by_id
    if customer:
        found = s.scalars(
            select(Account)
            .where(Account.stripe_customer_id == customer)
            .order_by(Account.created_at)
        ).first()
        if found is not None:
            return found
    if subscription:
        found = s.scalars(
            select(Account).where(Account.stripe_subscription_id == subscription)
        ).first()
        if found is not None:
            return found
    return by_id


def _link(account: Account, customer: str | None, subscription: str | None) -> None:
    if customer and not account.stripe_customer_id:
        account.stripe_customer_id = customer
    if subscription:
        account.stripe_subscription_id = subscription


def _set_plan(
    s: Session, account: Account, plan: str, now: datetime, *, sheet: BillingSheet | None = None
) -> bool:
    """Put the account on `plan`, managed by Stripe; a PlanChange when it really changes.

    The plan-change rule of docs/billing.md, as for an operator's change: what is left of
    the old plan's allowance ends here; with `sheet`, the new plan's allowance for the
    subscription's current period (known and still running) is granted at once, less what
    was used of this period's allowance. Without it (a first checkout, an invoice that grants
    its own), the credits come with `invoice.paid`."""
    account.plan_source = "stripe"
    if account.plan == plan:
        return False
    memo = f"plan change {account.plan} -> {plan} (stripe)"
    change = ledger.change_plan(s, account, plan, "stripe", now, memo=memo)
    new = sheet.plans.get(plan) if sheet is not None else None
    period_end = account.period_end
    if new is not None and new.monthly_credits > 0 and period_end is not None and period_end > now:
        ledger.replace_allowance(
            s,
            account_id=account.id,
            source="monthly",
            credits=new.monthly_credits,
            period_end=period_end,
            key=f"plan_change:{change.id}:allowance",
            now=now,
            unit_usd=new.unit_usd,
            memo=memo,
        )
    return True


def _plan_named(sheet: BillingSheet, price: str | None, metadata_plan: object) -> Plan | None:
    """The plan a Stripe price stands for; the plan in our metadata when the price is not on
    the sheet (an inline `price_data` price has an id made up at checkout)."""
    if price:
        found = sheet.plan_for_price(price)
        if found is not None:
            return found
    if isinstance(metadata_plan, str) and metadata_plan in sheet.plans:
        return sheet.plans[metadata_plan]
    return None


# -- checkout.session.completed -------------------------------------------------------------


def _checkout_completed(
    s: Session, sheet: BillingSheet, cs: dict[str, Any], now: datetime
) -> tuple[str | None, str]:
    session_id = _id(cs)
    mode = cs.get("mode")
    meta = _dict(cs.get("metadata"))
    if session_id is None:
        raise WebhookRejected("checkout session without an id", code="invalid_payload")
    total = cs.get("amount_total")
    amount = 0 if total is None else _amount(total, "amount_total")
    customer = _id(cs.get("customer"))
    account = _find_account(
        s,
        account_id=cs.get("client_reference_id") or meta.get("account_id"),
        customer=customer,
        prefer_id=True,
    )
    if account is None:
        return None, "unknown_account"
    repo.reread_locked(s, account)  # the plan a concurrent event may just have written
    paid = cs.get("payment_status") in PAID_SESSION
    if mode == "payment":
        _link(account, customer, None)
        if meta.get("kind") != "topup":
            return account.id, "ignored"  # a payment this deployment did not start
        if not paid:
            # Delayed methods (bank debits): checkout.session.async_payment_succeeded follows.
            return account.id, "payment_pending"
        return account.id, _grant_topup(s, sheet, account, session_id, amount, cs, meta, now)
    if mode == "subscription":
        _link(account, customer, _id(cs.get("subscription")))
        if not paid:
            return account.id, "payment_pending"  # invoice.paid will set the plan
        plan = _plan_named(sheet, None, meta.get("plan"))
        if plan is None:
            return account.id, "unknown_plan"
        # Credits come from invoice.paid: one grant per paid period, whatever the order.
        _set_plan(s, account, plan.name, now)
        account.subscription_status = account.subscription_status or "active"
        return account.id, "subscribed"
    return account.id, "ignored"


def _grant_topup(
    s: Session,
    sheet: BillingSheet,
    account: Account,
    session_id: str,
    amount: int,
    cs: dict[str, Any],
    meta: dict[str, Any],
    now: datetime,
) -> str:
    name = meta.get("pack")
    pack = sheet.topups.packs.get(name) if isinstance(name, str) else None
    credits: object = pack.credits if pack is not None else None
    if credits is None:
        # The pack left the sheet after the customer paid: honour what checkout promised.
        raw = meta.get("credits")
        credits = int(raw) if isinstance(raw, str) and raw.isdigit() else None
    if not isinstance(credits, int) or credits <= 0:
        return "unknown_pack"
    ledger.grant(
        s,
        account_id=account.id,
        credits=credits,
        source="topup",
        key=f"topup:{session_id}",
        now=now,
        expires_at=now + timedelta(days=sheet.topups.valid_days),
        unit_usd=amount / 100 / credits,
        memo=f"stripe checkout {session_id} ({name})",
    )
    if s.get(Payment, session_id) is None:
        s.add(
            Payment(
                id=session_id,
                account_id=account.id,
                provider="stripe",
                kind="topup",
                plan=account.plan,
                amount_cents=amount,
                currency=str(cs.get("currency") or "usd")[:3],
                credits=credits,
                simulated=account.simulated,
                created_at=now,
            )
        )
    return "topup_granted"


# -- invoice.paid ---------------------------------------------------------------------------


def _invoice_subscription(inv: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(subscription id, its metadata) in both invoice shapes: `parent.subscription_details`
    (API 2025-03 and later) and the older top-level `subscription`/`subscription_details`."""
    details = _dict(_dict(inv.get("parent")).get("subscription_details"))
    if details:
        return _id(details.get("subscription")), _dict(details.get("metadata"))
    return (
        _id(inv.get("subscription")),
        _dict(_dict(inv.get("subscription_details")).get("metadata")),
    )


def _line_price(line: dict[str, Any]) -> str | None:
    pricing = _dict(_dict(line.get("pricing")).get("price_details"))
    return _id(pricing.get("price")) or _id(line.get("price")) or _id(line.get("plan"))


def _invoice_plan(
    sheet: BillingSheet, inv: dict[str, Any], meta: dict[str, Any]
) -> tuple[Plan | None, datetime | None]:
    """The plan an invoice pays for and the end of the period it pays: the first line that
    charges for a plan (proration credits for the old plan are negative and skipped)."""
    lines = [_dict(x) for x in _dict(inv.get("lines")).get("data") or []]
    first_end: datetime | None = None
    for line in lines:
        end = _time(_dict(line.get("period")).get("end"))
        first_end = first_end or end
        amount = line.get("amount")
        if isinstance(amount, int) and amount < 0:
            continue
        plan = _plan_named(sheet, _line_price(line), _dict(line.get("metadata")).get("plan"))
        if plan is not None:
            return plan, end
    return _plan_named(sheet, None, meta.get("plan")), first_end


def _invoice_paid(
    s: Session, sheet: BillingSheet, inv: dict[str, Any], now: datetime
) -> tuple[str | None, str]:
    invoice_id = _id(inv)
    if invoice_id is None:
        raise WebhookRejected("invoice without an id", code="invalid_payload")
    amount = _amount(inv.get("amount_paid"), "amount_paid")
    customer = _id(inv.get("customer"))
    sub_id, meta = _invoice_subscription(inv)
    plan, period_end = _invoice_plan(sheet, inv, meta)
    if sub_id is None and plan is None:
        return None, "ignored"  # a one-off invoice, not a subscription of ours
    account = _find_account(
        s, account_id=meta.get("account_id"), customer=customer, subscription=sub_id
    )
    if account is None:
        return None, "unknown_account"
    repo.reread_locked(s, account)  # the plan a concurrent event may just have written
    ended = (
        account.stripe_subscription_id == sub_id and account.subscription_status in ENDED_STATUSES
    )
    _link(account, customer, sub_id)
    if plan is None:
        _record_subscription_payment(s, account, invoice_id, None, amount, inv, 0, now)
        return account.id, "unknown_plan"
    # Stripe sends no order: this may come before checkout.session.completed, so it sets the
    # plan too; but a late invoice never revives a subscription already ended.
    if not ended:
        _set_plan(s, account, plan.name, now)
        if account.subscription_status in (None, "incomplete", "past_due"):
            account.subscription_status = "active"  # what a paid invoice makes it
    expires = period_end if period_end is not None else now + _DEFAULT_PERIOD
    credits = plan.monthly_credits
    if credits > 0:
        # the period's allowance, replacing any other (a proration invoice after a plan
        # change, or a renewal); what was used of this period's allowance counts against it
        ledger.replace_allowance(
            s,
            account_id=account.id,
            credits=credits,
            source="monthly",
            period_end=expires,
            key=f"invoice:{invoice_id}",
            now=now,
            unit_usd=amount / 100 / credits,
            memo=f"stripe invoice {invoice_id} ({plan.name})",
        )
    _record_subscription_payment(s, account, invoice_id, plan.name, amount, inv, credits, now)
    account.period_end = expires
    return account.id, "credits_granted" if credits > 0 else "paid"


def _record_subscription_payment(
    s: Session,
    account: Account,
    invoice_id: str,
    plan: str | None,
    amount: int,
    inv: dict[str, Any],
    credits: int,
    now: datetime,
) -> None:
    if s.get(Payment, invoice_id) is None:
        s.add(
            Payment(
                id=invoice_id,
                account_id=account.id,
                provider="stripe",
                kind="subscription",
                plan=plan,
                amount_cents=amount,
                currency=str(inv.get("currency") or "usd")[:3],
                credits=credits,
                simulated=account.simulated,
                created_at=now,
            )
        )


# -- customer.subscription.updated / deleted ------------------------------------------------


def _subscription_items(sub: dict[str, Any]) -> list[dict[str, Any]]:
    return [_dict(x) for x in _dict(sub.get("items")).get("data") or []]


def _subscription_changed(
    s: Session, sheet: BillingSheet, sub: dict[str, Any], now: datetime, *, deleted: bool
) -> tuple[str | None, str]:
    sub_id = _id(sub)
    if sub_id is None:
        raise WebhookRejected("subscription without an id", code="invalid_payload")
    customer = _id(sub.get("customer"))
    meta = _dict(sub.get("metadata"))
    status = "canceled" if deleted else str(sub.get("status") or "")
    account = _find_account(
        s, account_id=meta.get("account_id"), customer=customer, subscription=sub_id
    )
    if account is None:
        return None, "unknown_account"
    repo.reread_locked(s, account)  # the plan a concurrent event may just have written
    ended = deleted or status in ENDED_STATUSES
    if account.stripe_subscription_id and account.stripe_subscription_id != sub_id and ended:
        # The end of an older subscription must not cancel the one the account has now.
        return account.id, "stale_subscription"
    _link(account, customer, sub_id)
    account.subscription_status = status[:30]
    items = _subscription_items(sub)
    period = _time(sub.get("current_period_end")) or next(
        (t for t in (_time(i.get("current_period_end")) for i in items) if t), None
    )
    if period is not None:
        account.period_end = period
    if ended:
        # Only a plan Stripe manages goes back to free; an operator's choice stays.
        if account.plan_source == "stripe" and _set_plan(s, account, FREE, now):
            return account.id, "downgraded"
        return account.id, "status_updated"
    if status not in ACTIVE_STATUSES:
        return account.id, "status_updated"  # incomplete: nothing is paid for yet
    plan = next(
        (pl for pl in (_plan_named(sheet, _id(i.get("price")), None) for i in items) if pl), None
    ) or _plan_named(sheet, None, meta.get("plan"))
    if plan is None:
        return account.id, "unknown_plan"
    return account.id, "plan_changed" if _set_plan(
        s, account, plan.name, now, sheet=sheet
    ) else "status_updated"
