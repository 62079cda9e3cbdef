"""What provenance costs: the same motion clip through the real job path (submit → queue →
worker → encode → store) with and without the four marks (visible label, watermark, AIGC
metadata, signed C2PA manifest), interleaved, best of N. Moderation is left out of both, so
the difference is provenance alone.

    python bench/provenance_overhead.py [--repeats 3] [--duration 5] [--resolution 720p]

Prints the overhead per second of output and as a share of the motion backend's render time
for the same clip (the issue's goal: under 20%).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from reelforge.app.bootstrap import bootstrap
from reelforge.backends.motion import MotionBackend
from reelforge.cli import sample_image
from reelforge.config import Settings
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.jobs.uploads import create_upload
from reelforge.worker.loop import Worker


def one_job(p: Any, acct: Any, upload: str, args: argparse.Namespace) -> dict[str, Any]:
    body = {
        "model": "motion",
        "prompt": "slow zoom in",
        "camera": "zoom_in",
        "image_upload_id": upload,
        "duration": args.duration,
        "resolution": args.resolution,
        "seed": 1,
    }
    started = time.perf_counter()
    job = submit_job(p, acct, SubmitRequest.parse(body)).job
    while (view := queries.get_job(p, acct, job["id"]))["status"] not in (
        "succeeded",
        "failed",
        "blocked",
        "cancelled",
    ):
        time.sleep(0.01)
    assert view["status"] == "succeeded", view["error"]
    return {"wall": time.perf_counter() - started, **view["timings"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--resolution", default="720p")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rf-prov-"))
    contenders = {}
    for name, label in (("without provenance", False), ("with provenance", True)):
        # result cache off: every timed job renders (the same seeded job would be a cache hit)
        p = bootstrap(
            Settings(
                data_dir=tmp / name.replace(" ", "-"), worker_queues=["motion"], result_cache="off"
            ),
            backends=[MotionBackend()],
            moderate=False,
            label=label,
        )
        acct = accounts.ensure_account(p, "bench")
        upload = create_upload(p, acct, sample_image().read_bytes(), "cup.jpg").id
        worker = Worker(p, concurrency=1).start()
        one_job(p, acct, upload, args)  # warm up (fonts, signer, caches)
        contenders[name] = (p, acct, upload, worker, [])
    for _ in range(args.repeats):
        for p, acct, upload, _w, runs in contenders.values():
            runs.append(one_job(p, acct, upload, args))
    print(
        f"motion clip: {args.duration:g} s at {args.resolution}, 24 fps, best of "
        f"{args.repeats} (interleaved)"
    )
    print(f"{'contender':<22} {'wall s':>8} {'render s':>9} {'encode s':>9} {'total s':>8}")
    best = {}
    for name, (p, _a, _u, worker, runs) in contenders.items():
        b = min(runs, key=lambda r: r["wall"])
        best[name] = b
        print(
            f"{name:<22} {b['wall']:8.3f} {b['render']:9.3f} {b['encode']:9.3f} "
            f"{b['total']:8.3f}   (median wall {statistics.median(r['wall'] for r in runs):.3f})"
        )
        worker.stop(hand_back=True)
        p.close()
    extra = best["with provenance"]["wall"] - best["without provenance"]["wall"]
    render = best["without provenance"]["render"]
    print(
        f"provenance overhead: {extra:.3f} s per clip = {extra / args.duration * 1000:.0f} ms "
        f"per second of output = {extra / render * 100:.1f}% of the motion render time "
        f"({render:.3f} s); goal < 20%"
    )


if __name__ == "__main__":
    main()
