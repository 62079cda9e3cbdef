"""`reelforge serve`, `reelforge worker`, `reelforge migrate`, `reelforge config`."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from reelforge.cli.common import out, platform, print_json
from reelforge.config import Settings


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


def show_config() -> None:
    """Print the effective settings (passwords masked)."""
    print_json(Settings().public_dict())
