"""`Worker`: N job threads + a reaper thread + a webhook dispatcher thread.

Stopping is graceful: `request_stop()` (first SIGINT/SIGTERM) stops taking jobs and lets
running jobs finish for `stop_grace` seconds, after which they are handed back to the
queue at their next progress step; `stop(hand_back=True)` (second signal) hands back now.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Sequence
from types import FrameType

from reelforge.services.execution import JobExecutor, RunOutcome
from reelforge.services.platform import Platform
from reelforge.services.reaper import reap
from reelforge.services.retention import SWEEP_INTERVAL_S, sweep_expired
from reelforge.services.webhooks import deliver_due

log = logging.getLogger(__name__)
_IDLE_MIN = 0.01  # first idle wait; doubles up to settings.poll_interval


class Worker:
    def __init__(self, p: Platform, *, queues: Sequence[str] | None = None,
                 concurrency: int | None = None, name: str | None = None,
                 background_duties: bool = True):
        self.p = p
        self.queues = list(queues or p.settings.worker_queues or p.backends.queues())
        self.concurrency = concurrency or p.settings.workers
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.background_duties = background_duties
        self.outcomes: list[RunOutcome] = []
        self._stopping = threading.Event()
        self._hand_back_at: float | None = None
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Worker:
        for i in range(self.concurrency):
            self._spawn(self._job_loop, f"job-{i}", f"{self.name}:{i}")
        if self.background_duties:
            self._spawn(self._every, "reaper", reap, self.p.settings.reaper_interval)
            self._spawn(self._every, "webhooks", deliver_due, 0.5)
            if self.p.settings.output_retention_days:
                self._spawn(self._every, "retention", sweep_expired, SWEEP_INTERVAL_S)
        log.info("worker %s serving %s with %d slot(s)", self.name, self.queues,
                 self.concurrency)
        return self

    def _spawn(self, target: object, label: str, *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=f"reelforge-{label}",  # type: ignore[arg-type]
                             daemon=True)
        t.start()
        self._threads.append(t)

    def request_stop(self, grace: float | None = None) -> None:
        """Take no new jobs; hand running ones back after `grace` seconds."""
        grace = self.p.settings.stop_grace if grace is None else grace
        deadline = time.monotonic() + grace
        if self._hand_back_at is None or deadline < self._hand_back_at:
            self._hand_back_at = deadline
        self._stopping.set()

    def stop(self, *, hand_back: bool = True, timeout: float = 60.0) -> None:
        self.request_stop(0.0 if hand_back else float("inf"))
        self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        end = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if end is None else max(0.0, end - time.monotonic()))

    @property
    def busy(self) -> int:
        return self._busy

    def hand_back_due(self) -> bool:
        return self._hand_back_at is not None and time.monotonic() >= self._hand_back_at

    def run_until_signalled(self) -> None:
        """Run in the foreground until SIGINT/SIGTERM (twice: hand back running jobs now)."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if self._stopping.is_set():
                log.warning("second signal: handing running jobs back to the queue")
                self.request_stop(0.0)
            else:
                log.warning("signal %d: finishing running jobs (up to %.0fs), taking no new ones",
                            signum, self.p.settings.stop_grace)
                self.request_stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        log.info("worker ready (signals handled): queues %s", ", ".join(self.queues))
        while any(t.is_alive() for t in self._threads):
            for t in self._threads:
                t.join(0.2)

    # -- loops ----------------------------------------------------------------------------

    def _job_loop(self, worker_id: str) -> None:
        executor = JobExecutor(self.p, worker_id, hand_back=self.hand_back_due)
        idle = _IDLE_MIN
        while not self._stopping.is_set():
            try:
                message = self.p.queue.dequeue(self.queues)
            except Exception:
                log.exception("queue unavailable; retrying")
                self._stopping.wait(1.0)
                continue
            if message is None:
                self.p.queue.wait(idle)
                idle = min(idle * 2, self.p.settings.poll_interval)
                continue
            idle = _IDLE_MIN
            _queue, job_id = message
            with self._lock:
                self._busy += 1
            try:
                outcome = executor.run(job_id)
                self.outcomes.append(outcome)
                if outcome.status != "skipped":
                    log.info("job %s: %s", job_id, outcome.status)
            except Exception:  # the database was unreachable mid-job; the reaper recovers it
                log.exception("job %s could not be run", job_id)
            finally:
                with self._lock:
                    self._busy -= 1

    def _every(self, duty: object, interval: float) -> None:
        while not self._stopping.is_set():
            try:
                duty(self.p)  # type: ignore[operator]
            except Exception:
                log.exception("%s failed", getattr(duty, "__name__", duty))
            self._stopping.wait(interval)
