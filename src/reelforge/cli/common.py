"""What every command module shares: consoles, option types, error display, the platform."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.config import load_settings
from reelforge.errors import ReelforgeError

err = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
AccountOpt = Annotated[str, typer.Option("--account", help="Account name.")]


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def fail(exc: ReelforgeError) -> typer.Exit:
    """Show a user error with its code; exit 2 for bad input, 1 for everything else."""
    err.print(
        f"[bold red]error[/] {escape(f'[{exc.code}] {exc.message}')}",
        highlight=False,
        soft_wrap=True,
    )  # one line, whatever the terminal's width
    return typer.Exit(2 if exc.http_status < 500 else 1)


@contextmanager
def platform(**overrides: Any) -> Iterator[Platform]:
    """The platform from settings, closed afterwards; ReelforgeError becomes a clean exit."""
    try:
        p = bootstrap(load_settings(**overrides))
    except ReelforgeError as exc:
        raise fail(exc) from None
    try:
        yield p
    except ReelforgeError as exc:
        raise fail(exc) from None
    finally:
        p.close()
