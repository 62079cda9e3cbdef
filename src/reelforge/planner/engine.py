"""The discrete-event simulation: arrivals → admission (each plan's concurrency; jobs over
it wait as throttled in submit order, past max_queued they are refused) → per-family queues
(highest plan priority first, then submit order) → devices that read their families' queues
in order (the warm family first where the policy says so) → done, failed, cancelled or lost
to a timeout. These are the rules services/jobs/admission.py and the worker loop follow
(tests/planner/test_engine.py checks the order against the real queue); the device is the
only modelled part, with its time drawn from the timing profiles."""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reelforge.billing.sheet import BillingSheet, Plan
from reelforge.errors import InvalidRequest
from reelforge.planner.demand import Arrival
from reelforge.planner.fleet import DeviceKind, Fleet
from reelforge.planner.policy import Policy
from reelforge.planner.profiles import ProfileBook

# event kinds, in the order they run at the same instant
_DONE, _READY, _CANCEL, _TIMEOUT, _ARRIVE, _SCALE = range(6)
WAITING = ("throttled", "queued")


@dataclass(eq=False)
class SimJob:
    seq: int
    arrival: Arrival
    plan: Plan
    preset: str
    submitted: float
    credits: int
    # new → throttled | queued → running → succeeded | failed; or cancelled, lost, refused
    # (queue full), refused_credits (a free plan's daily credits spent); cached (the result
    # cache answered)
    state: str = "new"
    started: float | None = None
    finished: float | None = None
    device_s: float = 0.0
    cost_usd: float = 0.0
    device_kind: str | None = None
    draft: bool = False

    @property
    def family(self) -> str:
        return self.arrival.family

    @property
    def wait(self) -> float | None:
        return None if self.started is None else self.started - self.submitted


@dataclass(eq=False)
class SimDevice:
    id: int
    kind: DeviceKind
    families: tuple[str, ...]
    up_at: float  # billed from here
    ready_at: float  # first job from here (start-up)
    down_at: float | None = None
    warm: str | None = None
    job: SimJob | None = None
    idle_since: float = 0.0
    busy_s: float = 0.0
    spans: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Outcome:
    """Everything the run produced; planner.report turns it into figures."""

    jobs: list[SimJob]
    devices: list[SimDevice]
    end: float
    policy: Policy
    fleet: Fleet
    unserved: dict[str, int]


