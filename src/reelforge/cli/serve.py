"""`reelforge serve`, `reelforge worker`, `reelforge migrate`, `reelforge config`."""

from __future__ import annotations

import sys
import threading
from typing import Annotated

import typer

from reelforge.cli.common import JsonOpt, fail, out, platform, print_json
from reelforge.config import load_settings
from reelforge.errors import ReelforgeError


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only; run `reelforge worker` apart.")
    ] = False,
) -> None:
    """Run the HTTP API (OpenAPI at /docs), with an embedded worker unless --no-worker."""
    import uvicorn

    from reelforge.api.app import create_app

    with platform() as p:
        if p.moderation is not None:
            p.moderation.warm()
        uvicorn.run(create_app(p, embedded_worker=not no_worker), host=host, port=port,
                    log_level="info", timeout_graceful_shutdown=5)


def worker(
    concurrency: Annotated[int | None, typer.Option(help="Jobs at once (default RF_WORKERS).")]
    = None,
    queue: Annotated[list[str] | None, typer.Option(help="Queue(s) to serve (repeatable): "
                                                        "motion, wan, ltx, cogvideox.")]
    = None,
    device: Annotated[str | None, typer.Option(
        help="The device neural models run on in this worker, e.g. cuda:1 (one worker per "
             "GPU); default: each model's registered device.")] = None,
) -> None:
    """Run a standalone worker until SIGINT/SIGTERM (a second signal hands jobs back now)."""
    from reelforge.worker.loop import Worker

    overrides = {"neural_device": device} if device else {}
    with platform(**overrides) as p:
        if p.moderation is not None:  # load the detectors while the worker starts taking jobs
            threading.Thread(target=p.moderation.warm, name="reelforge-warm",
                             daemon=True).start()
        Worker(p, queues=queue, concurrency=concurrency).run_until_signalled()


def migrate() -> None:
    """Apply database migrations (also done automatically on start)."""
    with platform():
        pass
    out.print("database is at the newest schema")


def show_config(as_json: JsonOpt = False) -> None:
    """Print the effective settings, grouped (secrets and passwords masked)."""
    try:
        settings = load_settings()
    except ReelforgeError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(settings.public_dict())
        return
    groups = settings.grouped()
    width = max(len(name) for values in groups.values() for name in values)
    blocks = []
    for group, values in groups.items():
        lines = [f"[{group}]"]
        lines += [f"{name:<{width}} = {_shown(value)}" for name, value in values.items()]
        blocks.append("\n".join(lines))
    sys.stdout.write("\n\n".join(blocks) + "\n")


def _shown(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "(none)"
    return str(value)
