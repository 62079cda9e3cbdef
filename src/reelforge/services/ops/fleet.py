"""What the operator console's fleet page shows: queue depth per queue and every worker seen
lately (the same data as /healthz and GET /v1/admin/workers)."""

from __future__ import annotations

from typing import Any

from reelforge.app.platform import Platform
from reelforge.services.jobs import workers


def fleet(p: Platform) -> dict[str, Any]:
    queues: dict[str, int | None] = {}
    for name in p.backends.queues():
        try:
            queues[name] = p.queue.size(name)
        except Exception:  # a queue that cannot be read is shown as unknown, not a 500
            queues[name] = None
    return {"queues": queues, "workers": workers.list_workers(p, live_only=False)}
