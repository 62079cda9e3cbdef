"""Prometheus metrics, read from the database at scrape time.

The database is the truth, and in a fleet the workers that run jobs, send webhooks and make
output decisions serve no HTTP: so every figure about jobs is derived from the database when
/metrics is scraped, not counted in the process that happened to do the work.

- Gauges (queue depth by model, priority and status; running jobs; webhook deliveries
  pending) are a GROUP BY at each scrape.
- Counters and histograms (jobs finished, failures by code, seconds per stage, device
  seconds, result-cache hits and misses, moderation decisions, webhook deliveries by outcome)
  fold in each row once as it reaches its final state. The first scrape after a process starts
  reads the whole history, later ones only rows finished since the last (with an overlap that
  tolerates late commits and clock skew between nodes), so each counter is the deployment's
  total since its database began: every API node of a fleet reports the same fleet-wide values
  (aggregate them with max, not sum).
- Open event streams are this process's own (a per-node gauge: sum them across nodes).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.domain.job import FINAL_STATUSES, JobStatus
from reelforge.services.billing.metering import device_seconds
from reelforge.storage.tables import AuditEntry, Job, WebhookDelivery

# Seconds: a moderation check (tens of ms) up to a long neural render (an hour).
STAGE_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
)
# A row that commits this long after the time it records is still counted (and nodes' clocks
# may differ by this much).
OVERLAP = timedelta(minutes=10)
WAITING = (str(JobStatus.QUEUED), str(JobStatus.THROTTLED))
_FINAL = tuple(str(s) for s in FINAL_STATUSES)


class _Tail:
    """Rows that reached a final state since the last poll, each (key) handed out once."""

    def __init__(
        self,
        query: Callable[[datetime | None], Any],
        when: Callable[[Any], datetime],
        key: Callable[[Any], Any],
    ):
        self.query, self.when, self.key = query, when, key
        self.watermark: datetime | None = None
        self.recent: dict[Any, datetime] = {}  # keys seen within OVERLAP of the watermark

    def poll(self, s: Session) -> Iterator[Any]:
        since = None if self.watermark is None else self.watermark - OVERLAP
        for row in s.execute(self.query(since).execution_options(yield_per=1000)):
            key, at = self.key(row), self.when(row)
            if key in self.recent or (since is not None and at <= since):
                continue
            self.recent[key] = at
            if self.watermark is None or at > self.watermark:
                self.watermark = at
            yield row
        if self.watermark is not None:
            floor = self.watermark - OVERLAP
            self.recent = {k: at for k, at in self.recent.items() if at > floor}


class _Histogram:
    def __init__(self) -> None:
        self.buckets = [0] * (len(STAGE_BUCKETS) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(STAGE_BUCKETS):
            if value <= bound:
                self.buckets[i] += 1
                break
        else:
            self.buckets[-1] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        total = 0
        for bound, n in zip([*map(str, STAGE_BUCKETS), "+Inf"], self.buckets, strict=True):
            total += n
            out.append((bound, total))
        return out


def _text(value: Any, default: str = "none") -> str:
    """A label value: stored strings only (model names, codes, categories), bounded."""
    return str(value)[:100] if value not in (None, "") else default


class FleetCollector(Collector):
    """Collects every reelforge metric from the platform's database (see the module doc)."""

    def __init__(self, p: Platform):
        self.p = p
        self.lock = threading.Lock()
        self.open_streams = 0  # this process's event streams (the API middleware counts)
        self.finished: dict[tuple[str, str], int] = defaultdict(int)
        self.failures: dict[tuple[str, str], int] = defaultdict(int)
        self.stages: dict[tuple[str, str], _Histogram] = defaultdict(_Histogram)
        self.device: dict[tuple[str, str], float] = defaultdict(float)
        self.cache: dict[str, int] = defaultdict(int)
        self.decisions: dict[tuple[str, str, str], int] = defaultdict(int)
        self.deliveries: dict[str, int] = defaultdict(int)
        # a job is folded in once per final status it reaches (blocked, then approved)
        self.jobs = _Tail(
            self._final_jobs, lambda r: r.finished_at, lambda r: (r.id, r.finished_at)
        )
        self.audit = _Tail(self._moderation, lambda r: r.created_at, lambda r: r.id)
        self.hooks = _Tail(self._final_deliveries, lambda r: r.finished_at, lambda r: r.id)

    # -- queries --------------------------------------------------------------------------

    @staticmethod
    def _final_jobs(since: datetime | None) -> Any:
        q = select(
            Job.id,
            Job.status,
            Job.model,
            Job.error_code,
            Job.timings,
            Job.device,
            Job.cache_key,
            Job.cached_from,
            Job.finished_at,
        ).where(Job.status.in_(_FINAL), Job.finished_at.is_not(None))
        return q if since is None else q.where(Job.finished_at > since)

    @staticmethod
    def _moderation(since: datetime | None) -> Any:
        q = select(
            AuditEntry.id,
            AuditEntry.action,
            AuditEntry.decision,
            AuditEntry.categories,
            AuditEntry.created_at,
        ).where(AuditEntry.action.like("moderation.%"))
        return q if since is None else q.where(AuditEntry.created_at > since)

    @staticmethod
    def _final_deliveries(since: datetime | None) -> Any:
        q = select(WebhookDelivery.id, WebhookDelivery.status, WebhookDelivery.finished_at).where(
            WebhookDelivery.status != "pending", WebhookDelivery.finished_at.is_not(None)
        )
        return q if since is None else q.where(WebhookDelivery.finished_at > since)

    # -- folding --------------------------------------------------------------------------

    def _fold(self, s: Session) -> None:
        for r in self.jobs.poll(s):
            model = _text(r.model)
            self.finished[(model, r.status)] += 1
            if r.status == str(JobStatus.FAILED):
                self.failures[(_text(r.error_code, "unknown"), model)] += 1
            if r.cached_from:
                self.cache["hit"] += 1
                continue  # served from the cache: no stages ran, no device time
            if r.cache_key:
                self.cache["miss"] += 1
            timings = r.timings if isinstance(r.timings, dict) else {}
            for stage, seconds in timings.items():
                if isinstance(seconds, int | float) and not isinstance(seconds, bool):
                    self.stages[(_text(stage), model)].observe(max(0.0, float(seconds)))
            spent = device_seconds(timings)
            if spent > 0:
                self.device[(_text(r.device, "unknown"), model)] += spent
        for r in self.audit.poll(s):
            stage = r.action.split(".", 1)[1] if "." in r.action else r.action
            categories = r.categories if isinstance(r.categories, list) else []
            for category in categories or [None]:
                self.decisions[(_text(stage), _text(r.decision, "unknown"), _text(category))] += 1
        for r in self.hooks.poll(s):
            self.deliveries[_text(r.status)] += 1

    def collect(self) -> Iterable[Metric]:
        with self.lock, self.p.db.session(write=False) as s:
            self._fold(s)
            depth = s.execute(
                select(Job.model, Job.priority, Job.status, func.count())
                .where(Job.status.in_(WAITING))
                .group_by(Job.model, Job.priority, Job.status)
            ).all()
            running = s.execute(
                select(Job.model, func.count())
                .where(Job.status == str(JobStatus.RUNNING))
                .group_by(Job.model)
            ).all()
            pending = (
                s.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.status == "pending")
                )
                or 0
            )
            yield from self._families(depth, running, pending)

    def _families(
        self, depth: Sequence[Any], running: Sequence[Any], pending: int
    ) -> Iterator[Metric]:
        g = GaugeMetricFamily(
            "reelforge_queue_depth",
            "Jobs waiting: queued for a worker, or throttled (waiting for a "
            "free slot of the account's plan).",
            labels=["model", "priority", "status"],
        )
        for model, priority, status, n in depth:
            g.add_metric([_text(model), str(priority), status], n)
        yield g
        g = GaugeMetricFamily(
            "reelforge_jobs_running", "Jobs a worker is running now.", labels=["model"]
        )
        for model, n in running:
            g.add_metric([_text(model)], n)
        yield g
        c = CounterMetricFamily(
            "reelforge_jobs_finished",
            "Jobs that reached a final status.",
            labels=["model", "status"],
        )
        for (model, status), n in sorted(self.finished.items()):
            c.add_metric([model, status], n)
        yield c
        c = CounterMetricFamily(
            "reelforge_job_failures", "Failed jobs by error code.", labels=["code", "model"]
        )
        for (code, model), n in sorted(self.failures.items()):
            c.add_metric([code, model], n)
        yield c
        h = HistogramMetricFamily(
            "reelforge_job_stage_seconds",
            "Wall time per stage of finished jobs (the job's recorded "
            "timings; stage=total is claim to finish).",
            labels=["stage", "model"],
        )
        for (stage, model), hist in sorted(self.stages.items()):
            h.add_metric([stage, model], hist.cumulative(), hist.sum)
        yield h
        c = CounterMetricFamily(
            "reelforge_device_seconds",
            "Measured device seconds of finished jobs (what is metered).",
            labels=["device", "model"],
        )
        for (device, model), seconds in sorted(self.device.items()):
            c.add_metric([device, model], seconds)
        yield c
        c = CounterMetricFamily(
            "reelforge_result_cache_requests",
            "Seeded requests by result-cache outcome (a hit runs nothing).",
            labels=["result"],
        )
        for result in ("hit", "miss"):
            c.add_metric([result], self.cache[result])
        yield c
        c = CounterMetricFamily(
            "reelforge_moderation_decisions",
            "Moderation decisions by stage, decision and category "
            "(category=none when no category was involved).",
            labels=["stage", "decision", "category"],
        )
        for (stage, decision, category), n in sorted(self.decisions.items()):
            c.add_metric([stage, decision, category], n)
        yield c
        c = CounterMetricFamily(
            "reelforge_webhook_deliveries",
            "Webhook deliveries that ended, by outcome.",
            labels=["outcome"],
        )
        for outcome in sorted({"delivered", "failed", *self.deliveries}):
            c.add_metric([outcome], self.deliveries[outcome])
        yield c
        yield GaugeMetricFamily(
            "reelforge_webhook_deliveries_pending",
            "Webhook deliveries still being tried.",
            value=pending,
        )
        yield GaugeMetricFamily(
            "reelforge_event_streams_open",
            "Server-sent event streams open on this API process.",
            value=self.open_streams,
        )


def registry(p: Platform) -> tuple[CollectorRegistry, FleetCollector]:
    """A registry of its own per app (tests build many apps in one process)."""
    reg = CollectorRegistry(auto_describe=False)
    collector = FleetCollector(p)
    reg.register(collector)
    return reg, collector
