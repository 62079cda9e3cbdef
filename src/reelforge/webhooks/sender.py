"""POST a signed body; report what happened (never raises for network trouble)."""

from __future__ import annotations

import time
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


def send_signed(url: str, body: bytes, *, secret: str, event: str, delivery_id: str,
                timeout: float) -> SendResult:
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"reelforge-webhooks/{__version__}",
        SIGNATURE_HEADER: sign(secret, body, timestamp),
        "Reelforge-Timestamp": str(timestamp),
        "Reelforge-Event": event,
        "Reelforge-Delivery": delivery_id,
    }
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return SendResult(False, None, f"{type(exc).__name__}: {exc}"[:500],
                          (time.perf_counter() - started) * 1000)
    ms = (time.perf_counter() - started) * 1000
    ok = 200 <= response.status_code < 300
    return SendResult(ok, response.status_code, None if ok else f"HTTP {response.status_code}", ms)
