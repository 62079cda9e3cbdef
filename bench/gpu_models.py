"""Real neural models on a GPU through reelforge: seconds per clip, stage timings and peak
memory, with and without each model option, next to a direct diffusers call.

    python bench/gpu_models.py --model-dir /models/wan2.1-t2v-1.3b --family wan \\
        [--task t2v|i2v] [--size 832x480] [--frames 81] [--steps 50] [--dtype bf16] \\
        [--variants default,offload=model,vae_tiling,step_cache,compile,draft] [--repeats 1]

Needs a CUDA GPU, reelforge's neural extra, and diffusers-format weights on local disk
(bench/README.md says how to fetch them on a machine with hub access); nothing is downloaded.
`--dry-run` checks the plan (directories, family, task, options, sizes) without a GPU.

For every model directory: the direct baseline (the pipeline class reelforge loads, the same
dtype, `.to(device)`, called with exactly the keyword arguments reelforge builds for the job),
then each variant registered as its own model (`models.add_model` with `options`) and run
through the platform path (submit_job -> an embedded Worker -> succeeded): one cold job (it
loads the pipeline; torch.compile compiles on it) and --repeats warm jobs. The worker keeps
one warm pipeline (pipeline_cache_models=1), so each variant's load evicts the previous one
and a job's peak memory (torch.cuda.max_memory_allocated, reset per job) counts only its own
model. Variants (comma-separated; join options of one variant with '+'):

  default                     no options
  offload=model|group|sequential   CPU offload (sequential is very slow: not in the default set)
  vae_tiling, vae_slicing     VAE decode in tiles / one sample at a time
  step_cache                  each step cache the family supports (wan: first_block, pab,
                              taylorseer; ltx and cogvideox: pab, taylorseer), or step_cache=NAME
  compile                     torch.compile the transformer
  attention_backend=NAME      a diffusers attention backend (flash needs flash-attn installed)
  draft                       the request field preset=draft: the family's draft steps (12) and
                              draft step cache; the same size and frames

A variant that fails (a missing kernel package, out of memory) is reported and the run goes on.
Results: a table per model and bench/results/gpu_models-<time>.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform as host
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reelforge.backends.families import FAMILIES
from reelforge.backends.neural.config import DTYPES, OFFLOAD_MODES, STEP_CACHES, ModelOptions
from reelforge.domain.job import FINAL_STATUSES
from reelforge.domain.spec import JobSpec, Mode, Preset

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_VARIANTS = (
    "default,offload=model,offload=group,vae_tiling,vae_slicing,step_cache,"
    "compile,attention_backend=flash,draft"
)
DEFAULT_PROMPT = (
    "a red sports car drives along a coastal road at sunset, waves breaking on "
    "the rocks below, cinematic, golden hour light"
)
FINAL = tuple(str(s) for s in FINAL_STATUSES)  # nothing more happens by itself
_PLACEHOLDER_IMAGE = "0" * 64  # a blob key, for planning an i2v job before its upload exists


# -- arguments --------------------------------------------------------------------------------


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"size is WIDTHxHEIGHT, e.g. 832x480; got {text!r}"
        ) from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError(f"size too small: {w}x{h}")
    return w, h


@dataclass(frozen=True)
class Variant:
    label: str
    options: dict[str, Any] = field(default_factory=dict)  # ModelOptions fields
    draft: bool = False


def _one_option(part: str) -> list[tuple[str, dict[str, Any], bool]]:
    """One '+'-separated part of a variant: [(label, options, draft)], several for a bare
    step_cache (expanded per family later, marked by the label 'step_cache')."""
    key, _, value = part.partition("=")
    if key == "default" and not value:
        return [("default", {}, False)]
    if key == "draft" and not value:
        return [("draft", {}, True)]
    if key == "offload" and value in OFFLOAD_MODES:
        return [(part, {"offload": value}, False)]
    if key in ("vae_tiling", "vae_slicing", "compile") and not value:
        return [(part, {key: True}, False)]
    if key == "step_cache" and (not value or value in STEP_CACHES):
        return [(part, {"step_cache": value or None}, False)]
    if key == "attention_backend" and value:
        return [(part, {"attention_backend": value}, False)]
    raise argparse.ArgumentTypeError(
        f"unknown variant part {part!r}; use default, draft, offload={'|'.join(OFFLOAD_MODES)}, "
        f"vae_tiling, vae_slicing, step_cache[={'|'.join(STEP_CACHES)}], compile, "
        "attention_backend=NAME (join parts of one variant with '+')"
    )


def _variants(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    for name in names:
        for part in name.split("+"):
            _one_option(part)  # raises on a bad name, while parsing arguments
    if not names:
        raise argparse.ArgumentTypeError("no variants given")
    return names


def variants_for(names: list[str], family: str) -> tuple[list[Variant], list[str]]:
    """The runnable variants for a family, and notes about the ones skipped."""
    caches = FAMILIES[family].step_caches
    out: list[Variant] = []
    skipped: list[str] = []
    for name in names:
        combos: list[Variant] = [Variant("")]
        for part in name.split("+"):
            ((label, options, draft),) = _one_option(part)
            if options.get("step_cache", "") is None:  # bare step_cache: one per cache
                picks = [(f"step_cache={c}", {"step_cache": c}) for c in caches]
            else:
                picks = [(label, options)]
            combos = [
                Variant(
                    "+".join(x for x in (v.label, lab) if x),
                    {**v.options, **opts},
                    v.draft or draft,
                )
                for v in combos
                for lab, opts in picks
            ]
        for v in combos:
            cache = v.options.get("step_cache")
            if cache and cache not in caches:
                skipped.append(f"{v.label}: {family} supports step caches {', '.join(caches)}")
            elif v.label not in [o.label for o in out]:
                out.append(v)
    return out, skipped


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 3)[3],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model-dir",
        action="extend",
        nargs="+",
        required=True,
        type=Path,
        metavar="DIR",
        help="diffusers model directories (repeatable)",
    )
    parser.add_argument(
        "--family",
        action="extend",
        nargs="+",
        required=True,
        choices=sorted(FAMILIES),
        help="one family for all directories, or one per --model-dir",
    )
    parser.add_argument(
        "--task",
        action="extend",
        nargs="+",
        choices=("t2v", "i2v"),
        help="one for all or one per directory (default: what reelforge infers from the directory)",
    )
    parser.add_argument("--size", type=_size, default=(832, 480), help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--dtype", choices=DTYPES, default="bf16")
    parser.add_argument("--device", default="cuda", help="cuda or cuda:N")
    parser.add_argument(
        "--variants",
        type=_variants,
        default=_variants(DEFAULT_VARIANTS),
        help=f"comma-separated (default: {DEFAULT_VARIANTS})",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="warm runs per variant after the cold one (and of the baseline)",
    )
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument(
        "--image",
        type=Path,
        default=None,
        help="start frame for i2v (default: reelforge's bundled sample photo)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-direct", action="store_true", help="skip the diffusers baseline")
    parser.add_argument("--poll", type=float, default=0.05, help="job polling interval, s")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check and print the plan; needs no GPU and loads no weights",
    )
    args = parser.parse_args(argv)
    n = len(args.model_dir)
    for name in ("family", "task"):
        given = getattr(args, name)
        if given is not None and len(given) not in (1, n):
            parser.error(f"give --{name} once or once per --model-dir ({n}), not {len(given)}")
        setattr(args, name, (given * n if given and len(given) == 1 else given) or [None] * n)
    for d in args.model_dir:
        if not (d / "model_index.json").is_file():
            parser.error(
                f"{d} is not a diffusers model directory (no model_index.json); "
                "see bench/README.md for how to download one"
            )
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def require_cuda(device: str) -> Any:
    try:
        import torch
    except ImportError:
        sys.exit("bench/gpu_models.py needs torch: pip install 'reelforge[neural]'")
    if not torch.cuda.is_available():
        sys.exit(
            f"bench/gpu_models.py needs a CUDA GPU, and torch {torch.__version__} sees none "
            "here (torch.cuda.is_available() is False). Run it on a GPU machine, or add "
            "--dry-run to check the plan without one."
        )
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        sys.exit(f"no {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return torch


# -- one model --------------------------------------------------------------------------------


@dataclass
class ModelPlan:
    index: int
    path: Path
    family: str
    task: str
    variants: list[Variant]
    skipped: list[str]

    @property
    def label(self) -> str:
        return self.path.name


def job_spec(
    plan: ModelPlan, args: argparse.Namespace, variant: Variant | None, model: str
) -> JobSpec:
    w, h = args.size
    i2v = plan.task == "i2v"
    draft = variant is not None and variant.draft
    return JobSpec(
        mode=Mode.IMAGE2VIDEO if i2v else Mode.TEXT2VIDEO,
        prompt=args.prompt,
        images=(_PLACEHOLDER_IMAGE,) if i2v else (),
        fps=FAMILIES[plan.family].fps,
        seed=args.seed,
        model=model,
        frames=args.frames,
        width=w,
        height=h,
        steps=None if draft else args.steps,
        preset=Preset.DRAFT if draft else None,
    )


def request_body(spec: JobSpec, upload_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": spec.model,
        "prompt": spec.prompt,
        "width": spec.width,
        "height": spec.height,
        "frames": spec.frames,
        "seed": spec.seed,
    }
    if spec.steps is not None:
        body["steps"] = spec.steps
    if spec.preset is not None:
        body["preset"] = str(spec.preset)
    if upload_id:
        body["image_upload_id"] = upload_id
    return body


def model_name(plan: ModelPlan, variant: Variant) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in variant.label.lower()).strip("-")
    return f"bench-{plan.index}-{slug}"[:100]


def image_for(args: argparse.Namespace) -> Path:
    from reelforge.media.images import sample_image_path

    return args.image or sample_image_path()


def run_direct(torch: Any, plan: ModelPlan, args: argparse.Namespace) -> dict[str, Any]:
    """The baseline: what a diffusers user would write, with reelforge's call arguments."""
    import diffusers
    from PIL import Image

    from reelforge.backends.neural.runtime import TORCH_DTYPES
    from reelforge.media.images import cover_resize, load_image

    family = FAMILIES[plan.family]
    spec = job_spec(plan, args, None, "direct")
    params = family.plan(spec, plan.task)
    images = []
    if plan.task == "i2v":
        images = [
            Image.fromarray(cover_resize(load_image(image_for(args)), params.width, params.height))
        ]
    assert family.build_call is not None
    kwargs = {
        "prompt": spec.prompt,
        "negative_prompt": None,
        "height": params.height,
        "width": params.width,
        "num_frames": params.frames,
        "num_inference_steps": params.steps,
        "guidance_scale": params.guidance,
        "output_type": "np",
        **family.build_call(plan.task, params, spec, images),
    }
    device = torch.device(args.device)
    started = time.perf_counter()
    cls = getattr(diffusers, family.load_class[plan.task])
    pipe = cls.from_pretrained(plan.path, dtype=TORCH_DTYPES[args.dtype], local_files_only=True)
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    torch.cuda.synchronize(device)
    load = time.perf_counter() - started
    runs = []
    try:
        for _ in range(1 + args.repeats):  # the first is the warm-up
            torch.cuda.reset_peak_memory_stats(device)
            t0 = time.perf_counter()
            pipe(**kwargs, generator=torch.Generator("cpu").manual_seed(spec.seed))
            torch.cuda.synchronize(device)
            runs.append(
                {
                    "seconds": time.perf_counter() - t0,
                    "peak_memory_bytes": int(torch.cuda.max_memory_allocated(device)),
                }
            )
    finally:
        del pipe
        gc.collect()
        torch.cuda.empty_cache()
    return {
        "variant": "direct diffusers",
        "load": load,
        "cold": runs[0],
        "warm": runs[1:],
        "parameters": params.to_dict(),
        "status": "succeeded",
    }


