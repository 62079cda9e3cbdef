"""`Worker`: N job threads + a reaper thread + a webhook dispatcher thread + a registry
thread (the worker's row in the `workers` table: its heartbeat, read by /healthz).

Stopping is graceful: `request_stop()` (first SIGINT/SIGTERM) stops taking jobs and lets
running jobs finish for `stop_grace` seconds, after which they are handed back to the
queue at their next progress step; `stop(hand_back=True)` (second signal) hands back now.

A queue or database that goes away is met with an exponential back-off and one log line per
change of state (unreachable / reachable again), never a traceback per poll.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import FrameType

from reelforge import __version__
from reelforge.app.platform import Platform
from reelforge.domain.job import MODERATION_QUEUE
from reelforge.queue.jobqueue import Outage, describe_error
from reelforge.services.governance.guard_tasks import reap_moderating, run_guard_task
from reelforge.services.jobs import workers
from reelforge.services.jobs.execution import JobExecutor, RunOutcome
from reelforge.services.jobs.reaper import reap
from reelforge.services.jobs.retention import SWEEP_INTERVAL_S, sweep_expired
from reelforge.services.notify.deliveries import deliver_due

log = logging.getLogger(__name__)
_IDLE_MIN = 0.01  # first idle wait; doubles up to settings.poll_interval
OUTCOMES_KEPT = 1000  # Worker.outcomes keeps this many, newest last


class Worker:
    def __init__(
        self,
        p: Platform,
        *,
        queues: Sequence[str] | None = None,
        concurrency: int | None = None,
        name: str | None = None,
        background_duties: bool = True,
    ):
        self.p = p
        self.queues = list(queues or p.settings.worker_queues or p.backends.queues())
        routed = p.moderation is not None and p.moderation.profile.guard != "off"
        if routed and not queues and MODERATION_QUEUE not in self.queues:
            self.queues.append(MODERATION_QUEUE)  # the guard-model checks (guard_tasks)
        self.concurrency = concurrency or p.settings.workers
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.background_duties = background_duties
        # the latest outcomes only (tests and operators look at recent runs; a worker that
        # runs for months must not keep one per job)
        self.outcomes: deque[RunOutcome] = deque(maxlen=OUTCOMES_KEPT)
        self._stopping = threading.Event()
        self._hand_back_at: float | None = None
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._lock = threading.Lock()
        self._job_threads_left = 0
        self._jobs_done = threading.Event()
        self.queue_outage = Outage("queue", log, cap=p.settings.queue_retry_max)  # all slots

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Worker:
        info = self._info()
        try:
            workers.register(self.p, info)
        except Exception as exc:  # the registry beat retries; the worker still works
            log.warning(
                "worker %s could not register (%s); retrying", self.name, describe_error(exc)
            )
        self._job_threads_left = self.concurrency
        for i in range(self.concurrency):
            self._spawn(self._job_loop, f"job-{i}", f"{self.name}:{i}")
        self._spawn(self._registry_loop, "registry", info)
        if self.background_duties:
            self._spawn(self._every, "reaper", reap, self.p.settings.reaper_interval)
            interval = self.p.settings.reaper_interval
            self._spawn(self._every, "moderation-reaper", reap_moderating, interval)
            self._spawn(self._every, "webhooks", deliver_due, 0.5)
            # always: an output given an expires_at keeps that promise if retention is unset
            self._spawn(self._every, "retention", sweep_expired, SWEEP_INTERVAL_S)
        log.info(
            "worker started worker=%s queues=%s models=%s device=%s slots=%d version=%s",
            self.name,
            ",".join(self.queues),
            ",".join(m["name"] for m in info.models) or "-",
            info.device,
            self.concurrency,
            __version__,
        )
        return self

    def _info(self) -> workers.WorkerInfo:
        models = workers.served_models(self.p, self.queues)
        return workers.WorkerInfo(
            id=self.name,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=self.queues,
            models=models,
            device=workers.describe_device(self.p, models),
            slots=self.concurrency,
        )

    def _spawn(self, target: Callable[..., object], label: str, *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=f"reelforge-{label}", daemon=True)
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
                log.warning(
                    "signal %d: finishing running jobs (up to %.0fs), taking no new ones",
                    signum,
                    self.p.settings.stop_grace,
                )
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
        try:
            self._take_jobs(worker_id)
        finally:
            with self._lock:
                self._job_threads_left -= 1
                if self._job_threads_left <= 0:
                    self._jobs_done.set()

    def _take_jobs(self, worker_id: str) -> None:
        executor = JobExecutor(self.p, worker_id, hand_back=self.hand_back_due)
        idle = _IDLE_MIN
        failures = 0
        while not self._stopping.is_set():
            try:
                message = self.p.queue.dequeue(self.queues)
            except Exception as exc:  # Redis or the queue database away: back off quietly
                failures += 1
                self._stopping.wait(self.queue_outage.failed(exc, failures))
                continue
            if failures:
                failures = 0
            self.queue_outage.ok()
            if message is None:
                self.p.queue.wait(idle)
                idle = min(idle * 2, self.p.settings.poll_interval)
                continue
            idle = _IDLE_MIN
            _queue, job_id = message
            with self._lock:
                self._busy += 1
            try:
                if _queue == MODERATION_QUEUE:  # a guard-model check, not a generation
                    run_guard_task(self.p, job_id, worker_id)
                else:
                    self.outcomes.append(executor.run(job_id))  # it logs job.start and job.end
            except Exception:  # the database was unreachable mid-job; the reaper recovers it
                log.exception("job %s could not be run", job_id)
            finally:
                with self._lock:
                    self._busy -= 1

    def _registry_loop(self, info: workers.WorkerInfo) -> None:
        """Refresh this worker's registry row every heartbeat interval until its job threads
        have ended, then mark it stopped."""
        outage = Outage("worker registry (database)", log, cap=self.p.settings.queue_retry_max)
        failures = 0
        wait = self.p.settings.heartbeat_interval
        while not self._jobs_done.wait(wait):
            try:
                if not workers.beat(self.p, self.name, self._busy):
                    workers.register(self.p, info)  # never registered, or forgotten
                outage.ok()
                failures, wait = 0, self.p.settings.heartbeat_interval
            except Exception as exc:
                failures += 1
                wait = outage.failed(exc, failures)
        try:
            workers.stopped(self.p, self.name)
        except Exception as exc:
            log.warning("worker %s could not record its stop (%s)", self.name, describe_error(exc))

    def _every(self, duty: object, interval: float) -> None:
        outage = Outage(
            getattr(duty, "__name__", str(duty)),
            log,
            cap=self.p.settings.queue_retry_max,
            down="failing",
            up="working again",
        )
        failures = 0
        while not self._stopping.is_set():
            wait = interval
            try:
                duty(self.p)  # type: ignore[operator]
                outage.ok()
                failures = 0
            except Exception as exc:  # its database or queue away: one line, then back off
                failures += 1
                wait = max(interval, outage.failed(exc, failures))
            self._stopping.wait(wait)
