"""`JobQueue` seam and its huey implementation.

One huey queue per model family ("motion", "wan", ...), so a worker only takes jobs for the
weights it serves. The storage engine is chosen by URL:

    sqlite:///path/queue.db     SqliteHuey (embedded default)
    redis://host:6379/0         PriorityRedisHuey
    postgresql://...            PostgresHuey
    memory://                   MemoryHuey (tests; one process only)

A message carries only the job id. Losing or duplicating a message is harmless: workers
claim jobs with a conditional UPDATE, and the reaper re-enqueues jobs nobody picked up.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from huey import Huey, MemoryHuey, PostgresHuey, PriorityRedisHuey, SqliteHuey

RUN_JOB_TASK = "reelforge.run_job"


class JobQueue(Protocol):
    def enqueue(self, job_id: str, *, queue: str, priority: int = 0) -> None: ...

    def dequeue(self, queues: Sequence[str]) -> tuple[str, str] | None:
        """Non-blocking: (queue, job_id) of the highest-priority message, or None."""
        ...

    def wait(self, timeout: float) -> None:
        """Sleep up to `timeout`, returning early when this process enqueues something."""
        ...

    def size(self, queue: str) -> int: ...

    def close(self) -> None: ...


def _make_huey(url: str, name: str) -> Huey:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else urlsplit(url).path
        return SqliteHuey(name, filename=path, results=False, timeout=30)
    if scheme in ("redis", "rediss"):
        return PriorityRedisHuey(name, url=url, results=False, blocking=False)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        dsn = "postgresql://" + url.split("://", 1)[1]
        return PostgresHuey(name, dsn=dsn, results=False, blocking=False)
    if scheme == "memory":
        return MemoryHuey(name, results=False)
    raise ValueError(
        f"unsupported queue URL {url!r}: use sqlite:///file, redis://host, postgresql://..."
    )


class HueyJobQueue:
    """A huey instance per family queue, created on first use."""

    def __init__(self, url: str, *, namespace: str = "reelforge"):
        self.url = url
        self.namespace = namespace
        self._hueys: dict[str, tuple[Huey, Any]] = {}
        self._lock = threading.Lock()
        self._enqueued = threading.Condition()

    def _queue(self, queue: str) -> tuple[Huey, Any]:
        with self._lock:
            if queue not in self._hueys:
                huey = _make_huey(self.url, f"{self.namespace}.{queue}")

                @huey.task(name=RUN_JOB_TASK)
                def run_job(job_id: str) -> None:  # pragma: no cover - never executed by huey
                    raise RuntimeError("reelforge workers read this message; huey does not run it")

                self._hueys[queue] = (huey, run_job)
            return self._hueys[queue]

    def enqueue(self, job_id: str, *, queue: str, priority: int = 0) -> None:
        huey, run_job = self._queue(queue)
        huey.enqueue(run_job.s(job_id, priority=priority))
        with self._enqueued:  # wake idle workers in this process (embedded deployments)
            self._enqueued.notify_all()

    def wait(self, timeout: float) -> None:
        with self._enqueued:
            self._enqueued.wait(timeout)

    def dequeue(self, queues: Sequence[str]) -> tuple[str, str] | None:
        for queue in queues:
            huey, _ = self._queue(queue)
            task = huey.dequeue()
            if task is not None:
                return queue, str(task.args[0])
        return None

    def size(self, queue: str) -> int:
        huey, _ = self._queue(queue)
        return int(huey.pending_count())

    def flush(self, queue: str) -> None:
        huey, _ = self._queue(queue)
        huey.storage.flush_queue()

    def close(self) -> None:
        with self._lock:
            for huey, _ in self._hueys.values():
                close = getattr(huey.storage, "close", None)
                if close is not None:
                    close()
            self._hueys.clear()