class Bench:
    """One platform for the whole run: SQLite + SqliteHuey in a temp dir, an embedded worker."""

    def __init__(self, plans: list[ModelPlan], args: argparse.Namespace):
        from reelforge.app.bootstrap import bootstrap
        from reelforge.config import Settings
        from reelforge.services.accounts import accounts
        from reelforge.worker.loop import Worker

        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="rf-gpu-bench-"))
        queues = sorted({p.family for p in plans})
        settings = Settings(
            data_dir=self.tmp, worker_queues=queues, progress_interval=1.0, pipeline_cache_models=1
        )
        self.p = bootstrap(settings)
        self.acct = accounts.ensure_account(self.p, "bench")
        self._upload: str | None = None
        self.worker = Worker(self.p, queues=queues, concurrency=1).start()

    def register(self, plan: ModelPlan, variant: Variant) -> dict[str, Any]:
        from reelforge.services.jobs import model_registry as models

        return models.add_model(
            self.p,
            models.parse_model_request(
                {
                    "name": model_name(plan, variant),
                    "family": plan.family,
                    "path": str(plan.path),
                    "task": plan.task,
                    "dtype": self.args.dtype,
                    "device": self.args.device,
                    "options": variant.options,
                }
            ),
            replace=True,
        )

    def upload(self) -> str:
        if self._upload is None:
            from reelforge.services.jobs.uploads import create_upload

            path = image_for(self.args)
            self._upload = create_upload(self.p, self.acct, path.read_bytes(), path.name).id
        return self._upload

    def job(self, plan: ModelPlan, variant: Variant) -> dict[str, Any]:
        from reelforge.services.jobs import queries
        from reelforge.services.jobs.submit import SubmitRequest, submit_job

        spec = job_spec(plan, self.args, variant, model_name(plan, variant))
        body = request_body(spec, self.upload() if plan.task == "i2v" else None)
        t0 = time.perf_counter()
        job = submit_job(self.p, self.acct, SubmitRequest.parse(body)).job
        while (view := queries.get_job(self.p, self.acct, job["id"]))["status"] not in FINAL:
            time.sleep(self.args.poll)
        return {
            "seconds": time.perf_counter() - t0,
            "id": view["id"],
            "status": view["status"],
            "error": view["error"],
            "timings": view["timings"],
            "compute": view["compute"] or {},
            "parameters": view["parameters"],
            "peak_memory_bytes": (view["compute"] or {}).get("peak_memory_bytes"),
        }

    def run_variant(self, plan: ModelPlan, variant: Variant) -> dict[str, Any]:
        record: dict[str, Any] = {
            "variant": variant.label,
            "options": variant.options,
            "draft": variant.draft,
        }
        try:
            record["model"] = self.register(plan, variant)
        except Exception as exc:  # an option the registry refuses for this model
            return {**record, "status": "refused", "error": str(exc)}
        cold = self.job(plan, variant)
        record.update(
            cold=cold,
            parameters=cold["parameters"],
            status=cold["status"],
            error=cold["error"],
            warm=[],
        )
        if cold["status"] != "succeeded":
            return record
        for _ in range(self.args.repeats):
            run = self.job(plan, variant)
            record["warm"].append(run)
            if run["status"] != "succeeded":
                record.update(status=run["status"], error=run["error"])
                break
        return record

    def close(self) -> None:
        self.worker.stop(hand_back=True)
        self.p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- report -----------------------------------------------------------------------------------


