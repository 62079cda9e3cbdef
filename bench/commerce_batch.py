"""Promo clips per minute: a 50-product catalogue x 3 aspects through `reelforge commerce`
(template, overlays, end card, governance, provenance; every clip an ordinary job) vs the
peer a merchant has without it: one plain image-to-video motion job per product and aspect,
submitted through the same service, run by the same in-process workers, same size and
length, no overlays. Both on the embedded stack (SQLite, local blobs) in a fresh data dir.

    .venv/bin/python bench/commerce_batch.py [--tiny] [--products N] [--workers N]

Prints clips per minute for each and the ratio (ours / peer; 1.0 = the templates cost
nothing extra per clip).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.commerce import batch as batches
from reelforge.commerce.catalog import read_catalog
from reelforge.commerce.sources import checker, local_source
from reelforge.config import Settings
from reelforge.domain.job import FINAL_STATUSES
from reelforge.domain.spec import Resolution
from reelforge.media.images import load_image, sample_image_path
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.worker.loop import Worker

ASPECTS = "9:16,1:1,16:9"
FINAL = {str(s) for s in FINAL_STATUSES}


def make_catalog(folder: Path, products: int) -> Path:
    """`products` rows, each with its own photo (a crop of the sample photo)."""
    photo = load_image(sample_image_path())
    rng = np.random.default_rng(0)
    rows = ["sku,title,description,price,currency,compare_at_price,images"]
    for i in range(products):
        h, w = photo.shape[:2]
        x, y = int(rng.integers(0, w // 4)), int(rng.integers(0, h // 4))
        crop = photo[y : y + 3 * h // 4, x : x + 3 * w // 4]
        if i % 2:
            crop = crop[:, ::-1]
        cv2.imwrite(str(folder / f"p{i}.jpg"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        title = f"Product {i} hand-made porcelain espresso cup" + (
            ", a long title that must wrap over several lines" if i % 3 == 0 else ""
        )
        rows.append(f'SKU-{i},"{title}",Porcelain,{10 + i}.99,USD,{20 + i}.00,p{i}.jpg')
    path = folder / "catalog.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def platform(data: Path) -> Platform:
    settings = Settings(data_dir=data, worker_queues=["motion"], result_cache="off")  # type: ignore[call-arg]
    return bootstrap(settings)


def run_ours(
    folder: Path, catalog: Path, resolution: Resolution, workers: int
) -> tuple[int, float]:
    p = platform(folder / "data-ours")
    try:
        account = accounts.ensure_account(p, accounts.LOCAL_ACCOUNT)
        source = local_source(p, folder)
        if p.moderation is not None:
            p.moderation.warm()  # the detectors load before the clock starts, for both
        worker = Worker(p, queues=["motion"], concurrency=workers).start()
        started = time.perf_counter()
        parsed = read_catalog(catalog.read_bytes(), catalog.name, check_image=checker(p, source))
        options = batches.BatchOptions(
            template="showcase",
            aspects=batches.parse_aspects(ASPECTS),
            resolution=resolution,
            length="short",
        )
        assert not parsed.errors, parsed.errors
        view = batches.create_batch(p, account, parsed, options, catalog_name=catalog.name)
        ahead = 4 * workers + 8  # as `reelforge commerce batch` does
        while (view := batches.refresh(p, account, view["id"], items=False))["status"] != "done":
            waiting = view["counts"]["queued"]
            if view["counts"]["pending"] and waiting < ahead:
                batches.submit_pending(p, account, view["id"], source, limit=ahead - waiting)
            else:
                time.sleep(0.2)
        batches.export(p, account, view["id"], folder / "out")
        elapsed = time.perf_counter() - started
        worker.stop(hand_back=True, timeout=10)
        assert view["counts"]["succeeded"] == view["total"], view["counts"]
        return view["counts"]["succeeded"], elapsed
    finally:
        p.close()


def run_peer(
    folder: Path, products: int, resolution: Resolution, workers: int, duration: float
) -> tuple[int, float]:
    from reelforge.services.jobs.uploads import create_upload

    p = platform(folder / "data-peer")
    try:
        account = accounts.ensure_account(p, accounts.LOCAL_ACCOUNT)
        if p.moderation is not None:
            p.moderation.warm()
        worker = Worker(p, queues=["motion"], concurrency=workers).start()
        started = time.perf_counter()
        jobs = []
        for i in range(products):
            data = (folder / f"p{i}.jpg").read_bytes()
            upload = create_upload(p, account, data, f"p{i}.jpg").id
            for aspect in ASPECTS.split(","):
                req = SubmitRequest.parse(
                    {
                        "image_upload_id": upload,
                        "prompt": f"Product {i} hand-made porcelain espresso cup",
                        "aspect_ratio": aspect,
                        "resolution": resolution,
                        "duration": duration,
                        "model": "motion",
                        "seed": i,
                    }
                )
                jobs.append(submit_job(p, account, req).job["id"])
        done = 0
        for job_id in jobs:
            while (job := queries.get_job(p, account, job_id))["status"] not in FINAL:
                time.sleep(0.1)
            if job["status"] == "succeeded":
                target = folder / "peer" / f"{job_id}.mp4"
                target.parent.mkdir(exist_ok=True)
                p.blobs.download(queries.job_content(p, account, job_id).key, target)
                done += 1
        elapsed = time.perf_counter() - started
        worker.stop(hand_back=True, timeout=10)
        return done, elapsed
    finally:
        p.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="2 products (smoke run)")
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    products = 2 if args.tiny else args.products
    resolution = Resolution.P480
    for key in [k for k in os.environ if k.startswith("RF_")]:
        del os.environ[key]
    with tempfile.TemporaryDirectory(prefix="reelforge-bench-commerce-") as tmp:
        folder = Path(tmp)
        catalog = make_catalog(folder, products)
        ours, ours_s = run_ours(folder, catalog, resolution, args.workers)
        duration = 1.5  # showcase at length short: a 1 s scene and a 0.5 s end card
        peer, peer_s = run_peer(folder, products, resolution, args.workers, duration)
    ours_rate, peer_rate = ours * 60 / ours_s, peer * 60 / peer_s
    print(f"{products} products x 3 aspects, 480p, {duration} s clips, {args.workers} workers")
    print(f"commerce batch (showcase)  {ours} clips in {ours_s:.1f} s: {ours_rate:.1f} clips/min")
    print(f"plain motion jobs (peer)   {peer} clips in {peer_s:.1f} s: {peer_rate:.1f} clips/min")
    print(f"ratio (batch / plain jobs, clips per minute): {ours_rate / peer_rate:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
