"""`reelforge generate` and `reelforge demo`: a clip through the queue and an in-process
worker, with a progress bar."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from reelforge.app.platform import Platform
from reelforge.cli.common import JsonOpt, err, fail, out, platform, print_json
from reelforge.domain.job import FINAL_STATUSES
from reelforge.domain.spec import AspectRatio, Camera, LabelPosition, Mode, Preset, Resolution
from reelforge.errors import Conflict, InvalidImage, InvalidRequest, ReelforgeError
from reelforge.services.accounts import accounts
from reelforge.services.governance.moderation import preload
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, promote_job, submit_job
from reelforge.services.jobs.uploads import create_upload, decode_once

if TYPE_CHECKING:
    from reelforge.worker.loop import Worker

INTERRUPTED = 130  # exit code after Ctrl-C (128 + SIGINT, as shells report it); README says so
STOP_WAIT = 10.0  # seconds our worker gets to hand a cancelled job in after Ctrl-C
FINAL = tuple(str(s) for s in FINAL_STATUSES)  # nothing more happens by itself
STOP_FOLLOWING = (*FINAL, "review")  # a person decides; the job goes on without this command


def follow(p: Platform, account: accounts.AccountRef, job_id: str) -> dict[str, Any]:
    """Show a progress bar (stderr) until the job is final."""
    progress = Progress(
        TextColumn("[bold]{task.fields[stage]:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    with progress:
        bar = progress.add_task("generate", total=1.0, stage="queued")
        while True:
            job = queries.get_job(p, account, job_id)
            progress.update(bar, completed=job["progress"], stage=job["stage"] or job["status"])
            if job["status"] in STOP_FOLLOWING:
                return job
            time.sleep(0.1)


def _cancel_on_interrupt(
    p: Platform, account: accounts.AccountRef, job_id: str, worker: Worker | None
) -> bool:
    """Ctrl-C: cancel the job (credits released) wherever it is. Our own worker stops at its
    next step and hands the job in as cancelled; one stuck in a long step is let go after
    STOP_WAIT seconds and the job cancelled without it (its late result is never recorded).
    A job another `reelforge worker` runs stops at that worker's next heartbeat.
    False when it is too late: the output is being finalized (or the job just ended), so the
    job finishes as it is — and is charged if it succeeds — and the caller waits for it."""
    err.print(f"cancelling {job_id} ...")
    try:
        queries.cancel_job(p, account, job_id)
    except Conflict as exc:  # too_late (being finalized) or job_finished
        err.print(
            f"[yellow]{job_id} can no longer be cancelled ({exc.code}): it finishes as it is[/]"
        )
        return False
    if worker is None:  # interrupted before our worker existed: nothing of ours holds the job
        job = queries.get_job(p, account, job_id)
    else:
        worker.stop(hand_back=True, timeout=STOP_WAIT)
        job = queries.cancel_job(p, account, job_id, holder=f"{worker.name}:")
    err.print(
        f"cancelled {job_id}"
        if job["status"] == "cancelled"
        else f"cancel requested for {job_id} (status {job['status']}); "
        f"`reelforge jobs show {job_id}` follows it"
    )
    return True


@dataclass
class _Held:
    pending: bool = False


@contextmanager
def _interrupt_held() -> Iterator[_Held]:
    """Ctrl-C inside the block is held until it ends, so a submit that stores a job always
    hands back its id, and the caller can cancel that job (a KeyboardInterrupt raised between
    the commit and the return would leave it queued, its credits held). A second Ctrl-C
    interrupts at once, as usual. Only the main thread receives signals."""
    held = _Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        yield held  # Ctrl-C is ignored (nohup, a background job) or not Python's to swap
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        if held.pending:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        held.pending = True
        err.print("interrupted: the job is cancelled as soon as it is stored ...")

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)


def _upload(p: Platform, account: accounts.AccountRef, image: Path) -> str:
    try:
        data = image.read_bytes()
    except OSError as exc:
        raise InvalidImage(f"cannot read {image}: {exc.strerror}") from None
    return create_upload(p, account, data, image.name).id


def run_generate(
    fields: dict[str, Any],
    image: Path | None,
    out_path: Path,
    as_json: bool,
    *,
    last_image: Path | None = None,
    promote: str | None = None,
) -> None:
    """Store the images, submit, run an in-process worker until the job ends, write the MP4.
    Ctrl-C at any point exits with INTERRUPTED; once the job exists, it is cancelled first."""
    try:
        _run_generate(fields, image, out_path, as_json, last_image=last_image, promote=promote)
    except KeyboardInterrupt:  # before the job existed, or while writing the file
        err.print("interrupted")
        raise typer.Exit(INTERRUPTED) from None


def _run_generate(
    fields: dict[str, Any],
    image: Path | None,
    out_path: Path,
    as_json: bool,
    *,
    last_image: Path | None = None,
    promote: str | None = None,
) -> None:
    from reelforge.worker.loop import Worker

    try:
        SubmitRequest.parse(fields)  # refuse bad arguments before anything is stored
    except ReelforgeError as exc:
        raise fail(exc) from None
    # the models this request's checks need load while the database opens and the image is
    # stored (they decide nothing until submit_job)
    preload(
        prompt=bool(str(fields.get("prompt", "")).strip()),
        image=image is not None or last_image is not None,
    )
    decode_once()  # the upload check, moderation and the render share one decode
    with platform() as p:
        account = accounts.ensure_account(p, accounts.LOCAL_ACCOUNT)
        if promote is None and image is not None:
            fields = {**fields, "image_upload_id": _upload(p, account, image)}
        if promote is None and last_image is not None:
            fields = {**fields, "last_image_upload_id": _upload(p, account, last_image)}
        job_id: str | None = None
        worker: Worker | None = None
        try:
            with _interrupt_held() as held:  # a job stored is a job whose id we get back
                if promote is not None:
                    job_id = str(promote_job(p, account, promote).job["id"])
                else:
                    job_id = str(submit_job(p, account, SubmitRequest.parse(fields)).job["id"])
            # from here on the job exists: Ctrl-C anywhere below cancels it (credits released)
            if held.pending:  # Ctrl-C during the submit
                raise KeyboardInterrupt
            for warning in queries.get_job(p, account, job_id).get("warnings") or ():
                err.print(f"[yellow]warning:[/] {escape(warning)}")  # e.g. a small source image
            queues = sorted({*p.settings.worker_queues, queries.queue_of(p, account, job_id)})
            worker = Worker(p, queues=queues, concurrency=1)
            worker.start()
            job = follow(p, account, job_id)
        except KeyboardInterrupt:
            if job_id is None:  # a second Ctrl-C inside the submit: no id to cancel
                raise
            if _cancel_on_interrupt(p, account, job_id, worker):
                raise typer.Exit(INTERRUPTED) from None
            job = follow(p, account, job_id)  # too late to cancel: its result is delivered
        finally:  # the job is final (or let go above): nothing to wait for beyond STOP_WAIT
            if worker is not None:
                worker.stop(hand_back=True, timeout=STOP_WAIT)
        result: dict[str, Any] = {
            "id": job_id,
            "status": job["status"],
            "output_path": None,
            "error": job["error"],
            "timings": job["timings"],
            "model": job["model"],
            "seed": job["seed"],
            "credits_charged": job["credits_charged"],
            "cost_usd": job["cost_usd"],
            "cache_hit": job["cache_hit"],
            "camera": job.get("camera"),
            "warnings": job.get("warnings") or [],
        }
        if job["status"] == "succeeded":
            out_path.parent.mkdir(parents=True, exist_ok=True)
            p.blobs.download(queries.job_content(p, account, job_id).key, out_path)
            result["output_path"] = str(out_path.resolve())
            result.update(
                {
                    k: job["output"][k]
                    for k in ("frames", "width", "height", "fps", "duration", "size_bytes")
                }
            )
    if as_json:
        print_json(result)
    elif job["status"] == "succeeded":
        out.print(
            f"{job_id} succeeded: {result['frames']} frames, "
            f"{result['width']}x{result['height']} @ {result['fps']} fps, "
            f"{job['timings'].get('total', 0):.2f}s"
        )
        out.print(result["output_path"], highlight=False, soft_wrap=True)
    elif job["status"] == "review":
        err.print(
            f"[yellow]{job_id} is waiting for a reviewer[/] (content policy: "
            f"{', '.join((job['moderation'] or {}).get('submit', {}).get('categories', []))}"
            f"); `reelforge jobs show {job_id}` follows it"
        )
    else:
        e = job["error"] or {}
        err.print(
            f"[red]{job_id} {job['status']}[/] " + escape(f"[{e.get('code')}] {e.get('message')}")
        )
    if job["status"] != "succeeded":
        raise typer.Exit(1)


def parse_size(value: str | None) -> tuple[int, int] | None:
    """ "832x480" → (832, 480)."""
    if value is None:
        return None
    w, sep, h = value.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        raise fail(
            InvalidRequest(
                f"--size takes WIDTHxHEIGHT such as 832x480, not {value!r}", field="size"
            )
        )
    return int(w), int(h)


def generate(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the MP4.")],
    prompt: Annotated[str, typer.Option(help="What the clip shows / how the camera moves.")] = "",
    image: Annotated[Path | None, typer.Option(help="Start image (image-to-video).")] = None,
    last_image: Annotated[
        Path | None,
        typer.Option(help="End image (first + last frame; needs a model that supports it)."),
    ] = None,
    mode: Annotated[
        Mode | None,
        typer.Option(help="Mode (default: inferred); frames2video: image -> last image on CPU."),
    ] = None,
    extend: Annotated[
        str | None, typer.Option(help="Continue from the last frame of this succeeded job's video.")
    ] = None,
    promote: Annotated[
        str | None,
        typer.Option(help="Make the final version of this draft job (same seed and inputs)."),
    ] = None,
    camera: Annotated[Camera | None, typer.Option(help="Camera move (motion backend).")] = None,
    duration: Annotated[float, typer.Option(help="Seconds.")] = 5.0,
    fps: Annotated[
        int | None, typer.Option(help="Frames per second (default: the model's; motion 24).")
    ] = None,
    frames: Annotated[int | None, typer.Option(help="Frame count (instead of duration).")] = None,
    size: Annotated[
        str | None, typer.Option(help="WIDTHxHEIGHT (instead of aspect and resolution).")
    ] = None,
    aspect: Annotated[AspectRatio, typer.Option(help="Aspect ratio.")] = AspectRatio.LANDSCAPE,
    resolution: Annotated[Resolution, typer.Option(help="480p, 720p or 1080p.")] = Resolution.P720,
    label_position: Annotated[
        LabelPosition,
        typer.Option(
            help="Where the AI-generated banner goes: top, or bottom to keep it off the product."
        ),
    ] = LabelPosition.TOP,
    steps: Annotated[int | None, typer.Option(help="Denoising steps (neural models).")] = None,
    guidance: Annotated[float | None, typer.Option(help="Guidance scale (neural models).")] = None,
    preset: Annotated[Preset | None, typer.Option(help="draft (cheap preview) or final.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible output.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (default: by mode).")] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="What to avoid.")] = None,
    priority: Annotated[int, typer.Option(help="Queue priority 0-9.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Generate a clip through the queue and an in-process worker, with a progress bar."""
    fields: dict[str, Any] = {
        "prompt": prompt,
        "duration": duration,
        "aspect_ratio": aspect,
        "resolution": resolution,
        "label_position": label_position,
        "priority": priority,
    }
    dims = parse_size(size)
    if dims is not None:
        fields["width"], fields["height"] = dims
    for key, value in (
        ("camera", camera),
        ("seed", seed),
        ("model", model),
        ("negative_prompt", negative_prompt),
        ("fps", fps),
        ("frames", frames),
        ("steps", steps),
        ("guidance", guidance),
        ("preset", preset),
        ("extend_from", extend),
        ("mode", mode),
    ):
        if value is not None:
            fields[key] = value
    run_generate(fields, image, out_path, as_json, last_image=last_image, promote=promote)


def sample_image() -> Path:
    """The bundled sample photo (see reelforge/assets/README.md for its source)."""
    return Path(str(files("reelforge") / "assets" / "sample.jpg"))


def demo(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the MP4.")] = Path(
        "out/demo.mp4"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Animate the bundled sample photo (no network, no GPU) and print the file's path."""
    fields = {
        "prompt": "slow push in on the cup",
        "camera": Camera.DOLLY,
        "duration": 4.0,
        "fps": 24,
        "aspect_ratio": AspectRatio.LANDSCAPE,
        "resolution": Resolution.P720,
        "seed": 7,
    }
    run_generate(fields, sample_image(), out_path, as_json)