def _gib(n: float | None) -> str:
    return "-" if not n else f"{n / 2**30:.2f}"


def _f(x: float | None, width: int = 7, digits: int = 2) -> str:
    return f"{'-':>{width}}" if x is None else f"{x:{width}.{digits}f}"


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    """Best warm seconds, median warm stage timings, peak memory, cold seconds of a record."""
    warm = [r for r in record.get("warm", []) if r.get("status", "succeeded") == "succeeded"]
    cold = record.get("cold") or {}
    out: dict[str, Any] = {
        "seconds": min((r["seconds"] for r in warm), default=None),
        "median": statistics.median(r["seconds"] for r in warm) if warm else None,
        "cold": cold.get("seconds"),
        "peak": max((r.get("peak_memory_bytes") or 0 for r in warm), default=None) or None,
        "stages": {},
    }
    if record["variant"] == "direct diffusers":
        out["stages"]["load"] = record.get("load")
        if out["cold"] is not None:
            out["cold"] += record.get("load", 0.0)
    else:
        out["stages"]["load"] = (cold.get("timings") or {}).get("load")
        for key in ("text_encode", "image_encode", "denoise", "decode", "encode", "store", "total"):
            values = [r["timings"][key] for r in warm if key in r.get("timings", {})]
            out["stages"][key] = statistics.median(values) if values else None
    return out


