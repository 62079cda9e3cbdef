"""Over the plan's concurrency a job is accepted and waits as `throttled` (its credits
reserved), and goes to the queue when one of the account's jobs ends, in submit order; 429
`queue_full` only at the plan's `max_queued`. The concurrency stays exact: never more than
the plan's N queued-or-running jobs of one account, also under parallel submits and cancels,
on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from reelforge.app.platform import Platform
from reelforge.backends.base import Clip, GenerationRequest, ProgressFn
from reelforge.config import Settings
from reelforge.domain.job import JobStatus
from reelforge.errors import RateLimited
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.governance import reviews
from reelforge.services.jobs import queries
from reelforge.services.jobs.reaper import reap
from reelforge.storage.tables import Job
from reelforge.worker.loop import Worker
from tests.billing.test_credits import Clock, billed, custom_sheet, submit
from tests.fakes import GradientBackend
from tests.helpers import event_types, wait_final, wait_for


class RecordingBackend(GradientBackend):
    """Records each generation's wall-clock interval (per account) to prove none overlap."""

    def __init__(self, frame_delay: float = 0.0) -> None:
        super().__init__(frame_delay=frame_delay)
        self.intervals: list[tuple[float, float, str]] = []  # start, end, external_id
        self._lock = threading.Lock()

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        clip = super().generate(request, on_progress)
        inner = clip.frames

        def timed() -> Iterator:
            start = time.monotonic()
            yield from inner
            with self._lock:
                self.intervals.append((start, time.monotonic(), request.spec.external_id or ""))

        clip.frames = timed()
        return clip


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def p(settings: Settings, backend: GradientBackend, clock: Clock) -> Iterator[Platform]:
    platform = billed(settings, backend, clock)
    yield platform
    platform.close()


def statuses(p: Platform, account_id: str) -> list[str]:
    with p.db.session(write=False) as s:
        return list(
            s.scalars(
                select(Job.status)
                .where(Job.account_id == account_id)
                .order_by(Job.created_at, Job.id)
            )
        )


def in_flight(p: Platform, account_id: str) -> int:
    with p.db.session(write=False) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Job)
                .where(
                    Job.account_id == account_id,
                    Job.status.in_((str(JobStatus.QUEUED), str(JobStatus.RUNNING))),
                )
            )
            or 0
        )


@pytest.mark.slow
def test_over_the_concurrency_jobs_wait_throttled_and_all_run_one_at_a_time(
    settings: Settings, clock: Clock
) -> None:
    backend = RecordingBackend(frame_delay=0.01)
    p = billed(settings, backend, clock)
    try:
        acct = accounts.ensure_account(p, "alice")  # free: one job at a time
        customers.grant(p, "alice", 100)
        submitted = [submit(p, acct, external_id=f"order-{i}") for i in range(5)]
        assert [j["status"] for j in submitted] == ["queued"] + ["throttled"] * 4
        assert all(j["billing"] == "reserved" for j in submitted)  # reserved at submit
        listed = queries.list_jobs(p, acct, status="throttled")["data"]
        assert sorted(j["id"] for j in listed) == sorted(j["id"] for j in submitted[1:])
        assert event_types(p, acct, submitted[1]["id"]) == ["submitted"]
        # No reaper in this worker: the wake-up must come from the final status itself.
        worker = Worker(p, concurrency=3, background_duties=False).start()
        try:
            done = [wait_final(p, acct, j["id"]) for j in submitted]
        finally:
            worker.stop()
        assert [j["status"] for j in done] == ["succeeded"] * 5
        assert len(backend.intervals) == 5
        ordered = sorted(backend.intervals)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(ordered)), ordered
        assert [x[2] for x in ordered] == [f"order-{i}" for i in range(5)]  # submit order
        types = event_types(p, acct, submitted[4]["id"])
        assert types[:3] == ["submitted", "admitted", "started"]
    finally:
        p.close()


def test_the_queue_cap_is_429_queue_full_with_retry_after(
    settings: Settings, backend: GradientBackend, clock: Clock, tmp_path: Path
) -> None:
    sheet = custom_sheet(
        tmp_path, capped={"concurrency": 2, "max_queued": 3, "postpaid": True, "credit_usd": 0.01}
    )
    p = billed(settings, backend, clock, billing_file=sheet)
    try:
        acct = accounts.ensure_account(p, "acme")
        customers.set_plan(p, "acme", "capped")
        accepted = [submit(p, acct)["status"] for _ in range(5)]
        assert accepted == ["queued"] * 2 + ["throttled"] * 3
        with pytest.raises(RateLimited) as err:
            submit(p, acct)
        assert err.value.code == "queue_full" and err.value.retry_after
        assert len(statuses(p, acct.id)) == 5  # nothing half-written
    finally:
        p.close()


