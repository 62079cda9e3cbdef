"""`reelforge serve`, `reelforge worker`, `reelforge migrate`, `reelforge config`."""

from __future__ import annotations

import sys
import threading
from typing import Annotated

import typer

from reelforge.app.platform import Platform
from reelforge.cli.common import JsonOpt, err, fail, out, platform, print_json
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
        start_checks(p)
        if p.moderation is not None:
            p.moderation.warm()
        # JSON logs: uvicorn's own lines (access log included) go through our JSON handler
        json_logs = p.settings.log_format == "json"
        uvicorn.run(
            create_app(p, embedded_worker=not no_worker),
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=5,
            log_config=None if json_logs else uvicorn.config.LOGGING_CONFIG,
        )


def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs at once (default RF_WORKERS).")
    ] = None,
    queue: Annotated[
        list[str] | None,
        typer.Option(help="Queue(s) to serve (repeatable): motion, wan, ltx, cogvideox."),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            help="The device neural models run on in this worker, e.g. cuda:1 (one worker per "
            "GPU); default: each model's registered device."
        ),
    ] = None,
) -> None:
    """Run a standalone worker until SIGINT/SIGTERM (a second signal hands jobs back now)."""
    from reelforge.worker.loop import Worker

    overrides = {"neural_device": device} if device else {}
    with platform(**overrides) as p:
        start_checks(p)
        warm = None
        if p.moderation is not None:  # load the detectors while the worker starts taking jobs
            warm = threading.Thread(target=p.moderation.warm, name="reelforge-warm", daemon=True)
            warm.start()
        Worker(p, queues=queue, concurrency=concurrency).run_until_signalled()
        if warm is not None:  # a native model half-loaded at interpreter exit aborts the
            warm.join(60)  # process (SIGABRT, exit -6) instead of a clean exit 0


def start_checks(p: Platform) -> None:
    """Print one line per start-up check (stderr); refuse to start when one fails."""
    from reelforge.app.checks import startup_checks

    checks = startup_checks(p)
    for check in checks:
        err.print(check.line(), highlight=False, markup=False, soft_wrap=True)
    if not all(check.ok for check in checks):
        err.print("not starting: fix the errors above", highlight=False, markup=False)
        raise typer.Exit(1)


def migrate() -> None:
    """Apply database migrations (also done automatically on start); say which."""
    from reelforge.app.bootstrap import migrate_database

    try:
        applied, revision = migrate_database(load_settings())
    except ReelforgeError as exc:
        raise fail(exc) from None
    if applied:
        out.print(
            f"applied {len(applied)} migration(s): {', '.join(applied)}; the database is "
            f"at the newest schema ({revision})",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print(
            f"nothing to apply: the database is at the newest schema ({revision})",
            highlight=False,
            soft_wrap=True,
        )


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
