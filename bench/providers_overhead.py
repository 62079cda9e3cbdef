"""What reelforge adds to a hosted provider's job, against the provider's fake server on
loopback (the provider's own generation time is left out: the fake's task is done at its first
status read).

    python bench/providers_overhead.py [--repeats 3] [--duration 5] [--size 1280x720]

Two spans per job, each against a peer doing only the bare HTTP call in the same run:
- submit → provider call: from `submit_job` (validation, price, prompt moderation, the
  transaction, the queue) to the create request arriving at the provider — against a bare
  client that builds the same request body and POSTs it;
- download → playable file: from the result's download request arriving at the provider to the
  job's stored, labelled, watermarked, C2PA-signed MP4 — against a bare client that downloads
  the provider's file to disk (which is already playable; reelforge decodes, checks, marks and
  re-encodes every frame).
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.providers.fakes

from tests.providers.fakes.base import make_mp4
from tests.providers.fakes.kling import FakeKling

from reelforge.app.bootstrap import bootstrap
from reelforge.backends.providers.kling import jwt_hs256
from reelforge.config import Settings
from reelforge.services.accounts import accounts
from reelforge.services.jobs import provider_registry, queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.worker.loop import Worker

ACCESS, SECRET = "bench-access-key", "bench-secret-key-0123456789"
STAGES = ("download", "check_output", "frames", "encode", "output_moderation", "store")


def _final(p: Any, acct: Any, job_id: str) -> dict[str, Any]:
    while (view := queries.get_job(p, acct, job_id))["status"] not in (
        "succeeded",
        "failed",
        "blocked",
        "cancelled",
    ):
        time.sleep(0.005)
    return view


def ours(p: Any, acct: Any, fake: FakeKling, seed: int) -> dict[str, float]:
    before = len(fake.requests)
    started = time.perf_counter()
    job = submit_job(
        p,
        acct,
        SubmitRequest.parse(
            {"prompt": "a lighthouse at dusk", "model": "kling", "duration": 5, "seed": seed}
        ),
    ).job
    view = _final(p, acct, job["id"])
    done = time.perf_counter()
    assert view["status"] == "succeeded", view["error"]
    mine = fake.requests[before:]
    create = next(r for r in mine if r.method == "POST")
    download = next(r for r in mine if r.path.startswith("/files/"))
    timings = view["timings"]
    return {
        "submit_to_call": create.at - started,
        "download_to_file": done - download.at,
        **{k: float(timings.get(k, 0.0)) for k in STAGES},
        **{k: float(v) for k, v in timings.items() if k.startswith("output_")},
    }


def peer(fake: FakeKling, tmp: Path) -> dict[str, float]:
    """A bare client: the same create body POSTed, then the result downloaded to disk."""
    with httpx.Client(timeout=30) as client:
        before = len(fake.requests)
        started = time.perf_counter()
        body = {
            "model_name": "kling-v2-1",
            "prompt": "a lighthouse at dusk",
            "mode": "std",
            "duration": "5",
            "aspect_ratio": "16:9",
            "external_task_id": base64.b32encode(str(started).encode()).decode()[:20],
        }
        auth = {"Authorization": f"Bearer {jwt_hs256(ACCESS, SECRET)}"}
        answer = client.post(f"{fake.base_url}/v1/videos/text2video", json=body, headers=auth)
        submit = fake.requests[before].at - started
        task = answer.json()["data"]["task_id"]
        status = client.get(f"{fake.base_url}/v1/videos/text2video/{task}", headers=auth).json()
        url = status["data"]["task_result"]["videos"][0]["url"]
        before = len(fake.requests)
        dest = tmp / "peer.mp4"
        with client.stream("GET", url) as r, dest.open("wb") as out:
            for chunk in r.iter_bytes(1 << 16):
                out.write(chunk)
        return {
            "submit_to_call": submit,
            "download_to_file": time.perf_counter() - fake.requests[before].at,
        }


def run(repeats: int, duration: float, size: tuple[int, int], fps: int = 24) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="rf-providers-"))
    frames = max(1, round(duration * fps))
    video = make_mp4(tmp / "result.mp4", frames=frames, fps=fps, size=size)
    fake = FakeKling(video, ACCESS, SECRET).start()
    p = bootstrap(
        Settings(
            data_dir=tmp / "data",
            worker_queues=["providers"],
            result_cache="off",
            default_plan="internal",
            provider_kling_base_url=fake.base_url,
            provider_kling_access_key=ACCESS,
            provider_kling_secret_key=SECRET,
            provider_poll_interval=0.05,
        )
    )
    provider_registry.add_provider_model(
        p,
        provider_registry.parse_provider_model_request(
            {"name": "kling", "provider": "kling", "remote_model": "kling-v2-1"}
        ),
    )
    acct = accounts.ensure_account(p, "bench")
    worker = Worker(p, concurrency=1).start()
    runs: list[dict[str, float]] = []
    peers: list[dict[str, float]] = []
    try:
        ours(p, acct, fake, 0)  # warm up: the policy's models, the encoder
        for i in range(repeats):
            runs.append(ours(p, acct, fake, i + 1))
            peers.append(peer(fake, tmp))
    finally:
        worker.stop(hand_back=True)
        p.close()
        fake.stop()
    best = {k: min(r[k] for r in runs) for k in runs[0]}
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    peer_best = {k: min(r[k] for r in peers) for k in peers[0]}
    return {"best": best, "median": median, "peer": peer_best, "frames": frames, "size": size}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    result = run(args.repeats, args.duration, (w, h))
    best, peer_best = result["best"], result["peer"]
    print(f"provider result: {w}x{h}, {result['frames']} frames; best of {args.repeats}")
    print(f"{'span':<28}{'reelforge':>12}{'bare client':>14}{'ratio':>9}")
    for key, name in (
        ("submit_to_call", "submit -> provider call"),
        ("download_to_file", "download -> playable file"),
    ):
        ratio = best[key] / peer_best[key] if peer_best[key] else float("nan")
        print(
            f"{name:<28}{best[key] * 1000:>10.1f}ms{peer_best[key] * 1000:>12.1f}ms{ratio:>8.1f}x"
        )
    print("download -> playable file, by stage (best run):")
    for key in sorted(k for k in best if k not in ("submit_to_call", "download_to_file")):
        print(f"  {key:<26}{best[key] * 1000:>10.1f}ms")


if __name__ == "__main__":
    main()
