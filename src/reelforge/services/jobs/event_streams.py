"""Live job events for server-sent event streams, cheap at any number of streams.

One watcher per process (per platform and event loop) asks the database, once per interval,
for the event counter of every followed job at once (one primary-key query) and wakes only
the streams whose job has new events; a stream reads its events then. A stream whose job is
quiet (held for review, waiting in the queue) costs a wait, not a query. Each API key holds
at most `event_streams_per_key` streams per process (429 `too_many_streams` beyond), and a
stream with no event for `event_stream_idle` seconds ends with a `retry:` hint: the client
reconnects with Last-Event-ID and misses nothing.

`open_stream` and `EventStream.body` are the stream itself (replay after a cursor, live
events, keepalives, the idle end), served by the API's GET /v1/videos/{id}/events and the
studio's /videos/{id}/events alike.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio.to_thread

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.errors import InvalidRequest, RateLimited
from reelforge.services.jobs import queries

log = logging.getLogger(__name__)

POLL_S = 0.25  # how often the one watcher of a process looks for new events
STREAM_RETRY_AFTER_S = 5  # Retry-After of a refused stream
KEEPALIVE_S = 15.0  # a comment line this often while the job is quiet
MAX_EVENT_SEQ = 2**31 - 1  # job_events.seq is a 32-bit INTEGER on PostgreSQL
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # of a stream's response

_open: dict[str, int] = {}  # open streams per API key (per process)
_open_lock = threading.Lock()


class StreamSlot:
    """One of an API key's event-stream slots; `release()` gives it back (once, however
    often it is called: the stream's end and the response's cleanup both call it)."""

    def __init__(self, key: str):
        self.key = key
        self._held = True

    def release(self) -> None:
        with _open_lock:
            if not self._held:
                return
            self._held = False
            left = _open.get(self.key, 1) - 1
            if left > 0:
                _open[self.key] = left
            else:
                _open.pop(self.key, None)


def take_slot(p: Platform, account: AccountRef) -> StreamSlot:
    """One of the key's event-stream slots; RateLimited `too_many_streams` (with
    Retry-After) when the key holds `event_streams_per_key` already."""
    key = account.key_id or account.id
    limit = p.settings.event_streams_per_key
    with _open_lock:
        if _open.get(key, 0) >= limit:
            raise RateLimited(
                f"this API key already has {limit} event streams open (the most it may); "
                "close one, or poll GET /v1/videos/{id}",
                code="too_many_streams",
                retry_after=STREAM_RETRY_AFTER_S,
            )
        _open[key] = _open.get(key, 0) + 1
    return StreamSlot(key)


class EventWatcher:
    """Wakes waiting streams when their job has events after the seq they last sent. Lives
    on one event loop; its polling task runs only while some stream waits."""

    def __init__(self, p: Platform, loop: asyncio.AbstractEventLoop, interval: float = POLL_S):
        self.p, self.loop, self.interval = p, loop, interval  # held: their ids stay unique
        self._waiting: dict[str, dict[asyncio.Event, int]] = {}  # job → waiter → after seq
        self._task: asyncio.Task[None] | None = None
        self.polls = 0  # database queries made (for tests and benchmarks)

    async def wait(self, job_id: str, after_seq: int, timeout: float) -> bool:
        """True once the job has an event after `after_seq` (or no longer exists: the
        caller's read says so), False when `timeout` seconds pass first."""
        woken = asyncio.Event()
        waiters = self._waiting.setdefault(job_id, {})
        waiters[woken] = after_seq
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run())
        try:
            await asyncio.wait_for(woken.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiters.pop(woken, None)
            if not waiters and self._waiting.get(job_id) is waiters:
                del self._waiting[job_id]

    async def _run(self) -> None:
        while self._waiting:  # no await between this check and the end: no lost waiter
            await asyncio.sleep(self.interval)
            job_ids = list(self._waiting)
            if not job_ids:
                continue
            try:
                self.polls += 1
                heads = await asyncio.to_thread(queries.event_heads, self.p, job_ids)
            except Exception as exc:  # the database is away: streams keep waiting
                log.warning(
                    "event streams: cannot read event counters (%s); retrying", type(exc).__name__
                )
                continue
            for job_id in job_ids:
                head = heads.get(job_id)
                for woken, after in list(self._waiting.get(job_id, {}).items()):
                    if head is None or head > after:
                        woken.set()


_watchers: dict[tuple[int, int], EventWatcher] = {}


def watcher_for(p: Platform) -> EventWatcher:
    """This process's watcher for `p` on the running event loop."""
    loop = asyncio.get_running_loop()
    key = (id(p), id(loop))
    watcher = _watchers.get(key)
    if watcher is None:
        for stale in [
            k
            for k, w in _watchers.items()
            if w._task is not None and w._task.done() and not w._waiting
        ]:
            del _watchers[stale]  # platforms and loops come and go (tests, reloads)
        watcher = _watchers[key] = EventWatcher(p, loop)
    return watcher


def event_cursor(after: int | str | None, last_event_id: str | None) -> int:
    """Where an event stream resumes: `Last-Event-ID` (the browser's reconnect) over
    `after` (`?after=`; none: from the start); a number past the column's range is refused
    (the driver or PostgreSQL overflowed on it: 2**63 in Python's sqlite3, 2**31 in
    PostgreSQL's INTEGER)."""
    if last_event_id is not None and last_event_id.strip():
        return _event_id(last_event_id, "the Last-Event-ID header", "last-event-id")
    if isinstance(after, str):
        return _event_id(after, "after", "after") if after.strip() else 0
    return after or 0


def _event_id(text: str, what: str, field: str) -> int:
    value = text.strip()
    if (
        not value.isdigit()
        or not value.isascii()
        or len(value) > len(str(MAX_EVENT_SEQ))
        or int(value) > MAX_EVENT_SEQ
    ):
        raise InvalidRequest(
            f"{what} must be an event id (a whole number from 0 to {MAX_EVENT_SEQ})",
            field=field,
        )
    return int(value)


async def _events_since(
    p: Platform, account: AccountRef, job_id: str, after: int
) -> tuple[list[dict[str, Any]], bool]:
    call = functools.partial(queries.events_since, p, account, job_id, after)
    return await anyio.to_thread.run_sync(call)  # the request threads' pool, not the loop


class EventStream:
    """One open stream of a job's events, holding one of the key's slots until `body` ends
    or `release` is called (the response's cleanup, for a body that never started)."""

    def __init__(
        self,
        p: Platform,
        account: AccountRef,
        job_id: str,
        start: int,
        first: tuple[list[dict[str, Any]], bool],
        slot: StreamSlot,
    ):
        self.p, self.account, self.job_id, self.start = p, account, job_id, start
        self._first, self._slot = first, slot

    def release(self) -> None:
        self._slot.release()

    async def body(self, is_disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[bytes]:
        """The text/event-stream: every event after the cursor, then live ones; ends after
        the final status (its last page sent), or after `event_stream_idle` quiet seconds
        with a `retry:` hint; `is_disconnected` is asked after each wake-up."""
        p, account, job_id = self.p, self.account, self.job_id
        watcher = watcher_for(p)
        idle_s = p.settings.event_stream_idle
        seq, (events, done) = self.start, self._first
        quiet_since = time.monotonic()
        try:
            yield b"retry: 2000\n\n"
            while True:
                for event in events:
                    seq = event["seq"]
                    data = json.dumps(event, separators=(",", ":"))
                    yield f"id: {seq}\nevent: {event['type']}\ndata: {data}\n\n".encode()
                if done:  # final: send what is left (events come in pages), then end
                    if not events:
                        return
                    events, done = await _events_since(p, account, job_id, seq)
                    continue
                if events:
                    quiet_since = time.monotonic()
                left = idle_s - (time.monotonic() - quiet_since)
                if left <= 0:  # quiet too long: end, and say when to come back
                    yield b": idle; reconnect with Last-Event-ID\nretry: 5000\n\n"
                    return
                # No query while the job is quiet: the process's one watcher wakes us.
                if not await watcher.wait(job_id, seq, min(KEEPALIVE_S, left)):
                    events = []
                    if time.monotonic() - quiet_since < idle_s:
                        yield b": keepalive\n\n"
                    continue
                if await is_disconnected():
                    return
                events, done = await _events_since(p, account, job_id, seq)
        finally:
            self.release()


async def open_stream(p: Platform, account: AccountRef, job_id: str, start: int) -> EventStream:
    """A slot of the key (RateLimited `too_many_streams` beyond) and the first page of
    events after `start`, read before the response starts: an unknown or another account's
    job raises NotFound while a proper 404 can still be sent."""
    slot = take_slot(p, account)
    try:
        first = await _events_since(p, account, job_id, start)
    except BaseException:
        slot.release()
        raise
    return EventStream(p, account, job_id, start, first, slot)