def print_table(
    plan: ModelPlan, args: argparse.Namespace, records: list[dict[str, Any]], gpu: str
) -> None:
    w, h = args.size
    print(
        f"\n{plan.label}: {plan.family} {plan.task}, {args.dtype}, {w}x{h}, {args.frames} "
        f"frames, {args.steps} steps, on {gpu} (best of {args.repeats} warm; cold = first "
        "job incl. load)"
    )
    head = (
        f"{'variant':28} {'s/clip':>7} {'cold s':>7} {'load':>6} {'text':>6} {'denoise':>8}"
        f" {'decode':>7} {'encode':>7} {'store':>6} {'peak GiB':>9} {'time x':>7} "
        f"{'mem x':>6}  steps/cache"
    )
    print(head)
    base = next(
        (summarize(r) for r in records if r["variant"] == "default" and r["status"] == "succeeded"),
        None,
    )
    for record in records:
        if record["status"] != "succeeded":
            print(f"{record['variant']:28} {record['status']}: {record.get('error')}")
            continue
        s = summarize(record)
        st = s["stages"]
        time_x = s["seconds"] / base["seconds"] if base and s["seconds"] else None
        mem_x = s["peak"] / base["peak"] if base and base["peak"] and s["peak"] else None
        params = record.get("parameters") or {}
        print(
            f"{record['variant']:28} {_f(s['seconds'])} {_f(s['cold'])} "
            f"{_f(st.get('load'), 6)} {_f(st.get('text_encode'), 6)} "
            f"{_f(st.get('denoise'), 8)} {_f(st.get('decode'))} {_f(st.get('encode'))} "
            f"{_f(st.get('store'), 6)} {_gib(s['peak']):>9} {_f(time_x, 7, 3)} "
            f"{_f(mem_x, 6, 3)}  {params.get('steps')}/{params.get('step_cache') or '-'}"
        )
    direct = next((summarize(r) for r in records if r["variant"] == "direct diffusers"), None)
    if base and direct and direct["seconds"]:
        d, rf = direct["seconds"], base["seconds"]
        print(
            f"reelforge default / direct diffusers: {rf / d:.3f}x (overhead {rf - d:+.2f} s, "
            f"{(rf / d - 1) * 100:+.1f}%, of which encode "
            f"{base['stages'].get('encode') or 0:.2f} s + store "
            f"{base['stages'].get('store') or 0:.2f} s); peak memory "
            f"{_gib(base['peak'])} vs {_gib(direct['peak'])} GiB"
        )
    for note in plan.skipped:
        print(f"skipped {note}")


