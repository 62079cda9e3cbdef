"""A cold `reelforge generate` against ffmpeg's `zoompan`, as whole processes side by side.

Both make the same clip from the same file: a 5 s 1080p24 zoom in over the 4000x3000 source of
`motion_vs_zoompan.py` (libx264 CRF 20, preset veryfast). Each `reelforge generate` is a new
process on a new, empty data directory (database created and migrated, account created, image
uploaded and moderated, in-process worker, output moderated, labelled, watermarked and signed,
file written) — what a creator's first command costs. zoompan is one `ffmpeg` process. Runs are
interleaved, so load from other work hits both alike; the medians and their ratio are printed,
and the stage timings `reelforge generate --json` reports, so the start-up share is visible.

The moderation models' derived files (ONNX graphs, exemplar embeddings) live in the model
cache (`RF_MODEL_CACHE_DIR`), not in the data directory: the bench first runs one generate with
an empty model cache (the first command after installing) and reports it apart, then times
the usual case, a warm model cache and a fresh data directory.

    python bench/cold_start.py [--repeats 3] [--prompt TEXT] [--tiny] [--baseline-src DIR]

`--baseline-src DIR` adds a third contender, interleaved with the other two: the same generate
run with `PYTHONPATH=DIR` (e.g. the `src` folder of `git archive` of an older commit), so a
change is measured against the code before it in the same rounds.

`--tiny` (CI): a 640x480 source, a 1 s 320x180 clip, one repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from motion_vs_zoompan import RESULTS, build_source, find_ffmpeg

from reelforge.backends.motion.camera import zoom_amount
from reelforge.media.encode import DEFAULT_CRF, DEFAULT_PRESET

PROMPT = "slow zoom in on the coffee cup, warm morning light"
STAGES = (
    "moderation_submit",
    "prepare",
    "render",
    "encode",
    "output_moderation",
    "output_provenance",
    "store",
    "total",
)


def zoompan_command(
    ffmpeg: str,
    source: Path,
    source_size: tuple[int, int],
    out_size: tuple[int, int],
    fps: int,
    duration: float,
    out: Path,
) -> list[str]:
    """The same filter chain as motion_vs_zoompan's zoompan contender, for any size."""
    (sw, sh), (ow, oh) = source_size, out_size
    frames = round(fps * duration)
    crop_h = sw * oh / ow
    curve = f"pow({zoom_amount(duration)},(1-cos(PI*on/{frames - 1}))/2)"
    filters = [
        f"crop={sw}:{round(crop_h)}:0:{round((sh - crop_h) / 2)}",
        "scale=out_color_matrix=bt709:out_range=tv",
        "format=yuv444p",
        f"zoompan=z='{curve}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"
        f":d={frames}:s={ow}x{oh}:fps={fps}",
        "format=yuv420p",
    ]
    return [
        ffmpeg, "-v", "error", "-y", "-i", str(source), "-vf", ",".join(filters),
        "-frames:v", str(frames), "-c:v", "libx264", "-crf", str(DEFAULT_CRF),
        "-preset", DEFAULT_PRESET, "-pix_fmt", "yuv420p", "-colorspace", "bt709",
        "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
        "-movflags", "+faststart", str(out),
    ]  # fmt: skip


def generate_command(
    source: Path, out_size: tuple[int, int], duration: float, prompt: str, out: Path
) -> list[str]:
    return [
        sys.executable, "-m", "reelforge.cli", "generate", "--image", str(source),
        "--camera", "zoom_in", "--duration", str(duration),
        "--size", f"{out_size[0]}x{out_size[1]}",
        "--prompt", prompt, "--out", str(out), "--json",
    ]  # fmt: skip


@dataclass
class Run:
    wall: float  # seconds, start to exit
    cpu: float  # user + system seconds of the process and its threads (less sensitive to
    # other work on the machine than the wall time)
    stdout: str


