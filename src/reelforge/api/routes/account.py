"""/v1/account and /v1/quotes: the caller's plan and balance, and prices before submit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from reelforge.api import schemas
from reelforge.api.deps import CurrentAccount, PlatformDep
from reelforge.services.billing import customers, quotes
from reelforge.services.jobs.submit import SubmitRequest

router = APIRouter(tags=["billing"])


@router.get("/v1/account", response_model=schemas.Account)
def get_account(p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    """Plan, limits, credit balance (by lot) and credits spent today and this month."""
    return customers.me(p, account)


@router.post("/v1/quotes", response_model=schemas.Quote)
def create_quote(body: SubmitRequest, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    """Credits and estimated cost of a request (the body of POST /v1/videos); writes nothing."""
    return quotes.quote(p, account, body)
