"""Payments through Stripe: Checkout Sessions for subscriptions and top-up packs. The
webhook that turns Stripe's events into plan changes, credit grants and revenue rows is in
`services/billing/payment_events.py`."""

from __future__ import annotations

from typing import Any, Literal, cast

import stripe
from pydantic import BaseModel, ConfigDict, Field

from reelforge.app.platform import Platform
from reelforge.billing.sheet import BillingSheet, Pack, Plan
from reelforge.domain.account import AccountRef
from reelforge.errors import CapabilityMissing, Conflict, InvalidRequest, PaymentProviderError
from reelforge.services.billing.charges import sheet_of
from reelforge.storage.tables import Account

# Subscription statuses under which the customer keeps the paid plan (past_due: Stripe is
# still retrying the card; cutting access is its dunning settings' call, not ours).
ACTIVE_STATUSES = ("active", "trialing", "past_due")


class CheckoutRequest(BaseModel):
    """The body of POST /v1/billing/checkout."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["subscription", "topup"] = Field(
        description="subscription (a plan) or topup (a credit pack)."
    )
    plan: str | None = Field(
        default=None, max_length=40, description="The plan to subscribe to (kind=subscription)."
    )
    pack: str | None = Field(
        default=None, max_length=40, description="The credit pack to buy (kind=topup)."
    )
    success_url: str | None = Field(
        default=None, max_length=2000, description="Where Stripe sends the customer after paying."
    )
    cancel_url: str | None = Field(
        default=None, max_length=2000, description="Where Stripe sends the customer on cancel."
    )


def not_configured(what: str) -> CapabilityMissing:
    return CapabilityMissing(
        f"payments are not configured on this deployment: the operator sets {what}",
        code="payments_not_configured",
    )


# -- checkout -------------------------------------------------------------------------------


def _purchasable_plan(sheet: BillingSheet, name: str | None) -> Plan:
    offered = [n for n, pl in sheet.plans.items() if pl.price_usd > 0 and not pl.postpaid]
    if not name or name not in sheet.plans:
        raise InvalidRequest(
            f"unknown plan {name!r}; plans on sale: {', '.join(offered)}",
            code="unknown_plan",
            field="plan",
        )
    plan = sheet.plans[name]
    # Free has nothing to pay; enterprise and internal are invoiced or arranged by the
    # operator, never bought at checkout.
    if plan.price_usd <= 0 or plan.postpaid:
        raise InvalidRequest(
            f"the {name} plan cannot be bought; plans on sale: {', '.join(offered)}",
            code="plan_not_purchasable",
            field="plan",
        )
    return plan


def _pack(sheet: BillingSheet, name: str | None) -> Pack:
    packs = sheet.topups.packs
    if not name or name not in packs:
        raise InvalidRequest(
            f"unknown top-up pack {name!r}; packs: {', '.join(packs)}",
            code="unknown_pack",
            field="pack",
        )
    return packs[name]


def _return_url(url: str | None, default: str, field: str) -> str:
    if url is None:
        return default
    if not url.startswith(("https://", "http://")):
        raise InvalidRequest(f"{field} must be an http(s) URL", field=field)
    return url


def _cents(usd: float) -> int:
    return round(usd * 100)


def create_checkout(
    p: Platform,
    account: AccountRef,
    *,
    kind: str,
    plan: str | None = None,
    pack: str | None = None,
    success_url: str | None = None,
    cancel_url: str | None = None,
    http_client: stripe.HTTPClient | None = None,
) -> dict[str, Any]:
    """A Stripe Checkout Session that subscribes the account to `plan` (kind=subscription)
    or buys the top-up `pack` (kind=topup); the customer pays at the returned `url`.
    Nothing changes here: the webhook applies the purchase once Stripe confirms it.
    `http_client` replaces the Stripe library's HTTP transport (tests)."""
    key = p.settings.stripe_secret_key.get_secret_value() if p.settings.stripe_secret_key else None
    if not key:
        raise not_configured("RF_STRIPE_SECRET_KEY")
    sheet = sheet_of(p)
    base = p.settings.public_url.rstrip("/")
    success = _return_url(
        success_url, f"{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}", "success_url"
    )
    cancel = _return_url(cancel_url, f"{base}/billing/cancel", "cancel_url")
    with p.db.session(write=False) as s:
        row = s.get(Account, account.id)
        assert row is not None
        customer, sub_id, sub_status = (
            row.stripe_customer_id,
            row.stripe_subscription_id,
            row.subscription_status,
        )

    metadata: dict[str, str] = {"account_id": account.id, "kind": kind}
    params: dict[str, Any] = {
        "client_reference_id": account.id,
        "success_url": success,
        "cancel_url": cancel,
        "metadata": metadata,
    }
    if kind == "subscription":
        chosen = _purchasable_plan(sheet, plan)
        if sub_id and sub_status in ACTIVE_STATUSES:
            # A second checkout would start a second subscription billed in parallel.
            raise Conflict(
                f"the account already has a Stripe subscription ({sub_id}, "
                f"{sub_status}); change or cancel that one instead",
                code="already_subscribed",
                field="plan",
            )
        metadata.update(plan=chosen.name, credits=str(chosen.monthly_credits))
        item: dict[str, Any] = {"quantity": 1}
        if chosen.stripe_price:
            item["price"] = chosen.stripe_price
        else:
            item["price_data"] = {
                "currency": "usd",
                "unit_amount": _cents(chosen.price_usd),
                "recurring": {"interval": "month"},
                "product_data": {"name": f"reelforge {chosen.name} plan"},
            }
        params.update(
            mode="subscription",
            line_items=[item],
            subscription_data={"metadata": {"account_id": account.id, "plan": chosen.name}},
        )
    elif kind == "topup":
        bought = _pack(sheet, pack)
        assert pack is not None
        metadata.update(pack=pack, credits=str(bought.credits))
        item = {"quantity": 1}
        if bought.stripe_price:
            item["price"] = bought.stripe_price
        else:
            item["price_data"] = {
                "currency": "usd",
                "unit_amount": _cents(bought.price_usd),
                "product_data": {"name": f"{bought.credits} reelforge credits"},
            }
        params.update(mode="payment", line_items=[item])
        if not customer:
            # So that later purchases and subscriptions land on one Stripe customer.
            params["customer_creation"] = "always"
    else:
        raise InvalidRequest("kind must be subscription or topup", field="kind")
    if customer:
        params["customer"] = customer

    client = stripe.StripeClient(key, http_client=http_client)
    try:
        session = client.v1.checkout.sessions.create(params=cast(Any, params))
    except stripe.StripeError as exc:
        raise PaymentProviderError(
            f"Stripe refused the checkout session: {exc.user_message or exc}"
        ) from None
    return {"object": "checkout_session", "id": session.id, "url": session.url}
