"""Every benchmark in one run, one table of ratios against their peers measured in that run.

    .venv/bin/python -m bench [--tiny] [--load] [--only NAME ...]

Benches: motion (reelforge motion vs ffmpeg zoompan), neural (a warm job through the platform
vs the diffusers pipeline called directly, tiny random-weight Wan), moderation (prompt check
latency with the semantic classifier vs the rules alone), frames (the output-frame check vs
its 100 ms target, our face descriptor vs dlib's own), provenance (a motion job with the four
marks vs without, per output second), submit (submit throughput, PostgreSQL + Redis vs SQLite),
cold_start (a cold `reelforge generate` vs an ffmpeg process, bench/cold_start.py as it is),
interpolation (start/end-frame interpolation vs a cross-fade, PSNR of the middle frame),
commerce (a catalogue batch's clips per minute vs plain motion jobs),
and with --load the load test (bench/load.py). `--tiny` runs each once at a tiny size (what CI
runs, so no bench rots): the figures then only show that each bench works, not how fast
anything is. Each bench's own output goes to bench/results/bench-<name>.log; the table is
printed at the end. A bench that fails is a row with its error and makes the exit status 1;
one that cannot run here (no PostgreSQL, no diffusers) is a row saying why.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))  # bench/*.py import their neighbours as `bench.x`

Row = dict[str, Any]


class Skipped(Exception):
    """The bench cannot run on this machine (a missing service or extra)."""


@contextlib.contextmanager
def _patched(module: ModuleType, **values: Any) -> Iterator[None]:
    """Module constants set for a tiny run (the functions read them at call time)."""
    old = {k: getattr(module, k) for k in values}
    for k, v in values.items():
        setattr(module, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(module, k, v)


# -- motion vs ffmpeg zoompan -----------------------------------------------------------------


def motion(tiny: bool) -> list[Row]:
    """bench/motion_vs_zoompan.py: the same zoom by both, timed interleaved; the full size
    also measures fidelity against the exact reference (PSNR, registration, shake)."""
    from bench import motion_vs_zoompan as m

    RESULTS.mkdir(exist_ok=True)
    ffmpeg, origin = m.find_ffmpeg()
    print(f"ffmpeg: {origin}")
    if tiny:  # the bundled photo at 800x600, a 1 s 320x180 zoom (no fidelity analysis)
        import cv2

        source = RESULTS / "zoom_source_800x600.png"
        if not source.exists():
            photo = m.load_image(m.sample_image_path())
            cv2.imwrite(
                str(source),
                cv2.cvtColor(
                    cv2.resize(photo, (800, 600), interpolation=cv2.INTER_LANCZOS4),
                    cv2.COLOR_RGB2BGR,
                ),
            )
        with _patched(m, SOURCE_W=800, SOURCE_H=600, OUT_W=320, OUT_H=180, DURATION=1.0, FRAMES=24):
            ours = m.run_reelforge(source, RESULTS / "bench_zoom_rf.mp4")
            peer = m.run_zoompan(ffmpeg, source, RESULTS / "bench_zoom_zp.mp4")
        return [
            {
                "bench": "motion",
                "what": "1 s 320x180 zoom: time",
                "ours": ours,
                "peer": peer,
                "unit": "s",
                "peer_name": "ffmpeg zoompan",
            }
        ]
    source = RESULTS / "zoom_source_4000x3000.png"
    if not source.exists():
        m.build_source(source)
    outputs = {"ours": RESULTS / "zoom_0.mp4", "peer": RESULTS / "zoom_2.mp4"}
    times: dict[str, list[float]] = {"ours": [], "peer": []}
    for _ in range(2):  # interleaved, best of 2, as the bench's own main
        times["ours"].append(m.run_reelforge(source, outputs["ours"]))
        times["peer"].append(m.run_zoompan(ffmpeg, source, outputs["peer"]))
    quality = m.analyse_all(outputs, m.zoom_path(), source)
    q_ours, q_peer = quality["ours"], quality["peer"]
    peer_name = "ffmpeg zoompan"
    return [
        {
            "bench": "motion",
            "what": "5 s 1080p zoom: time (best of 2)",
            "ours": min(times["ours"]),
            "peer": min(times["peer"]),
            "unit": "s",
            "peer_name": peer_name,
        },
        {
            "bench": "motion",
            "what": "PSNR vs the exact reference",
            "ours": q_ours.psnr,
            "peer": q_peer.psnr,
            "unit": "dB",
            "peer_name": peer_name,
        },
        {
            "bench": "motion",
            "what": "registration error RMS",
            "ours": q_ours.registration_rms,
            "peer": q_peer.registration_rms,
            "unit": "px",
            "peer_name": peer_name,
        },
        {
            "bench": "motion",
            "what": "shake RMS",
            "ours": q_ours.shake_rms,
            "peer": q_peer.shake_rms,
            "unit": "px",
            "peer_name": peer_name,
        },
    ]


# -- platform overhead on a neural job ----------------------------------------------------------


def neural(tiny: bool) -> list[Row]:
    """bench/neural_overhead.py's contenders: a warm reelforge job (quiet wait) vs pipe()
    and vs pipe() + encode_mp4, interleaved."""
    try:
        import diffusers  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise Skipped(f"needs reelforge[neural] ({exc.name} is not installed)") from None
    from bench import neural_overhead as n

    args = argparse.Namespace(
        size=(64, 64) if tiny else (256, 256),
        frames=9 if tiny else 33,
        steps=2 if tiny else 12,
        layers=1 if tiny else 4,
        poll=0.01,
        repeats=1 if tiny else 3,
    )
    RESULTS.mkdir(exist_ok=True)
    model_dir = n.build_model(RESULTS / f"neural_overhead_wan_{args.layers}l", args.layers)
    mp4 = RESULTS / "bench_neural_direct.mp4"
    direct = n.Direct(model_dir, args)
    platform = n.Reelforge(model_dir, args)
    runs: dict[str, list[float]] = {"direct": [], "encode": [], "reelforge": []}
    try:
        direct.run_and_encode(mp4)  # warm-up of both sides
        platform.run(args.poll)
        for _ in range(args.repeats):
            runs["direct"].append(direct.run()["seconds"])
            runs["encode"].append(direct.run_and_encode(mp4)["seconds"])
            runs["reelforge"].append(platform.run(None)["seconds"])
    finally:
        platform.close()
    w, h = args.size
    what = f"warm Wan job {w}x{h}x{args.frames}, {args.steps} steps: time"
    ours = statistics.median(runs["reelforge"])
    return [
        {
            "bench": "neural",
            "what": what,
            "ours": ours,
            "peer": statistics.median(runs["direct"]),
            "unit": "s",
            "peer_name": "pipe()",
        },
        {
            "bench": "neural",
            "what": what,
            "ours": ours,
            "peer": statistics.median(runs["encode"]),
            "unit": "s",
            "peer_name": "pipe() + encode_mp4",
        },
    ]


# -- moderation latency ---------------------------------------------------------------------


def moderation(tiny: bool) -> list[Row]:
    """bench/policy_eval: latency per prompt on the labelled set, the full check (semantic
    classifier) vs the term and pattern rules alone."""
    from bench.policy_eval.__main__ import evaluate, load

    from reelforge.governance.text import TextModerator

    rows = load()
    if tiny:
        rows = rows[::40]  # ~100 prompts of every kind
    full = TextModerator(semantic=True)
    full.warm()
    rules = TextModerator(semantic=False)
    result_full, result_rules = evaluate(rows, full), evaluate(rows, rules)
    kind = "semantic + rules" if result_full["semantic"] else "rules (no semantic model)"
    lat_f, lat_r = result_full["latency_ms"], result_rules["latency_ms"]
    return [
        {
            "bench": "moderation",
            "what": f"prompt check p95, {len(rows)} prompts ({kind})",
            "ours": lat_f["p95"],
            "peer": lat_r["p95"],
            "unit": "ms",
            "peer_name": "rules alone",
        },
        {
            "bench": "moderation",
            "what": "prompt check p95 vs the 20 ms target",
            "ours": lat_f["p95"],
            "peer": 20.0,
            "unit": "ms",
            "peer_name": "target",
        },
        {
            "bench": "moderation",
            "what": "harmful recall",
            "ours": result_full["harmful_recall"]["rate"] * 100,
            "peer": result_rules["harmful_recall"]["rate"] * 100,
            "unit": "%",
            "peer_name": "rules alone",
        },
    ]


def frames(tiny: bool) -> list[Row]:
    """bench/frame_check.py: the output-frame check (nudity and faces) per frame against the
    100 ms target, and our face descriptor (onnxruntime) against dlib's own on the same
    faces."""
    from functools import partial

    import numpy as np
    from bench import frame_check as fc

    from reelforge.governance.image.faces import FaceAnalyzer
    from reelforge.governance.image.moderator import ImageModerator
    from reelforge.governance.image.nudity import NudityDetector

    repeats = 1 if tiny else 30
    nudity, faces = NudityDetector(threads=1), FaceAnalyzer()
    moderator = ImageModerator(nudity, faces)
    moderator.load()
    photos = fc.photos()
    chosen = {"astronaut": photos["astronaut"]} if tiny else photos
    resolutions = {"480p": fc.RESOLUTIONS["480p"]} if tiny else fc.RESOLUTIONS
    worst, ours_ms, dlib_ms = 0.0, [], []
    try:
        for photo in chosen.values():
            for width, height in resolutions.values():
                frame = fc.letterbox(photo, width, height)
                found = faces.detect(frame)
                if found:
                    ours_ms.append(
                        float(np.median(fc.timed(partial(faces.embed, frame, found), repeats)[0]))
                    )
                    dlib_ms.append(
                        float(
                            np.median(
                                fc.timed(partial(fc.dlib_descriptors, frame, found), repeats)[0]
                            )
                        )
                    )
                checks = fc.timed(partial(moderator.check_frame, frame), repeats)[0]
                worst = max(worst, float(np.percentile(checks, 95)))
    finally:
        moderator.close()
    size = "astronaut 480p" if tiny else "5 photos, 480p and 720p"
    return [
        {
            "bench": "frames",
            "what": f"output-frame check, worst p95 ({size})",
            "ours": worst,
            "peer": 100.0,
            "unit": "ms",
            "peer_name": "target",
        },
        {
            "bench": "frames",
            "what": "face descriptor (p50, summed over faces)",
            "ours": sum(ours_ms),
            "peer": sum(dlib_ms),
            "unit": "ms",
            "peer_name": "dlib compute_face_descriptor",
        },
    ]


# -- provenance overhead ----------------------------------------------------------------------


def provenance(tiny: bool) -> list[Row]:
    """bench/provenance_overhead.py: the same motion job with the four marks and without,
    interleaved, best of N."""
    from bench import provenance_overhead as po

    from reelforge.app.bootstrap import bootstrap
    from reelforge.backends.motion import MotionBackend
    from reelforge.cli import sample_image
    from reelforge.config import Settings
    from reelforge.services.accounts import accounts
    from reelforge.services.jobs.uploads import create_upload
    from reelforge.worker.loop import Worker

    args = argparse.Namespace(
        duration=1.0 if tiny else 5.0,
        resolution="480p" if tiny else "720p",
        repeats=1 if tiny else 3,
    )
    tmp = Path(tempfile.mkdtemp(prefix="rf-prov-"))
    contenders: dict[str, Any] = {}
    try:
        for name, label in (("without", False), ("with", True)):
            p = bootstrap(
                Settings(
                    data_dir=tmp / name, worker_queues=["motion"], result_cache="off"
                ),  # as the bench's own main
                backends=[MotionBackend()],
                moderate=False,
                label=label,
            )
            acct = accounts.ensure_account(p, "bench")
            upload = create_upload(p, acct, sample_image().read_bytes(), "cup.jpg").id
            worker = Worker(p, concurrency=1).start()
            contenders[name] = (p, acct, upload, worker, [])
            po.one_job(p, acct, upload, args)  # warm up
        for _ in range(args.repeats):
            for p, acct, upload, _w, runs in contenders.values():
                runs.append(po.one_job(p, acct, upload, args)["wall"])
    finally:
        for p, _a, _u, worker, _r in contenders.values():
            worker.stop(hand_back=True)
            p.close()
    with_s, without_s = min(contenders["with"][4]), min(contenders["without"][4])
    return [
        {
            "bench": "provenance",
            "what": f"{args.duration:g} s {args.resolution} motion job: time",
            "ours": with_s,
            "peer": without_s,
            "unit": "s",
            "peer_name": "without marks",
        },
        {
            "bench": "provenance",
            "what": "marks' cost per second of output",
            "ours": (with_s - without_s) / args.duration * 1000,
            "unit": "ms/s",
        },
    ]


# -- submit throughput ------------------------------------------------------------------------


def submit(tiny: bool) -> list[Row]:
    """bench/submit_throughput.py's measure(): serial and 4-thread submits through the real
    service, SQLite + SqliteHuey vs PostgreSQL + Redis (a fresh database)."""
    import secrets

    from bench import submit_throughput as st

    from reelforge.config import Settings

    jobs, threads, latency = (20, 2, 1) if tiny else (200, 4, 20)
    tmp = Path(tempfile.mkdtemp(prefix="rf-bench-"))
    base: dict[str, Any] = {
        "queue_namespace": f"bench{secrets.token_hex(3)}",
        "worker_queues": ["bench"],
        "default_plan": "internal",
    }
    sqlite = st.measure(
        "SQLite + SqliteHuey", Settings(data_dir=tmp / "a", **base), jobs, threads, latency
    )
    try:
        db = st._fresh_pg_db()
    except Exception as exc:
        raise Skipped(f"PostgreSQL: {exc}") from None
    try:
        pg = st.measure(
            "PostgreSQL + Redis",
            Settings(data_dir=tmp / "pg", database_url=db, queue_url=st.REDIS, **base),
            jobs,
            threads,
            latency,
        )
    finally:
        st._drop_pg_db(db)
    peer = "SQLite + SqliteHuey"
    return [
        {
            "bench": "submit",
            "what": f"PostgreSQL + Redis: submits/s, serial ({jobs})",
            "ours": pg["serial"],
            "peer": sqlite["serial"],
            "unit": "jobs/s",
            "peer_name": peer,
        },
        {
            "bench": "submit",
            "what": f"PostgreSQL + Redis: submits/s, {threads} threads",
            "ours": pg["parallel"],
            "peer": sqlite["parallel"],
            "unit": "jobs/s",
            "peer_name": peer,
        },
        {
            "bench": "submit",
            "what": "submit→claim p50, worker apart",
            "ours": pg["apart_p50_ms"],
            "peer": sqlite["apart_p50_ms"],
            "unit": "ms",
            "peer_name": peer,
        },
    ]


# -- cold start (bench/cold_start.py, run as it is) -------------------------------------------


def cold_start(tiny: bool) -> list[Row]:
    """bench/cold_start.py in its own process; its closing ratio line is the row."""
    command = [sys.executable, str(HERE / "cold_start.py"), *(["--tiny"] if tiny else [])]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    print(done.stdout)
    print(done.stderr, file=sys.stderr)
    if done.returncode != 0:
        raise RuntimeError(
            f"cold_start.py exited {done.returncode}: "
            f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}"
        )
    match = re.search(r"/ ffmpeg zoompan: ([\d.]+)x wall, ([\d.]+)x cpu", done.stdout)
    walls = re.search(r"reelforge generate \(fresh data dir\)\s+([\d.]+)\s+([\d.]+)", done.stdout)
    peer = re.search(r"ffmpeg zoompan\s+([\d.]+)\s+([\d.]+)", done.stdout)
    if not (match and walls and peer):
        raise RuntimeError("cold_start.py's output has no ratio line")
    what = "cold generate (whole process): wall" + (" (tiny)" if tiny else "")
    return [
        {
            "bench": "cold_start",
            "what": what,
            "ours": float(walls.group(1)),
            "peer": float(peer.group(1)),
            "unit": "s",
            "peer_name": "ffmpeg process",
        },
        {
            "bench": "cold_start",
            "what": "cold generate: CPU time",
            "ours": float(walls.group(2)),
            "peer": float(peer.group(2)),
            "unit": "s",
            "peer_name": "ffmpeg process",
        },
    ]


# -- load -------------------------------------------------------------------------------------


def load(tiny: bool) -> list[Row]:
    from bench import load as lt

    try:
        return lt.run(tiny)
    except lt.Unavailable as exc:
        raise Skipped(str(exc)) from None


# -- hosted providers: what reelforge adds around a provider's job ---------------------------


def providers(tiny: bool) -> list[Row]:
    """bench/providers_overhead.py: a Kling job against the fake server on loopback, submit →
    provider call and download → playable file, against a bare HTTP client in the same run."""
    from bench import providers_overhead as po

    if tiny:
        result = po.run(repeats=1, duration=0.5, size=(320, 180))
    else:
        result = po.run(repeats=3, duration=5.0, size=(1280, 720))
    best, peer = result["best"], result["peer"]
    size = "tiny" if tiny else "5 s 720p"
    return [
        {
            "bench": "providers",
            "what": "submit -> provider call",
            "ours": best["submit_to_call"] * 1000,
            "peer": peer["submit_to_call"] * 1000,
            "unit": "ms",
            "peer_name": "bare HTTP client",
        },
        {
            "bench": "providers",
            "what": f"download -> playable file ({size})",
            "ours": best["download_to_file"] * 1000,
            "peer": peer["download_to_file"] * 1000,
            "unit": "ms",
            "peer_name": "bare download",
        },
    ]


# -- the capacity planner against a real two-worker run ----------------------------------------


def planner(tiny: bool) -> list[Row]:
    """bench/planner_validation.py: the motion backend with two real workers against the
    planner's prediction (profiles from a separate calibration run); ratio 1.0 is exact."""
    from bench import planner_validation as pv

    argv = ["--jobs", "3", "--interval", "0.3", "--duration", "1"] if tiny else []
    result = pv.main(argv)
    return [
        {
            "bench": "planner",
            "what": f"{name.replace('_', ' ')}: predicted vs measured",
            "ours": predicted,
            "peer": measured,
            "unit": "s",
            "peer_name": "real two-worker run",
        }
        for name, (measured, predicted) in result.items()
    ]


