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

import logging
import random
import sys
import threading
import time
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from huey import Huey

RUN_JOB_TASK = "reelforge.run_job"
REDIS_CONNECT_TIMEOUT = 5.0  # seconds
REDIS_SOCKET_TIMEOUT = 10.0


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


_CLIENTS = ("redis", "psycopg")  # what huey.storage imports for its Redis/PostgreSQL storage
_huey_lock = threading.Lock()


def _huey(scheme: str) -> ModuleType:
    """huey, imported on first use. `huey.storage` imports redis and psycopg whenever they are
    installed (~0.2 s of CPU together), whichever storage is used: for an SQLite or memory
    queue (`reelforge generate`) they are kept out of that import, and handed to huey.storage
    if this process makes a Redis or PostgreSQL queue later."""
    with _huey_lock:
        if "huey.storage" not in sys.modules and scheme in ("sqlite", "memory"):
            hidden = [name for name in _CLIENTS if name not in sys.modules]
            for name in hidden:
                sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
            try:
                import huey.storage
            finally:
                for name in hidden:
                    if sys.modules.get(name, 0) is None:
                        del sys.modules[name]
        import huey
        import huey.storage as storage

        if scheme in ("redis", "rediss") and storage.Redis is None:
            import redis
            from redis.exceptions import ConnectionError, TimeoutError

            storage.ConnectionPool, storage.Redis = redis.ConnectionPool, redis.Redis
            storage.ConnectionError, storage.TimeoutError = ConnectionError, TimeoutError
            storage.RedisStorage.redis_client = redis.Redis
        if scheme.startswith("postgres") and storage.psycopg is None:
            import psycopg

            storage.psycopg = psycopg
        return huey  # type: ignore[no-any-return]


def _make_huey(url: str, name: str) -> Huey:
    scheme = urlsplit(url).scheme
    huey = _huey(scheme)
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else urlsplit(url).path
        return huey.SqliteHuey(name, filename=path, results=False, timeout=30)
    if scheme in ("redis", "rediss"):
        from redis import ConnectionPool

        # Timeouts: an unreachable Redis (a network partition, not a refused connection)
        # fails a poll in seconds instead of hanging the worker's threads.
        pool = ConnectionPool.from_url(
            url,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
            socket_timeout=REDIS_SOCKET_TIMEOUT,
            health_check_interval=30,
        )
        return huey.PriorityRedisHuey(name, connection_pool=pool, results=False, blocking=False)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        dsn = "postgresql://" + url.split("://", 1)[1]
        return huey.PostgresHuey(name, dsn=dsn, results=False, blocking=False)
    if scheme == "memory":
        return huey.MemoryHuey(name, results=False)
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

                @huey.task(name=RUN_JOB_TASK)  # type: ignore[untyped-decorator]
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


def describe_error(exc: BaseException) -> str:
    """One line for a log: the exception's type and the first line of its message."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


class Outage:
    """One dependency (the queue, the database) as seen by the threads that poll it: a single
    log line when it becomes unreachable and one when it is back — the tracebacks only at
    DEBUG — and an exponential back-off for each thread meanwhile (0.5 s doubling to `cap`)."""

    FIRST = 0.5

    def __init__(
        self,
        what: str,
        log: logging.Logger,
        *,
        cap: float = 30.0,
        down: str = "unreachable",
        up: str = "reachable again",
        retry: str | None = None,
    ):
        self.what, self.log, self.cap = what, log, cap
        self.down_word, self.up_word = down, up
        self.retry = retry or f"retrying with back-off up to {cap:.0f} s"
        self.down_since: float | None = None
        self.failures = 0
        self._lock = threading.Lock()

    def failed(self, exc: BaseException, tries: int) -> float:
        """Record a failed try (`tries` failed in a row by the calling thread, from 1) and
        return how long that thread waits before the next one."""
        with self._lock:
            if self.down_since is None:
                self.down_since, self.failures = time.monotonic(), 0
                self.log.warning(
                    "%s %s (%s); %s", self.what, self.down_word, describe_error(exc), self.retry
                )
            self.failures += 1
        self.log.debug("%s still %s", self.what, self.down_word, exc_info=exc)
        delay = float(min(self.cap, self.FIRST * 2 ** min(tries - 1, 30)))
        return delay * random.uniform(0.8, 1.0)  # threads and workers do not retry in step

    def ok(self) -> None:
        """Record a success; logs the recovery once if this ends an outage."""
        if self.down_since is None:  # the usual case, without taking the lock
            return
        with self._lock:
            if not self.down:  # another thread may have ended it meanwhile (re-read, not narrowed)
                return
            self.log.warning(
                "%s %s after %.1f s (%d failed tries)",
                self.what,
                self.up_word,
                time.monotonic() - self.down_since,
                self.failures,
            )
            self.down_since = None

    @property
    def down(self) -> bool:
        return self.down_since is not None
