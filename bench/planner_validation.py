"""The capacity planner against a real run: the motion backend on this machine with two
workers, a stream of image-to-video jobs arriving faster than the workers finish them (so
waits build up), then the planner's prediction of the same arrivals on a modelled fleet of
two CPU workers, with timing profiles measured on a separate calibration run.

    .venv/bin/python bench/planner_validation.py [--jobs 24] [--interval 0.2] [--duration 4]

Prints measured and predicted mean and p95 wait and total device seconds, and their ratios;
the target is within 10 % (issue 19). The calibration run's jobs only give the profile: the
validation run's own timings are never shown to the planner.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.backends.motion import MotionBackend
from reelforge.billing.sheet import load_sheet
from reelforge.cli import sample_image
from reelforge.config import Settings
from reelforge.planner import demand as demands
from reelforge.planner.engine import simulate
from reelforge.planner.fleet import DeviceKind, Fleet
from reelforge.planner.policy import Policy
from reelforge.planner.profiles import ProfileBook, measured_profiles, quantile
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.jobs.uploads import create_upload
from reelforge.services.ops import demand as ops_demand
from reelforge.worker.loop import Worker

WORKERS = 2


def run(tmp: Path, name: str, jobs: int, interval: float, duration: float) -> Platform:
    """Submit `jobs` motion jobs `interval` s apart to two workers; wait for all of them."""
    p = bootstrap(
        Settings(
            data_dir=tmp / name,
            worker_queues=["motion"],
            result_cache="off",
            default_plan="internal",
        ),
        backends=[MotionBackend()],
    )
    acct = accounts.ensure_account(p, "bench")
    upload = create_upload(p, acct, sample_image().read_bytes(), "cup.jpg").id
    workers = [Worker(p, concurrency=1, name=f"w{i}").start() for i in range(WORKERS)]
    ids = []
    began = time.monotonic()
    for i in range(jobs):
        time.sleep(max(0.0, began + i * interval - time.monotonic()))
        body = {
            "model": "motion",
            "prompt": "slow zoom in",
            "camera": "zoom_in",
            "image_upload_id": upload,
            "duration": duration,
            "resolution": "480p",
            "seed": i,
        }
        ids.append(submit_job(p, acct, SubmitRequest.parse(body)).job["id"])
    for job_id in ids:
        while queries.get_job(p, acct, job_id)["status"] not in ("succeeded", "failed"):
            time.sleep(0.02)
    for w in workers:
        w.stop()
    return p


def waits(p: Platform) -> list[float]:
    acct = accounts.ensure_account(p, "bench")
    out = []
    for job in queries.list_jobs(p, acct, limit=100)["data"]:
        created = datetime.fromisoformat(job["created_at"])
        started = datetime.fromisoformat(job["started_at"])
        out.append((started - created).total_seconds())
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    # a 4 s 480p clip holds a worker about 1.5 s here: one every 0.2 s builds a queue
    ap.add_argument("--jobs", type=int, default=24)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--duration", type=float, default=4.0)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="rf-plan-"))
    calibration = run(tmp, "calibration", args.jobs, args.interval, args.duration)
    records = ops_demand.device_records(calibration)
    calibration.close()
    validation = run(tmp, "validation", args.jobs, args.interval, args.duration)
    rows = ops_demand.arrivals(validation)
    measured_waits = waits(validation)
    measured_device = sum(r["seconds"] for r in ops_demand.device_records(validation))
    validation.close()

    sheet = load_sheet()
    fleet = Fleet(
        devices=(DeviceKind(kind="cpu", count=WORKERS, hourly_usd=0.05, families=("motion",)),)
    )
    book = ProfileBook(sheet, measured_profiles(records, ["cpu"]))
    policy = Policy(name="validation", failure_rate={"*": 0.0}, model_load_s=0.0)
    arrivals = demands.parse_csv(demands.rows_to_csv(rows))
    predicted_w, predicted_d = [], []
    for seed in range(1, 6):  # the prediction's spread comes from the profile's p50-p90
        out = simulate(arrivals, fleet, sheet, book, policy, seed=seed)
        predicted_w.append([j.wait or 0.0 for j in out.jobs])
        predicted_d.append(sum(j.device_s for j in out.jobs))
    mean_w = statistics.mean(statistics.mean(w) for w in predicted_w)
    p95_w = statistics.mean(quantile(w, 0.95) for w in predicted_w)
    dev = statistics.mean(predicted_d)
    result = {
        "mean_wait": (statistics.mean(measured_waits), mean_w),
        "p95_wait": (quantile(measured_waits, 0.95), p95_w),
        "device_seconds": (measured_device, dev),
    }
    print(
        f"{args.jobs} motion jobs ({args.duration:g} s, 480p), one every {args.interval:g} s, "
        f"{WORKERS} workers; profile measured on a separate calibration run"
    )
    print(f"{'figure':<16} {'measured':>10} {'predicted':>10} {'ratio':>7}")
    for name, (m, pr) in result.items():
        print(f"{name:<16} {m:>10.2f} {pr:>10.2f} {pr / m if m else float('nan'):>7.3f}")
    return result


if __name__ == "__main__":
    main()
