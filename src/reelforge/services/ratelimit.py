"""Request rate limits per API key: a token bucket holding the plan's requests per minute,
refilled continuously. State is per API process (a fleet behind a load balancer multiplies
the allowance by its process count; budgets and concurrency limits are exact, in the
database)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from reelforge.errors import RateLimited


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last refill)
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, per_minute: int) -> None:
        """Take one token for `key`; RateLimited (with Retry-After) when none is left."""
        now = self._clock()
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimited(
                    f"more than {per_minute} requests a minute with this key; slow down",
                    code="rate_limited", retry_after=(1.0 - tokens) / rate)
            if len(self._buckets) >= self._max_keys and key not in self._buckets:
                self._buckets.clear()  # bounded memory; a reset only ever allows more
            self._buckets[key] = (tokens - 1.0, now)
