"""Small helpers shared by tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.domain.job import FINAL_STATUSES
from reelforge.services.jobs import queries

FINAL = tuple(str(s) for s in FINAL_STATUSES)  # nothing more happens by itself


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def wait_final(
    p: Platform, account: AccountRef, job_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        job = queries.get_job(p, account, job_id)
        return job if job["status"] in FINAL else None

    return wait_for(final, timeout)  # type: ignore[no-any-return]


def event_types(p: Platform, account: AccountRef, job_id: str) -> list[str]:
    events, _ = queries.events_since(p, account, job_id, 0)
    return [e["type"] for e in events]
