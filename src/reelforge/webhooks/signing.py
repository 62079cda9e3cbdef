"""HMAC-SHA256 webhook signatures over "timestamp.body", Stripe-style.

Header `Reelforge-Signature: t=<unix seconds>,v1=<hex digest>`. Receivers recompute the
digest with their account's webhook secret and reject stale timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Reelforge-Signature"
DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    pass


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> int:
    """Check a signature header; returns its timestamp or raises SignatureError."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (ValueError, KeyError) as exc:
        raise SignatureError("malformed signature header") from exc
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature does not match")
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        raise SignatureError("timestamp outside tolerance (possible replay)")
    return timestamp