def timed(command: list[str], env: dict[str, str]) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(
            f"{command[0]} {' '.join(command[1:5])} ... failed ({done.returncode}):\n"
            f"{done.stderr[-2000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, done.stdout)


def without_bytecode_switch(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment without PYTHONDONTWRITEBYTECODE: with it (set on our CI machines),
    every process compiles reelforge's ~160 modules from source again (~0.3-0.45 s of CPU),
    which no user's machine does (Python caches bytecode in __pycache__ by default, and a
    pip-installed wheel is compiled at install). The first, untimed run writes the cache."""
    return {k: v for k, v in environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_generate(
    command: list[str], model_cache: Path, scratch: Path, src: Path | None = None
) -> tuple[Run, dict]:
    """One cold generate on a new data directory, and the job's stage timings."""
    env = {
        **without_bytecode_switch(os.environ),
        "RF_MODEL_CACHE_DIR": str(model_cache),
        "RF_DATA_DIR": tempfile.mkdtemp(prefix="data-", dir=scratch),
    }
    if src is not None:  # the baseline's code first on the path
        env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
    run = timed(command, env)
    job = json.loads(run.stdout.strip().splitlines()[-1])
    if job["status"] != "succeeded":
        sys.exit(f"generate ended {job['status']}: {job.get('error')}")
    return run, job["timings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each")
    parser.add_argument("--prompt", default=PROMPT, help="the generate prompt ('' for none)")
    parser.add_argument("--tiny", action="store_true", help="CI size: 1 s at 320x180, once")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="also time the generate of the code in this src folder",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    ffmpeg, origin = find_ffmpeg()
    if args.tiny:
        source_size, out_size, duration, repeats = (640, 480), (320, 180), 1.0, 1
        source = RESULTS / "cold_start_source_640x480.png"
        if not source.exists():
            import cv2
            import numpy as np

            rng = np.random.default_rng(0)
            cv2.imwrite(str(source), rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
    else:
        source_size, out_size, duration, repeats = (4000, 3000), (1920, 1080), 5.0, args.repeats
        source = RESULTS / "zoom_source_4000x3000.png"
        if not source.exists():
            build_source(source)
    fps = 24
    print(f"ffmpeg: {origin}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    print(
        f"clip: {round(fps * duration)} frames {out_size[0]}x{out_size[1]}@{fps} from "
        f"{source_size[0]}x{source_size[1]}, prompt {args.prompt!r}"
    )

    with tempfile.TemporaryDirectory(prefix="reelforge-cold-") as tmp:
        scratch = Path(tmp)
        model_cache = scratch / "model-cache"
        gen = generate_command(source, out_size, duration, args.prompt, scratch / "rf.mp4")
        zoom = zoompan_command(
            ffmpeg, source, source_size, out_size, fps, duration, scratch / "zoompan.mp4"
        )
        first, first_stages = run_generate(gen, model_cache, scratch)  # empty model cache
        ours: list[Run] = []
        peer: list[Run] = []
        stages: list[dict] = []
        base: list[Run] = []
        base_stages: list[dict] = []
        for _ in range(repeats):  # interleaved
            if args.baseline_src is not None:
                run, timings = run_generate(gen, model_cache, scratch, args.baseline_src)
                base.append(run)
                base_stages.append(timings)
            run, timings = run_generate(gen, model_cache, scratch)
            ours.append(run)
            stages.append(timings)
            peer.append(timed(zoom, dict(os.environ)))

    med_ours = statistics.median(r.wall for r in ours)
    med_peer = statistics.median(r.wall for r in peer)
    cpu_ours = statistics.median(r.cpu for r in ours)
    cpu_peer = statistics.median(r.cpu for r in peer)
    print()
    print(f"{'contender':40} {'wall s':>7} {'cpu s':>7}  wall of each run")
    print(
        f"{'reelforge generate (fresh data dir)':40} {med_ours:7.2f} {cpu_ours:7.2f}  "
        + ", ".join(f"{r.wall:.2f}" for r in ours)
    )
    print(
        f"{'ffmpeg zoompan':40} {med_peer:7.2f} {cpu_peer:7.2f}  "
        + ", ".join(f"{r.wall:.2f}" for r in peer)
    )
    if base:
        print(
            f"{'baseline generate (--baseline-src)':40} "
            f"{statistics.median(r.wall for r in base):7.2f} "
            f"{statistics.median(r.cpu for r in base):7.2f}  "
            + ", ".join(f"{r.wall:.2f}" for r in base)
        )
    print(
        f"{'reelforge generate, empty model cache':40} {first.wall:7.2f} {first.cpu:7.2f}  "
        f"(first run, once)"
    )
    print()
    print("generate stages, median s (job timings; 'outside job' = process wall - job total):")
    for name in STAGES:
        values = [t.get(name, 0.0) for t in stages]
        before = (
            f"   (baseline {statistics.median(t.get(name, 0.0) for t in base_stages):.2f})"
            if base_stages
            else ""
        )
        print(f"  {name:20} {statistics.median(values):6.2f}{before}")
    outside = statistics.median(
        r.wall - t.get("total", 0.0) - t.get("moderation_submit", 0.0)
        for r, t in zip(ours, stages, strict=True)
    )
    print(
        f"  {'outside job+submit':20} {outside:6.2f}  (interpreter, imports, database, "
        f"upload, exit)"
    )
    print(
        f"  first run: moderation_submit {first_stages.get('moderation_submit', 0):.2f} s "
        f"with an empty model cache"
    )
    print()
    print(
        f"reelforge generate / ffmpeg zoompan: {med_ours / med_peer:.2f}x wall, "
        f"{cpu_ours / cpu_peer:.2f}x cpu (medians of {repeats}; goal <= 1.00x wall)"
    )
    if base:
        print(
            f"baseline generate / ffmpeg zoompan: "
            f"{statistics.median(r.wall for r in base) / med_peer:.2f}x wall, "
            f"{statistics.median(r.cpu for r in base) / cpu_peer:.2f}x cpu"
        )


if __name__ == "__main__":
    main()
