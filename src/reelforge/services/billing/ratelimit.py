"""Request rate limits per API key: token buckets refilled continuously, one for requests
that create work (the plan's `requests_per_minute`) and one for reads (`reads_per_minute`,
much larger: a client polling a job, following its events or downloading the result is never
refused for it). State is per API process (a fleet behind a load balancer multiplies the
allowance by its process count; budgets and concurrency limits are exact, in the database)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from reelforge.errors import RateLimited


@dataclass(frozen=True)
class RateState:
    """Where a key stands after a request: what the X-RateLimit-* headers say."""

    limit: int  # requests a minute
    remaining: int  # whole requests left now
    reset_s: float  # seconds until the bucket is full again
    retry_after: float | None  # refused: seconds until one request is allowed

    @property
    def allowed(self) -> bool:
        return self.retry_after is None

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_s)),
        }


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last refill)
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def take(self, key: str, per_minute: int) -> RateState:
        """Take one token for `key` if there is one; the state says whether it was allowed."""
        now = self._clock()
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            retry_after: float | None = None
            if tokens < 1.0:
                retry_after = (1.0 - tokens) / rate
            else:
                tokens -= 1.0
                if len(self._buckets) >= self._max_keys and key not in self._buckets:
                    self._buckets.clear()  # bounded memory; a reset only ever allows more
            self._buckets[key] = (tokens, now)
        return RateState(
            limit=per_minute,
            remaining=int(tokens),
            reset_s=(per_minute - tokens) / rate,
            retry_after=retry_after,
        )

    def hit(self, key: str, per_minute: int) -> RateState:
        """Take one token for `key`; RateLimited (with Retry-After) when none is left."""
        state = self.take(key, per_minute)
        if state.retry_after is not None:
            raise RateLimited(
                f"more than {per_minute} requests a minute with this key; slow down",
                code="rate_limited",
                retry_after=state.retry_after,
            )
        return state