class Engine:
    def __init__(
        self,
        demand: list[Arrival],
        fleet: Fleet,
        sheet: BillingSheet,
        book: ProfileBook,
        policy: Policy,
        *,
        seed: int = 1,
    ):
        self.demand, self.fleet, self.sheet, self.book, self.policy = (
            demand,
            fleet,
            sheet,
            book,
            policy,
        )
        self.rng = random.Random(seed)
        self.now = 0.0
        self._events: list[tuple[float, int, int, Any]] = []
        self._seq = 0
        self.jobs: list[SimJob] = []
        self.devices: list[SimDevice] = []  # every device the run had, retired ones too
        self.live: list[SimDevice] = []  # devices up (starting or ready)
        self.queues: dict[str, list[tuple[int, int, SimJob]]] = {}
        self.oldest: dict[str, deque[SimJob]] = {}  # each family's queued jobs, submit order
        self.busy: dict[str, int] = {}  # account → jobs holding a slot (queued, running)
        self.throttled: dict[str, deque[SimJob]] = {}
        self.unserved: dict[str, int] = {}
        self._families: dict[str, tuple[str, ...]] = {}
        self.spent: dict[tuple[str, int], int] = {}  # free accounts' credits per day
        for name in {a.plan for a in demand}:
            if name not in sheet.plans:
                raise InvalidRequest(
                    f"the demand names plan {name!r}; the billing sheet has "
                    f"{', '.join(sheet.plans)}",
                    code="invalid_demand",
                    field="plan",
                )

    # -- events ------------------------------------------------------------------------

    def _at(self, when: float, kind: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, kind, self._seq, payload))

    def run(self) -> Outcome:
        for kind in self.fleet.devices:
            count = kind.count
            if self.fleet.autoscale is not None:
                count = max(count, self.fleet.autoscale.min)
            for _ in range(count):
                self._add_device(kind, 0.0, 0.0)
        for arrival in self.demand:
            self._at(arrival.at, _ARRIVE, arrival)
        if self.fleet.autoscale is not None and self.demand:
            self._at(0.0, _SCALE, None)
        last_arrival = self.demand[-1].at if self.demand else 0.0
        handlers: dict[int, Callable[[Any], None]] = {
            _ARRIVE: self._arrive,
            _DONE: self._done,
            _READY: lambda _d: None,
            _CANCEL: self._cancel,
            _TIMEOUT: self._timeout,
            _SCALE: lambda _p: self._scale(last_arrival),
        }
        last = 0.0  # the last moment anything happened to a job
        while self._events:
            when, event, _, payload = heapq.heappop(self._events)
            self.now = when
            if event in (_ARRIVE, _DONE) or (
                event in (_CANCEL, _TIMEOUT) and payload.state in WAITING
            ):
                last = when
            handlers[event](payload)
            self._dispatch()
        # the run ends with its last arrival or job, not with a timeout that found the job
        # long done or an autoscaling tick
        end = self.now = last
        for d in self.devices:
            if d.down_at is None or d.down_at > end:
                d.down_at = max(end, d.up_at)
        return Outcome(self.jobs, self.devices, end, self.policy, self.fleet, self.unserved)

    # -- admission ---------------------------------------------------------------------

    def _arrive(self, arrival: Arrival) -> None:
        preset = arrival.preset or "final"
        draft = (
            self.policy.draft_share > 0
            and preset == "final"
            and arrival.family != "motion"
            and not arrival.cache_hit
            and self.rng.random() < self.policy.draft_share
        )
        self._submit(arrival, "draft" if draft else preset, draft_first=draft)

    def _submit(self, arrival: Arrival, preset: str, *, draft_first: bool = False) -> SimJob:
        plan = self.sheet.plan(arrival.plan)
        credits, _ = self.sheet.credits_for(
            model=arrival.model,
            family=arrival.family,
            duration=arrival.duration,
            resolution=arrival.resolution,
            preset=preset,
        )
        job = SimJob(len(self.jobs), arrival, plan, preset, self.now, credits, draft=draft_first)
        self.jobs.append(job)
        if arrival.cache_hit and self.policy.cache:
            job.credits = self.sheet.cache_hit_credits(credits)
        if not self._afford(job):
            job.state = "refused_credits"
            return job
        if arrival.cache_hit and self.policy.cache:
            job.state, job.started, job.finished = "cached", self.now, self.now
            return job
        account = arrival.account
        if self.policy.concurrency and self.busy.get(account, 0) >= plan.concurrency:
            waiting = self.throttled.setdefault(account, deque())
            if len(waiting) >= plan.max_queued:
                job.state = "refused"
                return job
            job.state = "throttled"
            waiting.append(job)
        else:
            self._queue(job)
        if arrival.cancel_after is not None:
            self._at(self.now + arrival.cancel_after, _CANCEL, job)
        self._at(self.now + self.policy.timeout_s, _TIMEOUT, job)
        return job

    def _afford(self, job: SimJob) -> bool:
        """A plan that pays nothing (free) has only its daily credits: past them a request is
        refused, as submit refuses it (402). Paying plans are taken to buy top-ups."""
        plan = job.plan
        if plan.paid:
            return True
        key = (job.arrival.account, int(self.now // 86400))
        spent = self.spent.get(key, 0)
        if spent + job.credits > plan.daily_credits:
            return False
        self.spent[key] = spent + job.credits
        return True

    def _queue(self, job: SimJob) -> None:
        job.state = "queued"
        self.busy[job.arrival.account] = self.busy.get(job.arrival.account, 0) + 1
        priority = job.plan.priority if self.policy.priority_by_plan else 0
        heapq.heappush(self.queues.setdefault(job.family, []), (-priority, job.seq, job))
        self.oldest.setdefault(job.family, deque()).append(job)

    def _release_slot(self, job: SimJob) -> None:
        """The job stopped holding a slot: admit the account's oldest waiting jobs."""
        account = job.arrival.account
        self.busy[account] -= 1
        waiting = self.throttled.get(account)
        limit = job.plan.concurrency
        while waiting and self.busy[account] < limit:
            nxt = waiting.popleft()
            if nxt.state == "throttled":
                self._queue(nxt)

    def _end_waiting(self, job: SimJob, state: str) -> None:
        held = job.state == "queued"
        job.state, job.finished = state, self.now
        if held:
            self._release_slot(job)

    def _cancel(self, job: SimJob) -> None:
        if job.state in WAITING:  # a running job finishes (cancel reaches it too late)
            self._end_waiting(job, "cancelled")

    def _timeout(self, job: SimJob) -> None:
        if job.state in WAITING:
            self._end_waiting(job, "lost")

    # -- devices -----------------------------------------------------------------------

    def _families_for(self, kind: DeviceKind) -> tuple[str, ...]:
        if kind.families:
            return kind.families
        if kind.kind not in self._families:
            self._families[kind.kind] = self._default_families(kind)
        return self._families[kind.kind]

    def _default_families(self, kind: DeviceKind) -> tuple[str, ...]:
        families = sorted({a.family for a in self.demand})
        return tuple(f for f in families if self._cpu_family(f) == kind.is_cpu)

    def _cpu_family(self, family: str) -> bool:
        """Whether a family runs on CPU workers (its cited profile's device); unknown families
        are taken for neural ones."""
        for res in ("720p", "480p", "1080p"):
            cited = self.book.cited(family, res, "final")
            if cited is not None:
                return cited.device.lower() == "cpu"
        return False

    def _add_device(self, kind: DeviceKind, up_at: float, ready_at: float) -> SimDevice:
        d = SimDevice(len(self.devices), kind, self._families_for(kind), up_at, ready_at)
        d.idle_since = ready_at
        self.devices.append(d)
        self.live.append(d)
        if ready_at > self.now:
            self._at(ready_at, _READY, d)
        return d

    def _pick(self, d: SimDevice) -> SimJob | None:
        order = d.families
        if self.policy.warm_affinity and d.warm in order:
            order = (d.warm, *[f for f in order if f != d.warm])
        for family in order:
            heap = self.queues.get(family)
            while heap:
                _, _, job = heap[0]
                if job.state != "queued":
                    heapq.heappop(heap)
                    continue
                found = self.book.lookup(family, job.arrival.resolution, job.preset, d.kind)
                fits = found is not None and found[0].memory_gb <= d.kind.memory_gb
                if not fits and not d.kind.is_cpu:
                    break  # the head of this queue cannot run here; another device takes it
                heapq.heappop(heap)
                return job
        return None

    def _dispatch(self) -> None:
        if not any(self.queues.values()):
            return
        for d in self.live:
            if d.job is not None or d.ready_at > self.now:
                continue
            job = self._pick(d)
            if job is None:
                continue
            self._start(d, job)

    def _start(self, d: SimDevice, job: SimJob) -> None:
        found = self.book.lookup(job.family, job.arrival.resolution, job.preset, d.kind)
        if found is None:  # nothing known: counted, never guessed
            self.unserved[job.family] = self.unserved.get(job.family, 0) + 1
            self._end_waiting(job, "lost")
            return
        profile, speed = found
        seconds = profile.sample(self.rng, speed) * job.arrival.duration
        if d.warm != job.family:
            cold_gpu = d.warm is not None or not d.kind.is_cpu  # CPU workers load nothing big
            seconds += self.policy.model_load_s if cold_gpu else 0.0
            d.warm = job.family
        failed = self.rng.random() < self.policy.fails(job.family)
        if failed:
            seconds *= 0.5
        job.state, job.started, job.device_kind = "running", self.now, d.kind.kind
        job.device_s = seconds
        job.cost_usd = seconds * d.kind.hourly_usd / 3600
        d.job = job
        d.spans.append((self.now, self.now + seconds))
        self._at(self.now + seconds, _DONE, (d, failed))

    def _done(self, payload: tuple[SimDevice, bool]) -> None:
        d, failed = payload
        job = d.job
        assert job is not None
        d.job, d.idle_since = None, self.now
        d.busy_s += job.device_s
        job.state, job.finished = ("failed" if failed else "succeeded"), self.now
        self._release_slot(job)
        if job.draft and not failed and self.rng.random() < self.policy.promote_share:
            self._submit(job.arrival, "final")  # promoted: the final is a job of its own

    # -- autoscaling -------------------------------------------------------------------

    def _scale(self, last_arrival: float) -> None:
        rule = self.fleet.autoscale
        assert rule is not None
        for kind in self.fleet.devices:
            live = [d for d in self.live if d.kind is kind]
            families = self._families_for(kind)
            oldest = min(
                (self._oldest_wait(f) for f in families),
                default=None,
                key=lambda t: t if t is not None else float("inf"),
            )
            if (
                oldest is not None
                and self.now - oldest >= rule.scale_out_wait_s
                and len(live) < rule.max
            ):
                starting = any(d.ready_at > self.now for d in live)
                if not starting:  # one at a time, as a scale-out rule would
                    self._add_device(kind, self.now, self.now + kind.startup_s)
                continue
            idle = [
                d
                for d in live
                if d.job is None
                and d.ready_at <= self.now
                and self.now - d.idle_since >= rule.scale_in_idle_s
            ]
            if idle and len(live) > max(rule.min, kind.count):  # count: the floor
                idle[0].down_at = self.now
                self.live.remove(idle[0])
        if self.now < last_arrival or self._open():
            self._at(self.now + rule.interval_s, _SCALE, None)

    def _open(self) -> bool:
        """Whether any job still runs or waits."""
        return (
            any(d.job is not None for d in self.live)
            or any(self._oldest_wait(f) is not None for f in self.oldest)
            or any(j.state == "throttled" for q in self.throttled.values() for j in q)
        )

    def _oldest_wait(self, family: str) -> float | None:
        fifo = self.oldest.get(family)
        while fifo and fifo[0].state != "queued":
            fifo.popleft()
        return fifo[0].submitted if fifo else None


def simulate(
    demand: list[Arrival],
    fleet: Fleet,
    sheet: BillingSheet,
    book: ProfileBook,
    policy: Policy,
    *,
    seed: int = 1,
) -> Outcome:
    return Engine(demand, fleet, sheet, book, policy, seed=seed).run()