# -- start/end-frame interpolation vs a cross-fade ------------------------------------------


def interpolation(tiny: bool) -> list[Row]:
    """bench/interpolation.py: PSNR of the middle frame against the true middle frame of a
    pair with known motion, optical flow vs a plain cross-fade (higher is better)."""
    from bench import interpolation as m

    size = (160, 90) if tiny else (m.WIDTH, m.HEIGHT)
    r = m.measure(*size)
    print(r)
    return [
        {
            "bench": "interpolation",
            "what": f"middle frame PSNR {size[0]}x{size[1]} (higher is better)",
            "ours": r["ours_psnr"],
            "peer": r["fade_psnr"],
            "unit": "dB",
            "peer_name": "cross-fade",
        }
    ]


# -- commerce: promo clips per minute ---------------------------------------------------------


def commerce(tiny: bool) -> list[Row]:
    """bench/commerce_batch.py in its own process: clips per minute of a catalogue batch
    (50 products x 3 aspects; tiny: 2) vs plain motion jobs (higher is better)."""
    command = [sys.executable, str(HERE / "commerce_batch.py"), *(["--tiny"] if tiny else [])]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    print(done.stdout)
    print(done.stderr, file=sys.stderr)
    if done.returncode != 0:
        raise RuntimeError(
            f"commerce_batch.py exited {done.returncode}: "
            f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}"
        )
    ours = re.search(r"commerce batch .*: ([\d.]+) clips/min", done.stdout)
    peer = re.search(r"plain motion jobs .*: ([\d.]+) clips/min", done.stdout)
    if not (ours and peer):
        raise RuntimeError("commerce_batch.py's output has no clips/min lines")
    return [
        {
            "bench": "commerce",
            "what": "catalogue batch, clips per minute" + (" (tiny)" if tiny else ""),
            "ours": float(ours.group(1)),
            "peer": float(peer.group(1)),
            "unit": "clips/min",
            "peer_name": "plain motion jobs",
        }
    ]


