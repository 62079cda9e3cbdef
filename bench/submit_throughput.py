"""Submit throughput and submit→start latency, embedded (SQLite + SqliteHuey) vs fleet
(PostgreSQL + Redis, and PostgreSQL + PostgresHuey), measured in one run.

    .venv/bin/python bench/submit_throughput.py [--jobs 300] [--threads 4] [--latency 40]

Throughput: jobs submitted per second through the real service (validation, one DB
transaction with the job row and its first event, enqueue), from 1 and from N threads.
Latency: an idle worker is running; time from calling submit to the worker's claim
(the job's `started_at`), over sequential submissions.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.backends.base import Clip, GenerationRequest, ProgressFn
from reelforge.config import Settings
from reelforge.domain.spec import JobSpec
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.worker.loop import Worker

PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


class OneFrameBackend:
    """Generates a single tiny frame: the bench measures the platform, not rendering."""

    name = queue = "bench"

    def check(self, spec: JobSpec) -> None:
        pass

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        import numpy as np

        return Clip(
            width=16,
            height=16,
            fps=1,
            frame_count=1,
            frames=iter([np.zeros((16, 16, 3), np.uint8)]),
        )


BODY = {"prompt": "bench", "model": "bench", "duration": 1, "fps": 1, "resolution": "480p"}


def _fresh_pg_db() -> str:
    import psycopg

    name = f"rf_bench_{secrets.token_hex(3)}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG.rsplit("/", 1)[0] + "/" + name


def _drop_pg_db(url: str) -> None:
    import psycopg

    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def start_latency(
    p: Platform, worker_side: Platform, acct: accounts.AccountRef, n: int
) -> list[float]:
    """Seconds from calling submit on `p` to the claim by a worker built on `worker_side`."""
    req = SubmitRequest.parse(BODY)
    worker = Worker(worker_side, queues=["bench"], concurrency=1, background_duties=False).start()
    latencies = []
    try:
        time.sleep(1.0)  # let the worker reach its idle poll
        for _ in range(n):
            submitted = time.time()
            job = submit_job(p, acct, req).job
            while not (view := queries.get_job(p, acct, job["id"]))["started_at"]:
                time.sleep(0.002)
            latencies.append(datetime.fromisoformat(view["started_at"]).timestamp() - submitted)
            while queries.get_job(p, acct, job["id"])["status"] == "running":
                time.sleep(0.002)
            time.sleep(0.3)  # idle gap, as between real submissions
    finally:
        worker.stop()
    return sorted(latencies)


def _p95(values: list[float]) -> float:
    return values[int(0.95 * (len(values) - 1))]


def measure(
    label: str,
    settings: Settings,
    n_jobs: int,
    threads: int,
    n_latency: int,
    *,
    moderate: bool = True,
    bill: bool = True,
) -> dict[str, float]:
    p = bootstrap(settings, backends=[OneFrameBackend()], moderate=moderate, bill=bill)
    acct = accounts.ensure_account(p, "bench")
    # A new prompt each time, in every run: the text moderator caches scores of prompts it
    # has seen (for the life of the process).
    run = secrets.token_hex(4)
    reqs = [
        SubmitRequest.parse({**BODY, "prompt": f"{BODY['prompt']} {run} number {i}"})
        for i in range(2 * n_jobs + 1)
    ]
    submit_job(p, acct, reqs[-1])  # warm up connections
    p.queue.flush("bench")

    t0 = time.perf_counter()
    for req in reqs[:n_jobs]:
        submit_job(p, acct, req)
    serial = n_jobs / (time.perf_counter() - t0)

    per = n_jobs // threads

    def burst(start: int) -> None:
        for req in reqs[start : start + per]:
            submit_job(p, acct, req)

    ts = [threading.Thread(target=burst, args=(n_jobs + i * per,)) for i in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    parallel = per * threads / (time.perf_counter() - t0)
    p.queue.flush("bench")

    same = start_latency(p, p, acct, n_latency)
    # A worker with its own platform (own connections, no in-process wake-up): what a worker
    # process on another machine sees; it finds new jobs by polling every poll_interval.
    other = bootstrap(settings, backends=[OneFrameBackend()], moderate=moderate, bill=bill)
    apart = start_latency(p, other, acct, n_latency)
    other.close()
    p.close()
    result = {
        "serial": serial,
        "parallel": parallel,
        "p50_ms": statistics.median(same) * 1000,
        "p95_ms": _p95(same) * 1000,
        "apart_p50_ms": statistics.median(apart) * 1000,
        "apart_p95_ms": _p95(apart) * 1000,
    }
    print(
        f"{label:<28} {serial:8.1f} {parallel:10.1f} {result['p50_ms']:8.1f}/"
        f"{result['p95_ms']:<6.1f} {result['apart_p50_ms']:8.1f}/{result['apart_p95_ms']:.1f}",
        flush=True,
    )
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--latency", type=int, default=40)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rf-bench-"))
    print(
        "submit→start latency p50/p95 in ms: 'same process' = embedded worker (woken on "
        "enqueue); 'worker apart' = a worker with its own connections (polls)"
    )
    print(
        f"{'deployment':<28} {'jobs/s':>8} {'jobs/s x' + str(args.threads):>10} "
        f"{'same process':>15} {'worker apart':>15}"
    )
    # The bench account is the operator's own (metered through the ledger, never limited).
    base = {
        "queue_namespace": f"bench{secrets.token_hex(3)}",
        "worker_queues": ["bench"],
        "default_plan": "internal",
    }
    results = {
        "sqlite": measure(
            "SQLite + SqliteHuey",
            Settings(data_dir=tmp / "a", **base),
            args.jobs,
            args.threads,
            args.latency,
        )
    }
    for label, queue in (("PostgreSQL + Redis", REDIS), ("PostgreSQL + PostgresHuey", None)):
        try:
            db = _fresh_pg_db()
        except Exception as exc:
            print(f"{label:<28} skipped: {exc}")
            continue
        try:
            results[label] = measure(
                label,
                Settings(data_dir=tmp / label[:2], database_url=db, queue_url=queue or db, **base),
                args.jobs,
                args.threads,
                args.latency,
            )
        finally:
            _drop_pg_db(db)
    # The policy check at submit (prompt normalisation, term rules, MiniLM embedding, audit
    # entry) is part of every submit; this row shows what it costs.
    bare = measure(
        "SQLite, no moderation",
        Settings(data_dir=tmp / "n", **base),
        args.jobs,
        args.threads,
        args.latency,
        moderate=False,
    )
    # Billing at submit: price, plan priority, account lock, limits, reservation in the
    # ledger; and at the final status: capture, metering.
    unbilled = measure(
        "SQLite, no billing",
        Settings(data_dir=tmp / "b", **base),
        args.jobs,
        args.threads,
        args.latency,
        bill=False,
    )
    base_r = results["sqlite"]
    print(
        f"billing at submit: serial {base_r['serial'] / unbilled['serial']:.2f}x the jobs/s "
        f"without it ({1000 / base_r['serial'] - 1000 / unbilled['serial']:.1f} ms a submit)"
    )
    print(
        f"moderation at submit: serial {base_r['serial'] / bare['serial']:.2f}x the jobs/s "
        f"without it ({1000 / base_r['serial'] - 1000 / bare['serial']:.1f} ms a submit)"
    )
    for label, r in results.items():
        if label != "sqlite":
            print(
                f"ratio {label} / SQLite: serial {r['serial'] / base_r['serial']:.2f}x, "
                f"parallel {r['parallel'] / base_r['parallel']:.2f}x, "
                f"p50 latency apart {r['apart_p50_ms'] / base_r['apart_p50_ms']:.2f}x"
            )


if __name__ == "__main__":
    main()
