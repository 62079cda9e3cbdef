"""reelforge's overhead on a neural job: a warm Wan text-to-video job through the platform vs
the same diffusers pipeline called directly, measured in one run.

    .venv/bin/python bench/neural_overhead.py [--repeats 3] [--size 256x256] [--frames 33]
                                              [--steps 12] [--layers 4]

The model: a random-weight Wan T2V pipeline built in code with the real classes (as
tests/neural/tiny.py's, but with a wider, deeper transformer) so that one call takes seconds on
a CPU; saved with save_pretrained under bench/results/ and loaded back from there by both sides.

Contenders, interleaved over --repeats (the order rotates every repeat), each warmed up once:

- direct: DiffusionPipeline.from_pretrained(dir), then pipe(...) with the inputs reelforge
  passes (negative_prompt=None, guidance 5.0, a CPU generator seeded with the job's seed,
  output_type="np");
- direct + encode: the same, then the frames to uint8 and to an MP4 with reelforge's
  encode_mp4 (what reelforge also does for every job);
- reelforge, poll: submit_job through the service, an embedded Worker (concurrency 1) on the
  warm pipeline, polled with jobs.get_job every --poll seconds (default 10 ms) from before
  submit until the job is seen final;
- reelforge, quiet wait: the same job, but seen final by watching the worker's in-memory
  outcome list (every 2 ms, no database read), so the harness takes no CPU from the job: on a
  2-core machine a 10 ms get_job poll is a measurable load of its own.

For both reelforge contenders the job's own timings["total"] (claim to finish, inside the
worker) and stage timings are shown too. The timed reelforge jobs run on the warm pipeline
(checked: compute["warm"]), and their MP4s are compared byte for byte with direct + encode's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results"
PROMPT = "a red car"
SEED = 1
GUIDANCE = 5.0  # the wan family's default, what reelforge passes
FPS = 16  # the wan family's default frame rate
FINAL = ("succeeded", "failed", "cancelled", "blocked")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size is WIDTHxHEIGHT, got {text!r}") from None
    if w % 16 or h % 16 or w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"wan needs multiples of 16, got {w}x{h}")
    return w, h


# -- the model --------------------------------------------------------------------------------


def build_model(dest: Path, layers: int, seed: int = 0) -> Path:
    """A Wan T2V pipeline with random weights: tiny.py's text encoder, tokenizer and VAE, a
    transformer of `layers` blocks with 4 heads of 32 and an FFN of 256 (~0.25M parameters a
    block). Deterministic for a seed."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )
    from tests.neural.tiny import _t5_kwargs, _tokenizer
    from transformers import UMT5Config, UMT5EncoderModel

    with torch.random.fork_rng(devices=[]):
        tokenizer = _tokenizer()
        torch.manual_seed(seed)
        text_encoder = UMT5EncoderModel(UMT5Config(**_t5_kwargs(len(tokenizer))))
        torch.manual_seed(seed)
        vae = AutoencoderKLWan(
            base_dim=3,
            z_dim=16,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
        )
        scheduler = UniPCMultistepScheduler(
            prediction_type="flow_prediction",
            use_flow_sigmas=True,
            num_train_timesteps=1000,
            flow_shift=3.0,
        )
        torch.manual_seed(seed)
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=4,
            attention_head_dim=32,
            in_channels=16,
            out_channels=16,
            text_dim=32,
            freq_dim=256,
            ffn_dim=256,
            num_layers=layers,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            rope_max_seq_len=1024,
        )
        pipe = WanPipeline(
            tokenizer=tokenizer,
            text_encoder=text_encoder,
            vae=vae,
            scheduler=scheduler,
            transformer=transformer,
        )
    if dest.exists():
        shutil.rmtree(dest)
    pipe.save_pretrained(dest)
    return dest


def count_parameters(model_dir: Path) -> dict[str, int]:
    from safetensors import safe_open

    counts: dict[str, int] = {}
    for path in sorted(model_dir.glob("*/*.safetensors")):
        with safe_open(str(path), "pt") as f:
            n = sum(int(np.prod(f.get_slice(k).get_shape())) for k in f.keys())  # noqa: SIM118
        counts[path.parent.name] = counts.get(path.parent.name, 0) + n
    return counts


# -- contenders -------------------------------------------------------------------------------


