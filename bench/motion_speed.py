"""How long the motion backend takes for a 5 s clip, end to end, at each resolution.

Runs the real `MotionBackend.generate` + `encode_mp4` path (load, smart crop, plan, render,
encode; default settings) on the bundled 600x400 sample photo and on the 4000x3000 bench
source made by `motion_vs_zoompan.py`, and prints wall seconds (best of `--repeats`), the
speed relative to real time, and where the time went. Run: `python bench/motion_speed.py`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from reelforge.backends.base import GenerationRequest
from reelforge.backends.motion import MotionBackend
from reelforge.domain.spec import Camera, JobSpec, Mode, Resolution
from reelforge.media.encode import encode_mp4
from reelforge.media.images import sample_image_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from motion_vs_zoompan import RESULTS, build_source

DURATION = 5.0


def run_once(
    image: Path, resolution: Resolution, camera: Camera, supersample: int, threaded: bool = True
) -> dict[str, float]:
    spec = JobSpec(
        mode=Mode.IMAGE2VIDEO, images=("bench",), camera=camera, resolution=resolution,
        duration=DURATION,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        started = time.perf_counter()
        request = GenerationRequest("bench", spec, (image,), workdir)
        clip = MotionBackend(supersample=supersample).generate(request, lambda *_: None)
        result = encode_mp4(clip.frames, workdir / "clip.mp4", fps=clip.fps, threaded=threaded)
        total = time.perf_counter() - started
    return {
        "total": total,
        "prepare": clip.timings["prepare"],
        "render": clip.timings["render"],
        "encode": result.encode_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--camera", type=Camera, default=Camera.ZOOM_IN)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    big = RESULTS / "zoom_source_4000x3000.png"
    if not big.exists():
        build_source(big)
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; 5 s clips at 24 fps, "
        f"camera {args.camera}, x264 veryfast CRF 20; best of {args.repeats}"
    )
    print(
        f"{'input':18} {'size':6} {'ss':>2} {'total s':>8} {'x realtime':>10} "
        f"{'prepare':>8} {'render*':>8} {'encode*':>8}"
    )
    for label, image in (("sample 600x400", sample_image_path()), ("photo 4000x3000", big)):
        for resolution in Resolution:
            for supersample in (2, 1):
                runs = [
                    run_once(image, resolution, args.camera, supersample)
                    for _ in range(args.repeats)
                ]
                best = min(runs, key=lambda r: r["total"])
                print(
                    f"{label:18} {resolution.value:6} {supersample:>2} {best['total']:8.2f} "
                    f"{DURATION / best['total']:10.2f} {best['prepare']:8.2f} "
                    f"{best['render']:8.2f} {best['encode']:8.2f}"
                )
    print(
        "* render and encode overlap (two threads on shared cores), so they add up to more "
        "than the total"
    )
    overlapped, inline = (
        min(
            run_once(big, Resolution.P1080, args.camera, 2, threaded)["total"]
            for _ in range(args.repeats)
        )
        for threaded in (True, False)
    )
    print(
        f"photo 4000x3000 1080p: render and encode overlapped {overlapped:.2f} s, "
        f"one after the other {inline:.2f} s ({inline / overlapped:.2f}x)"
    )


if __name__ == "__main__":
    main()