BENCHES: dict[str, Callable[[bool], list[Row]]] = {
    "motion": motion,
    "neural": neural,
    "moderation": moderation,
    "frames": frames,
    "provenance": provenance,
    "submit": submit,
    "cold_start": cold_start,
    "providers": providers,
    "planner": planner,
    "interpolation": interpolation,
    "commerce": commerce,
}
ON_REQUEST = {"load": load}


# -- the table --------------------------------------------------------------------------------


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def table(rows: list[Row]) -> str:
    head = ("bench", "measure", "ours", "peer", "ratio", "peer / note")
    lines = []
    for r in rows:
        ratio = ""
        if r.get("unit") == "dB" and r.get("peer") is not None:  # a log scale: the difference
            ratio = f"{r['ours'] - r['peer']:+.1f} dB"
        elif r.get("peer") not in (None, 0) and r.get("ours") is not None:
            ratio = f"{r['ours'] / r['peer']:.2f}x"
        unit = f" {r['unit']}" if r.get("unit") else ""
        lines.append(
            (
                r["bench"],
                r["what"],
                _num(r.get("ours")) + unit,
                _num(r.get("peer")) + (unit if r.get("peer") is not None else ""),
                ratio,
                r.get("peer_name") or r.get("note") or "",
            )
        )
    widths = [max(len(str(x[i])) for x in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i in (0, 1, 5) else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*x).rstrip() for x in [head, *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="each bench once, at a tiny size")
    parser.add_argument("--load", action="store_true", help="also the load test (bench/load.py)")
    parser.add_argument(
        "--only", nargs="+", choices=[*BENCHES, *ON_REQUEST], help="these benches only"
    )
    args = parser.parse_args(argv)
    chosen = {**BENCHES, **(ON_REQUEST if args.load else {})}
    if args.only:
        chosen = {k: v for k, v in {**BENCHES, **ON_REQUEST}.items() if k in args.only}
    RESULTS.mkdir(exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    size = (
        "tiny sizes (a smoke run: the figures are not measurements)" if args.tiny else "full sizes"
    )
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; {size}",
        flush=True,
    )
    rows: list[Row] = []
    failed = False
    started = time.perf_counter()
    for name, bench in chosen.items():
        log = RESULTS / f"bench-{name}.log"
        t0 = time.perf_counter()
        with log.open("w") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                got = bench(args.tiny)
                status = "ok"
            except Skipped as exc:
                got, status = [{"bench": name, "what": f"skipped: {exc}"}], "skipped"
            except (Exception, SystemExit) as exc:  # a bench's sys.exit("why") too
                traceback.print_exc(file=out)
                what = f"FAILED: {type(exc).__name__}: {exc}"
                got, status = [{"bench": name, "what": what[:90]}], "failed"
                failed = True
        rows += got
        print(
            f"{name:12} {status:8} {time.perf_counter() - t0:6.1f} s  "
            f"({log.relative_to(HERE.parent)})",
            flush=True,
        )
    print()
    print(table(rows))
    print(
        f"\nratio = ours / peer (dB: the difference); every pair measured in this run. Total "
        f"{time.perf_counter() - started:.0f} s."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