def _git_revision() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def make_plans(args: argparse.Namespace) -> list[ModelPlan]:
    """Resolve each directory's task with reelforge's own registry checks."""
    from reelforge.services.jobs import model_registry as models

    plans = []
    for i, (path, family, task) in enumerate(
        zip(args.model_dir, args.family, args.task, strict=True)
    ):
        config = models.validate_model(
            models.parse_model_request(
                {
                    "name": f"bench-{i}",
                    "family": family,
                    "path": str(path),
                    "task": task,
                    "dtype": args.dtype,
                    "device": args.device,
                }
            )
        )
        if config.task not in ("t2v", "i2v"):
            sys.exit(f"{path} is a {family} {config.task} model; this bench runs t2v and i2v")
        variants, skipped = variants_for(args.variants, family)
        plan = ModelPlan(i, path.resolve(), family, config.task, variants, skipped)
        for variant in variants:  # size, frames, steps and options, checked before any GPU work
            FAMILIES[family].plan(
                job_spec(plan, args, variant, "x"),
                plan.task,
                step_cache=variant.options.get("step_cache"),
            )
            ModelOptions.model_validate(variant.options)
        plans.append(plan)
    return plans


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from reelforge.errors import ReelforgeError

    try:
        plans = make_plans(args)
    except ReelforgeError as exc:
        sys.exit(f"cannot run this plan: {exc.message}")
    if args.dry_run:
        for plan in plans:
            print(f"{plan.path} ({plan.family} {plan.task}):")
            if not args.no_direct:
                print("  direct diffusers")
            for v in plan.variants:
                spec = job_spec(plan, args, v, model_name(plan, v))
                params = FAMILIES[plan.family].plan(
                    spec, plan.task, step_cache=v.options.get("step_cache")
                )
                print(
                    f"  {v.label:28} options {json.dumps(v.options)}; runs {params.width}x"
                    f"{params.height}, {params.frames} frames, {params.steps} steps, "
                    f"step cache {params.step_cache}, guidance {params.guidance}"
                )
            for note in plan.skipped:
                print(f"  skipped {note}")
        return

    torch = require_cuda(args.device)
    import diffusers

    gpu = torch.cuda.get_device_name(torch.device(args.device))
    env = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "gpu": gpu,
        "gpu_memory_bytes": torch.cuda.get_device_properties(
            torch.device(args.device)
        ).total_memory,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "diffusers": diffusers.__version__,
        "python": host.python_version(),
        "host": host.node(),
        "cpus": os.cpu_count(),
        "reelforge_git": _git_revision(),
    }
    print(
        f"{gpu}, torch {torch.__version__} (CUDA {torch.version.cuda}), diffusers "
        f"{diffusers.__version__}"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"gpu_models-{datetime.now():%Y%m%d-%H%M%S}.json"
    results: dict[str, Any] = {
        "environment": env,
        "args": {
            **{k: v for k, v in vars(args).items() if k not in ("model_dir", "image", "size")},
            "model_dir": [str(d) for d in args.model_dir],
            "size": "x".join(map(str, args.size)),
            "image": str(args.image) if args.image else None,
        },
        "models": [],
    }

    # The baselines first, while no pipeline of the worker's is on the GPU; then the platform.
    # The worker keeps one warm pipeline, so each variant's load evicts the one before it.
    records: dict[int, list[dict[str, Any]]] = {plan.index: [] for plan in plans}

    def save() -> None:
        results["models"] = [
            {
                "path": str(plan.path),
                "family": plan.family,
                "task": plan.task,
                "records": records[plan.index],
                "skipped": plan.skipped,
            }
            for plan in plans
        ]
        out.write_text(json.dumps(results, indent=2, default=str))  # as it goes

    for plan in plans if not args.no_direct else []:
        print(f"{plan.label}: direct diffusers ...", flush=True)
        try:
            records[plan.index].append(run_direct(torch, plan, args))
        except Exception as exc:
            records[plan.index].append(
                {
                    "variant": "direct diffusers",
                    "status": "failed",
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )
            gc.collect()
            torch.cuda.empty_cache()
        save()
    bench = Bench(plans, args)
    try:
        for plan in plans:
            for variant in plan.variants:
                print(f"{plan.label}: {variant.label} ...", flush=True)
                records[plan.index].append(bench.run_variant(plan, variant))
                save()
    finally:
        bench.close()
    for plan in plans:
        print_table(plan, args, records[plan.index], gpu)
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
