"""/v1/billing: start a Stripe Checkout (subscription or top-up) and receive Stripe's
webhooks, which are what actually change plans and grant credits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool

from reelforge.api import schemas
from reelforge.api.deps import CurrentAccount, PlatformDep
from reelforge.errors import PayloadTooLarge
from reelforge.services.billing import checkout, payment_events
from reelforge.services.billing.checkout import CheckoutRequest

router = APIRouter(prefix="/v1/billing", tags=["billing"])

# Stripe's events are a few kilobytes; the route is unauthenticated until the signature is
# checked, so it does not read more than this.
MAX_WEBHOOK_BYTES = 1024 * 1024


@router.post("/checkout", status_code=201, response_model=schemas.CheckoutSession)
def create_checkout(
    body: CheckoutRequest, p: PlatformDep, account: CurrentAccount
) -> dict[str, Any]:
    """A Stripe Checkout Session for a plan (`kind: subscription`) or a top-up pack
    (`kind: topup`); send the customer to its `url`. Credits arrive with Stripe's webhook."""
    return checkout.create_checkout(
        p,
        account,
        kind=body.kind,
        plan=body.plan,
        pack=body.pack,
        success_url=body.success_url,
        cancel_url=body.cancel_url,
    )


@router.post("/stripe/webhook", response_model=schemas.WebhookAck)
async def stripe_webhook(
    request: Request,
    p: PlatformDep,
    stripe_signature: str | None = Header(
        default=None,
        description="Stripe's signature of the body (checked with the webhook secret).",
    ),
) -> dict[str, Any]:
    """Stripe's webhook endpoint: no bearer key, the `Stripe-Signature` header is the proof."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise PayloadTooLarge(f"webhook bodies are at most {MAX_WEBHOOK_BYTES} bytes")
    # The signature is over the exact bytes received; the database work runs off the loop.
    result: dict[str, Any] = await run_in_threadpool(
        payment_events.handle_stripe_webhook, p, bytes(body), stripe_signature
    )
    return result
