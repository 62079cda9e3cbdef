"""`reelforge guards`: register, list and remove guard models (local Llama Guard,
Qwen3Guard-Gen or ShieldGemma directories; nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reelforge.cli.common import JsonOpt, out, platform, print_json
from reelforge.services.governance import guards

app = typer.Typer(help="Guard models for prompt moderation.", no_args_is_help=True)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The name profiles use in guard.name.")],
    family: Annotated[str, typer.Option(help="llama-guard, qwen3guard or shieldgemma.")],
    path: Annotated[Path, typer.Option(help="Local transformers model directory.")],
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="bf16, fp16 or fp32.")] = "fp32",
    replace: Annotated[bool, typer.Option("--replace", help="Replace a guard of this name.")] = (
        False
    ),
    as_json: JsonOpt = False,
) -> None:
    """Register a guard model directory (checked now, loaded by the worker that runs it)."""
    with platform() as p:
        req = guards.parse_guard_request(
            {"name": name, "family": family, "path": str(path), "device": device, "dtype": dtype}
        )
        row = guards.add_guard(p, req, replace=replace)
    if as_json:
        print_json(row)
    else:
        out.print(f"{row['name']}: {row['family']} on {row['device']} ({row['dtype']})")


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Registered guard models."""
    with platform() as p:
        rows = guards.list_guards(p)
    if as_json:
        print_json({"object": "list", "data": rows})
        return
    table = Table("name", "family", "device", "dtype", "languages", "path")
    for r in rows:
        table.add_row(
            r["name"], r["family"], r["device"], r["dtype"], ", ".join(r["languages"]), r["path"]
        )
    out.print(table)


@app.command("remove")
def remove(name: str) -> None:
    """Unregister a guard model (its files are left alone)."""
    with platform() as p:
        guards.remove_guard(p, name)
    out.print(f"removed {name}")