def test_a_throttled_job_can_be_cancelled_and_loses_its_place(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    first, second, third = (submit(p, acct) for _ in range(3))
    assert queries.cancel_job(p, acct, second["id"])["status"] == "cancelled"
    assert queries.get_job(p, acct, second["id"])["billing"] == "released"
    assert queries.cancel_job(p, acct, first["id"])["status"] == "cancelled"
    # The slot went to the next waiting job, not to the cancelled one.
    assert queries.get_job(p, acct, third["id"])["status"] == "queued"
    assert in_flight(p, acct.id) == 1


def test_the_reaper_admits_a_throttled_job_whose_wake_up_was_missed(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    first, second = submit(p, acct), submit(p, acct)
    with p.db.session() as s:  # the first job ends without its finalize path (a crash)
        s.execute(update(Job).where(Job.id == first["id"]).values(status="failed"))
    assert queries.get_job(p, acct, second["id"])["status"] == "throttled"
    reap(p)
    assert queries.get_job(p, acct, second["id"])["status"] == "queued"
    assert in_flight(p, acct.id) == 1


def max_overlap(intervals: list[tuple[float, float, str]]) -> int:
    edges = sorted([(a, 1) for a, _, _ in intervals] + [(b, -1) for _, b, _ in intervals])
    running = peak = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.slow
def test_parallel_submits_and_finishes_never_exceed_the_concurrency(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    sheet = custom_sheet(
        tmp_path,
        duo={
            "concurrency": 2,
            "max_queued": 100,
            "postpaid": True,
            "credit_usd": 0.01,
            "requests_per_minute": 1000,
        },
    )
    backend = RecordingBackend(frame_delay=0.005)
    p = billed(settings, backend, clock, billing_file=sheet)
    try:
        acct = accounts.ensure_account(p, "acme")
        customers.set_plan(p, "acme", "duo")
        barrier = threading.Barrier(12)
        errors: list[BaseException] = []
        peaks: list[int] = []

        def one(i: int) -> None:
            barrier.wait()
            try:
                job = submit(p, acct, external_id=f"parallel-{i}")
                if i % 3 == 0:  # cancels race the submits and the wake-ups
                    queries.cancel_job(p, acct, job["id"])
                peaks.append(in_flight(p, acct.id))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert max(peaks) <= 2
        assert in_flight(p, acct.id) == 2  # the free slots are used: 8 remain, 2 admitted
        waiting = statuses(p, acct.id)
        assert waiting.count("cancelled") == 4 and waiting.count("throttled") == 6
        # Four worker slots, two for this account: the plan, not the worker, sets the pace.
        worker = Worker(p, concurrency=4, background_duties=False).start()
        try:
            wait_for(lambda: statuses(p, acct.id).count("succeeded") == 8)
        finally:
            worker.stop()
        assert len(backend.intervals) == 8 and max_overlap(backend.intervals) == 2
    finally:
        p.close()


def test_an_account_under_its_concurrency_is_queued_at_once(p: Platform) -> None:
    acct = accounts.ensure_account(p, "bob")
    customers.set_plan(p, "bob", "standard")  # three at a time
    assert [submit(p, acct)["status"] for _ in range(4)] == ["queued"] * 3 + ["throttled"]
    assert submit(p, accounts.ensure_account(p, "carol"))["status"] == "queued"


def test_throttled_is_a_waiting_status_in_the_state_machine() -> None:
    from reelforge.domain.job import TRANSITIONS, check_transition

    assert not JobStatus.THROTTLED.is_final
    check_transition(JobStatus.THROTTLED, JobStatus.QUEUED)
    check_transition(JobStatus.THROTTLED, JobStatus.CANCELLED)
    assert JobStatus.RUNNING not in TRANSITIONS[JobStatus.THROTTLED]


def test_a_job_approved_by_a_reviewer_waits_for_a_slot_too(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")  # free: one at a time
    admin = accounts.ensure_account(p, "ops", admin=True)
    running = submit(p, acct)
    blocked = submit(p, acct, prompt="a graphic video of a man being beheaded, blood everywhere")
    reviews.appeal(p, acct, blocked["id"], "it is a history documentary")
    (pending,) = reviews.list_reviews(p)
    reviews.decide(p, pending["id"], approve=True, reviewer=admin)
    assert queries.get_job(p, acct, blocked["id"])["status"] == "throttled"
    assert in_flight(p, acct.id) == 1
    queries.cancel_job(p, acct, running["id"])
    assert queries.get_job(p, acct, blocked["id"])["status"] == "queued"