class Direct:
    """The diffusers pipeline, called as a user of diffusers would."""

    def __init__(self, model_dir: Path, args: argparse.Namespace):
        from diffusers import DiffusionPipeline

        self.pipe = DiffusionPipeline.from_pretrained(model_dir)
        self.pipe.set_progress_bar_config(disable=True)  # reelforge disables it as well
        self.args = args

    def generate(self) -> np.ndarray:
        import torch

        w, h = self.args.size
        result = self.pipe(
            prompt=PROMPT,
            negative_prompt=None,
            height=h,
            width=w,
            num_frames=self.args.frames,
            num_inference_steps=self.args.steps,
            guidance_scale=GUIDANCE,
            generator=torch.Generator("cpu").manual_seed(SEED),
            output_type="np",
        )
        return np.asarray(result.frames[0])

    def run(self) -> dict[str, float]:
        started = time.perf_counter()
        self.generate()
        return {"seconds": time.perf_counter() - started}

    def run_and_encode(self, out: Path) -> dict[str, float]:
        from reelforge.media.encode import encode_mp4

        started = time.perf_counter()
        frames = self.generate()
        generated = time.perf_counter()
        frames = (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        encoded = encode_mp4(iter(frames), out, fps=FPS)
        done = time.perf_counter()
        return {
            "seconds": done - started,
            "pipe": generated - started,
            "encode_call": done - generated,
            "encode_busy": encoded.encode_seconds,
        }


class Reelforge:
    """The platform: service submit, embedded worker, SQLite + SqliteHuey, file blob store."""

    def __init__(self, model_dir: Path, args: argparse.Namespace):
        from reelforge.app.bootstrap import bootstrap
        from reelforge.config import Settings
        from reelforge.services.accounts import accounts
        from reelforge.services.jobs import model_registry
        from reelforge.worker.loop import Worker

        self.tmp = Path(tempfile.mkdtemp(prefix="rf-neural-bench-"))
        # the operator's plan (metered, never limited); result cache off: every timed job runs
        settings = Settings(
            data_dir=self.tmp,
            worker_queues=["wan"],
            progress_interval=0.25,
            default_plan="internal",
            result_cache="off",
        )
        self.p = bootstrap(settings)
        model_registry.add_model(
            self.p,
            model_registry.parse_model_request(
                {
                    "name": "bench-wan",
                    "family": "wan",
                    "path": str(model_dir),
                    "dtype": "fp32",
                    "device": "cpu",
                }
            ),
        )
        self.acct = accounts.ensure_account(self.p, "bench")
        self.args = args
        self.worker = Worker(self.p, queues=["wan"], concurrency=1).start()

    def run(self, poll: float | None) -> dict[str, Any]:
        """One job, submit to seen final: by get_job every `poll` seconds, or (None) by
        watching the worker's in-memory outcome list, which costs the cores nothing."""
        from reelforge.services.jobs import queries as jobs
        from reelforge.services.jobs.submit import SubmitRequest, submit_job

        w, h = self.args.size
        body = {
            "model": "bench-wan",
            "prompt": PROMPT,
            "width": w,
            "height": h,
            "frames": self.args.frames,
            "steps": self.args.steps,
            "seed": SEED,
        }
        started = time.perf_counter()
        job = submit_job(self.p, self.acct, SubmitRequest.parse(body)).job
        submitted = time.perf_counter()
        polls = 1
        if poll is None:  # this job's outcome (a stale duplicate message is "skipped")
            while not any(
                o.job_id == job["id"] and o.status != "skipped" for o in self.worker.outcomes
            ):
                time.sleep(0.002)
            view = jobs.get_job(self.p, self.acct, job["id"])
        else:
            while (view := jobs.get_job(self.p, self.acct, job["id"]))["status"] not in FINAL:
                time.sleep(poll)
                polls += 1
        seconds = time.perf_counter() - started
        observed = time.time()
        if view["status"] != "succeeded":
            raise SystemExit(f"reelforge job {view['id']} {view['status']}: {view['error']}")
        created = datetime.fromisoformat(view["created_at"]).timestamp()
        claimed = datetime.fromisoformat(view["started_at"]).timestamp()
        finished = datetime.fromisoformat(view["finished_at"]).timestamp()
        return {
            "seconds": seconds,
            "submit_call": submitted - started,
            "queued": claimed - created,  # submit's commit -> the worker's claim
            "claimed_to_finished": finished - claimed,
            "finished_to_observed": observed - finished,
            "polls": polls,
            "timings": view["timings"],
            "compute": view["compute"],
            "sha256": view["output"]["sha256"],
            "id": view["id"],
        }

    def get_job_seconds(self, job_id: str, n: int = 200) -> float:
        """Median time of one get_job call (what each poll costs the cores)."""
        from reelforge.services.jobs import queries as jobs

        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            jobs.get_job(self.p, self.acct, job_id)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    def fetch(self, key: str, dest: Path) -> None:
        self.p.blobs.download(key, dest)

    def close(self) -> None:
        self.worker.stop(hand_back=True)
        self.p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- main -------------------------------------------------------------------------------------


def _threads_elsewhere() -> int:
    import torch

    seen: list[int] = []
    t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    t.start()
    t.join()
    return seen[0]


def _decoded_difference(a: Path, b: Path) -> float:
    """Largest per-pixel difference between two MP4s' decoded frames."""
    import av

    worst = 0
    with av.open(str(a)) as ca, av.open(str(b)) as cb:
        for fa, fb in zip(ca.decode(video=0), cb.decode(video=0), strict=False):
            diff = np.abs(fa.to_ndarray().astype(int) - fb.to_ndarray().astype(int))
            worst = max(worst, int(diff.max()))
    return float(worst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per contender")
    parser.add_argument("--size", type=_size, default=(256, 256), help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=33, help="4k+1")
    parser.add_argument("--steps", type=int, default=12, help="denoising steps")
    parser.add_argument("--layers", type=int, default=4, help="transformer blocks of the model")
    parser.add_argument(
        "--poll",
        type=float,
        default=0.01,
        help="get_job polling interval of the polled contender, s",
    )
    args = parser.parse_args()
    if (args.frames - 1) % 4:
        parser.error(f"wan needs 4k+1 frames, got {args.frames}")

    import diffusers
    import torch
    import transformers

    diffusers.utils.logging.disable_progress_bar()  # as reelforge's runtime does on import
    transformers.utils.logging.disable_progress_bar()
    RESULTS.mkdir(exist_ok=True)
    bench_started = time.perf_counter()
    model_dir = build_model(RESULTS / f"neural_overhead_wan_{args.layers}l", args.layers)
    params = count_parameters(model_dir)
    w, h = args.size
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads, "
        f"{_threads_elsewhere()} in a new thread), diffusers {diffusers.__version__}"
    )
    print(
        f"model: random-weight Wan T2V, {args.layers} blocks, parameters "
        + ", ".join(f"{k} {v / 1e6:.2f}M" for k, v in params.items())
    )
    print(
        f"clip: {w}x{h}, {args.frames} frames, {args.steps} steps, guidance {GUIDANCE}, "
        f"fps {FPS}, fp32 on cpu"
    )

    direct = Direct(model_dir, args)
    platform = Reelforge(model_dir, args)
    mp4 = RESULTS / "neural_overhead_direct.mp4"
    rf_mp4 = RESULTS / "neural_overhead_reelforge.mp4"
    polled = f"reelforge, poll {args.poll * 1000:.0f} ms"
    quiet = "reelforge, quiet wait"
    try:
        warm_direct = direct.run_and_encode(mp4)  # warm up both sides (first calls are slow)
        cold = platform.run(args.poll)
        print(
            f"warm-up: direct + encode {warm_direct['seconds']:.2f} s; reelforge cold job "
            f"{cold['seconds']:.2f} s (load {cold['timings'].get('load', 0):.2f} s, "
            f"warm={cold['compute'].get('warm')})"
        )

        contenders: dict[str, Callable[[], dict[str, Any]]] = {
            "direct pipe()": direct.run,
            "direct + encode_mp4": lambda: direct.run_and_encode(mp4),
            polled: lambda: platform.run(args.poll),
            quiet: lambda: platform.run(None),
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
        names = list(contenders)
        for r in range(args.repeats):  # interleaved; the order rotates every repeat
            for name in names[r % len(names) :] + names[: r % len(names)]:
                runs[name].append(contenders[name]())
        platform.fetch(runs[polled][-1]["sha256"], rf_mp4)
        get_job_ms = platform.get_job_seconds(cold["id"]) * 1000
    finally:
        platform.close()

    rf_names = (polled, quiet)
    rf_all = [run for name in rf_names for run in runs[name]]
    if not all(run["compute"].get("warm") for run in rf_all):
        print("warning: a timed reelforge job was not warm (it loaded the pipeline)")
    same = {run["sha256"] for run in rf_all} == {hashlib.sha256(mp4.read_bytes()).hexdigest()}

    def best(name: str, key: str = "seconds") -> float:
        return min(run[key] for run in runs[name])

    def median(name: str, key: str = "seconds") -> float:
        return statistics.median(run[key] for run in runs[name])

    def job_stat(
        name: str, key: str, fn: Callable[[list[float]], float] = statistics.median
    ) -> float:
        return fn([run["timings"].get(key, 0.0) for run in runs[name]])

    def pipe_in_job(name: str) -> float:
        return statistics.median(
            sum(run["timings"].get(k, 0.0) for k in ("text_encode", "denoise", "decode"))
            for run in runs[name]
        )

    print()
    print(f"{'contender':26} {'best s':>8} {'median s':>9}  all runs (s)")
    for name in names:
        print(
            f"{name:26} {best(name):8.2f} {median(name):9.2f}  "
            + ", ".join(f"{run['seconds']:.2f}" for run in runs[name])
        )
        if name in rf_names:
            print(
                f"{'  job timings[total]':26} {job_stat(name, 'total', min):8.2f} "
                f"{job_stat(name, 'total'):9.2f}  "
                + ", ".join(f"{run['timings']['total']:.2f}" for run in runs[name])
            )

    direct_name, encode_name = names[:2]
    for rf_name in rf_names:
        print(f"\n{rf_name}:")
        for label, fn in (("best", best), ("median", median)):
            d, de, rf = fn(direct_name), fn(encode_name), fn(rf_name)
            print(
                f"  {label:6} reelforge / direct {rf / d:.3f}x (overhead {rf - d:+.2f} s, "
                f"{(rf / d - 1) * 100:+.1f}%); reelforge / (direct + encode) {rf / de:.3f}x "
                f"(overhead {rf - de:+.2f} s, {(rf / de - 1) * 100:+.1f}%)"
            )
        for peer in (direct_name, encode_name):  # each repeat's ratio: neighbours in time
            ratios = [
                a["seconds"] / b["seconds"] for a, b in zip(runs[rf_name], runs[peer], strict=True)
            ]
            print(
                f"  paired / {peer}: "
                + ", ".join(f"{x:.3f}" for x in ratios)
                + f"; median {statistics.median(ratios):.3f}x "
                f"({(statistics.median(ratios) - 1) * 100:+.1f}%)"
            )
        inside = pipe_in_job(rf_name)
        print(
            f"  pipeline call inside the job (text_encode + denoise + decode) {inside:.2f} s vs "
            f"direct pipe() {median(direct_name):.2f} s "
            f"({(inside / median(direct_name) - 1) * 100:+.1f}%), medians"
        )
        outside = statistics.median(
            run["seconds"]
            - sum(run["timings"].get(k, 0.0) for k in ("text_encode", "denoise", "decode"))
            for run in runs[rf_name]
        )
        print(
            f"  outside the pipeline call (wall - text_encode - denoise - decode) {outside:.3f} s"
            f" = {outside / median(direct_name) * 100:.1f}% of direct pipe(), of which encode "
            f"{job_stat(rf_name, 'encode'):.3f} s, medians"
        )
        print(
            "  job timings, median s: "
            + ", ".join(
                f"{k} {job_stat(rf_name, k):.3f}"
                for k in ("load", "text_encode", "denoise", "decode", "encode", "store", "total")
            )
        )
        rf_runs = runs[rf_name]
        print(
            "  around the job, median s: submit call "
            f"{statistics.median(r['submit_call'] for r in rf_runs):.4f}, submit→claim "
            f"{statistics.median(r['queued'] for r in rf_runs):.3f}, claim→finished "
            f"{statistics.median(r['claimed_to_finished'] for r in rf_runs):.3f}, "
            f"finished→seen {statistics.median(r['finished_to_observed'] for r in rf_runs):.3f}"
            f"; wall - timings[total] {median(rf_name) - job_stat(rf_name, 'total'):.3f}"
        )

    print()
    print(
        f"direct + encode, median s: pipe {median(encode_name, 'pipe'):.2f}, encode_mp4 call "
        f"{median(encode_name, 'encode_call'):.3f} (encoder busy "
        f"{median(encode_name, 'encode_busy'):.3f})"
    )
    busy = get_job_ms / (args.poll * 1000 + get_job_ms) * 100
    print(
        f"one get_job call: {get_job_ms:.2f} ms (median of 200, idle): polling every "
        f"{args.poll * 1000:.0f} ms keeps ~{busy:.0f}% of a core busy"
    )
    peak = max(run["compute"].get("peak_memory_bytes", 0) for run in rf_all)
    print(
        f"compute: warm={[run['compute'].get('warm') for run in rf_all]}, peak memory "
        f"{peak / 2**30:.2f} GiB ({rf_all[0]['compute'].get('memory_kind')})"
    )
    if same:
        print("outputs: every reelforge MP4 is byte-identical to direct + encode_mp4's")
    else:
        print(
            "outputs: reelforge's MP4 differs from direct + encode_mp4's; largest decoded "
            f"pixel difference {_decoded_difference(mp4, rf_mp4):.0f} levels"
        )
    print(f"bench wall time {time.perf_counter() - bench_started:.0f} s")

    record = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "args": {**vars(args), "size": f"{w}x{h}"},
        "parameters": params,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "threads": torch.get_num_threads(),
        "cold_job": cold,
        "warm_up_direct": warm_direct,
        "runs": runs,
        "outputs_identical": same,
        "get_job_ms": get_job_ms,
    }
    out = RESULTS / "neural_overhead.json"
    out.write_text(json.dumps(record, indent=2, default=str))
    print(f"results: {out.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
