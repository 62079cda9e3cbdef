"""Typed dependencies: the platform and the authenticated account."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.errors import Forbidden, RateLimited, Unauthorized
from reelforge.services.accounts import accounts


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


# Declares the scheme in OpenAPI (/docs gets an "Authorize" button); the header is checked
# below, so a missing key gets our own 401 error, not FastAPI's.
bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="API key",
    description="An API key: `reelforge keys create --account NAME`.",
)


def current_account(
    request: Request,
    p: PlatformDep,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> AccountRef:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "send `Authorization: Bearer <API key>`; create a key with "
            "`reelforge keys create --account NAME`"
        )
    account = accounts.authenticate(p, token.strip())
    if p.billing is not None and account.key_id:
        read = is_read(request)
        state = p.billing.limit_rate(account.key_id, account.plan, read=read)
        request.state.rate_limit = state.headers()  # sent by RateLimitHeaders
        if not state.allowed:
            raise RateLimited(
                f"more than {state.limit} {'reads' if read else 'work-creating requests'} a "
                f"minute with this key; slow down",
                code="rate_limited",
                retry_after=state.retry_after,
            )
    return account


def is_read(request: Request) -> bool:
    """Which budget a request counts against. Only requests that create work (submit,
    promote, upload, quote, ...) count against the plan's `requests_per_minute`; reads
    (status polls, lists, SSE, downloads) and requests that stop or remove work (cancel,
    DELETE: a client must always be able to stop spending) count against `reads_per_minute`."""
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return True
    return request.url.path.rstrip("/").endswith("/cancel")


CurrentAccount = Annotated[AccountRef, Depends(current_account)]


def admin_account(account: CurrentAccount) -> AccountRef:
    if not account.is_admin:
        raise Forbidden(
            "this route is for operators; use a key made with "
            "`reelforge keys create --account NAME --admin`"
        )
    return account


AdminAccount = Annotated[AccountRef, Depends(admin_account)]
