"""Warm pipelines: loaded once per worker and kept, least recently used first out.

Bounded by a count and by an estimate of memory (the size of the weights on disk), so a
worker that serves several models keeps as many warm as fit. A pipeline keeps per-call
state, so each entry has a lock: one generation per pipeline object at a time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Entry:
    size_bytes: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    pipeline: Any = None


@dataclass
class CacheStats:
    loads: int = 0
    hits: int = 0
    evictions: int = 0


class PipelineCache:
    def __init__(
        self,
        *,
        max_models: int = 2,
        max_bytes: int | None = None,
        release: Callable[[], None] = lambda: None,
    ):
        self.max_models = max_models
        self.max_bytes = max_bytes  # None: no memory bound
        self.release = release  # frees device memory after an eviction (gc, empty_cache)
        self.stats = CacheStats()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def pipelines(self) -> list[Any]:
        """The loaded pipelines, least recently used first (for diagnostics and tests)."""
        with self._lock:
            return [e.pipeline for e in self._entries.values() if e.pipeline is not None]

    def keys(self) -> list[Hashable]:
        with self._lock:
            return [k for k, e in self._entries.items() if e.pipeline is not None]

    @contextmanager
    def use(
        self, key: Hashable, size_bytes: int, load: Callable[[], Any]
    ) -> Iterator[tuple[Any, bool]]:
        """Yield (pipeline, loaded_now) with the pipeline's lock held; load it on a miss."""
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is None:
                    entry = _Entry(size_bytes)
                    entry.lock.acquire()
                    self._make_room(size_bytes)
                    self._entries[key] = entry
                    fresh = True
                else:
                    self._entries.move_to_end(key)
                    fresh = False
            if fresh:
                try:
                    entry.pipeline = load()
                except BaseException:
                    with self._lock:
                        self._entries.pop(key, None)
                    entry.lock.release()
                    raise
                self.stats.loads += 1
                break
            entry.lock.acquire()
            if entry.pipeline is not None:
                self.stats.hits += 1
                break
            entry.lock.release()  # its load failed; try again (and load it ourselves)
        try:
            yield entry.pipeline, fresh
        finally:
            entry.lock.release()

    def discard(self, key: Hashable) -> None:
        """Drop a pipeline (after an out-of-memory error, say) and free its memory."""
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is not None:
            entry.pipeline = None
            self.stats.evictions += 1
            self.release()

    def clear(self) -> None:
        for key in list(self._entries):
            self.discard(key)

    def _make_room(self, incoming: int) -> None:
        """Evict idle entries, oldest first, until the newcomer fits (caller holds _lock)."""
        evicted = False
        for key in list(self._entries):
            loaded = [e for e in self._entries.values() if e.pipeline is not None]
            over_count = len(loaded) + 1 > self.max_models
            over_bytes = (
                self.max_bytes is not None
                and sum(e.size_bytes for e in loaded) + incoming > self.max_bytes
            )
            if not (over_count or over_bytes):
                break
            entry = self._entries[key]
            if entry.pipeline is None or not entry.lock.acquire(blocking=False):
                continue  # loading or in use: cannot evict it now
            try:
                del self._entries[key]
                entry.pipeline = None
                self.stats.evictions += 1
                evicted = True
            finally:
                entry.lock.release()
        if evicted:
            self.release()
