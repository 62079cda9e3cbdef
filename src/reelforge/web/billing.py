"""The billing page (/billing): plan, balance by lot with expiry, ledger history a page at a
time, and upgrade or top-up through Stripe Checkout where payments are configured (the same
checkout service as POST /v1/billing/checkout; credits arrive with Stripe's webhook).
Stripe sends the customer back to /billing/success or /billing/cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from reelforge.errors import ReelforgeError
from reelforge.services.accounts.signin import WebUser
from reelforge.services.billing import customers, statement
from reelforge.web import security
from reelforge.web.i18n import N_
from reelforge.web.pages import (
    Text,
    message,
    platform_of,
    redirect,
    register_errors,
    register_pages,
    render,
    require_user,
    translate,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(security.csrf_protect)])
register_pages("/billing")
register_errors(
    {
        "payments_not_configured": N_(
            "Payments are not configured on this deployment. Ask the operator for credits."
        ),
        "already_subscribed": N_(
            "You already have a subscription. It is changed or cancelled at Stripe, not here."
        ),
        "unknown_plan": N_("Choose one of the plans on sale."),
        "plan_not_purchasable": N_("This plan cannot be bought here."),
        "unknown_pack": N_("Choose one of the top-up packs."),
        "payment_provider_error": N_(
            "The payment provider refused the request. Nothing was charged; try again later."
        ),
    }
)

# (ERROR_TEXT is shared by every page: the billing-off words here are this page's own)
BILLING_OFF = N_("Billing is off on this deployment: generating costs no credits.")

# Checkout answers with a redirect to Stripe's page: the page's form-action must allow it.
STRIPE_CHECKOUT = "https://checkout.stripe.com"
CSP = security.CSP.replace("form-action 'self'", f"form-action 'self' {STRIPE_CHECKOUT}")

KINDS = {
    "grant": N_("Credits added"),
    "reserve": N_("Held for a job"),
    "capture": N_("Charged for a job"),
    "release": N_("Returned from a job"),
    "charge": N_("Charged"),
    "expire": N_("Expired"),
    "invoice": N_("Invoiced"),
}
SOURCES = {
    "daily": N_("Daily plan credits"),
    "monthly": N_("Monthly plan credits"),
    "topup": N_("Top-up"),
    "grant": N_("Grant"),
}
NOTICES = {
    "success": N_(
        "Thank you. The payment is being confirmed: the credits appear here within a minute."
    ),
    "cancel": N_("Payment cancelled. Nothing was charged."),
}


def when(iso: str | None) -> str:
    """An ISO time from the services as the page shows it (UTC, to the minute)."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _page(
    request: Request,
    user: WebUser,
    *,
    page: int = 1,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    p = platform_of(request)
    context: dict[str, Any] = {"notice": notice, "error": error, "when": when}
    try:
        context["summary"] = customers.summary(p, user.account.id)
    except ReelforgeError as exc:
        if exc.code != "billing_disabled":
            raise
        # billing is off: nothing is charged, nothing to buy
        context.update(summary=None, off=translate(request, BILLING_OFF))
    else:
        context.update(
            offers=statement.offers(p, user.account),
            history=statement.history(p, user.account.id, page),
            kinds=KINDS,
            sources=SOURCES,
        )
    response = render(request, "billing.html", status=status, **context)
    response.headers["content-security-policy"] = CSP
    return response


@router.get("/billing")
def billing_page(
    request: Request,
    page: Annotated[int, Query(ge=1, le=statement.MAX_PAGE)] = 1,
    notice: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    user = require_user(request)
    if not isinstance(user, WebUser):
        return user
    return _page(request, user, page=page, notice=NOTICES.get(notice))


# Stripe's return pages (checkout.create_checkout's defaults) lead to the billing page with
# a word on what happened; the credits themselves arrive with Stripe's webhook.
@router.get("/billing/success")
def billing_success(request: Request) -> Response:
    user = require_user(request)  # like every page: no session, sign in first
    if not isinstance(user, WebUser):
        return user
    return redirect(request, "/billing?notice=success")


@router.get("/billing/cancel")
def billing_cancel(request: Request) -> Response:
    user = require_user(request)
    if not isinstance(user, WebUser):
        return user
    return redirect(request, "/billing?notice=cancel")


@router.post("/billing/checkout")
def billing_checkout(
    request: Request, kind: Text = "", plan: Text = "", pack: Text = ""
) -> Response:
    user = require_user(request)
    if not isinstance(user, WebUser):
        return user
    try:
        session = statement.start_checkout(
            platform_of(request),
            user.account,
            kind=kind,
            plan=plan or None,
            pack=pack or None,
        )
    except ReelforgeError as exc:
        return _page(request, user, status=exc.http_status, error=message(request, exc))
    return redirect(request, str(session["url"]))
