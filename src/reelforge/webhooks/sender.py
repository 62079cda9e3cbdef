"""Sign a body and send it through a given connection; report what happened (never raises
for network trouble)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from reelforge import __version__
from reelforge.webhooks.signing import SIGNATURE_HEADER, sign


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float


Post = Callable[[bytes, dict[str, str]], int]
"""Sends the body with the headers to the receiver; returns the HTTP status. It raises
httpx.HTTPError for network trouble (net.outbound connects to the checked address)."""


def signed_headers(
    body: bytes, *, secret: str, event: str, delivery_id: str, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": f"reelforge-webhooks/{__version__}",
        SIGNATURE_HEADER: sign(secret, body, timestamp),
        "Reelforge-Timestamp": str(timestamp),
        "Reelforge-Event": event,
        "Reelforge-Delivery": delivery_id,
    }


def send_signed(
    post: Post, body: bytes, *, secret: str, event: str, delivery_id: str
) -> SendResult:
    """Sign and send through `post`. A redirect is not followed: it counts as a failure
    (the signed body goes only to the URL the job names)."""
    headers = signed_headers(
        body, secret=secret, event=event, delivery_id=delivery_id, timestamp=int(time.time())
    )
    started = time.perf_counter()
    try:
        status = post(body, headers)
    except httpx.HTTPError as exc:
        return SendResult(
            False,
            None,
            f"{type(exc).__name__}: {exc}"[:500],
            (time.perf_counter() - started) * 1000,
        )
    ms = (time.perf_counter() - started) * 1000
    ok = 200 <= status < 300
    return SendResult(ok, status, None if ok else f"HTTP {status}", ms)
