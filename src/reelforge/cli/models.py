"""`reelforge models`: register, list and remove neural models (local diffusers folders)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from reelforge.cli.common import JsonOpt, out, platform, print_json
from reelforge.services.jobs import model_registry

app = typer.Typer(help="Neural models: local diffusers directories.", no_args_is_help=True)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The name jobs use in `model`.")],
    family: Annotated[str, typer.Option(help="wan, ltx or cogvideox.")],
    path: Annotated[Path, typer.Option(help="Local diffusers-format model directory.")],
    task: Annotated[
        str | None, typer.Option(help="t2v, i2v or flf2v (default: from the directory).")
    ] = None,
    dtype: Annotated[str, typer.Option(help="bf16, fp16 or fp32.")] = "bf16",
    device: Annotated[str, typer.Option(help="cuda, cuda:N or cpu.")] = "cuda",
    gpu_hourly_usd: Annotated[
        float | None, typer.Option(help="What an hour of the device costs (for cost accounting).")
    ] = None,
    offload: Annotated[
        str | None, typer.Option(help="Keep weights in CPU memory: model, group or sequential.")
    ] = None,
    vae_tiling: Annotated[bool, typer.Option("--vae-tiling", help="Decode in tiles.")] = False,
    vae_slicing: Annotated[
        bool, typer.Option("--vae-slicing", help="Decode one sample at a time.")
    ] = False,
    step_cache: Annotated[
        str | None,
        typer.Option(
            help="Reuse transformer outputs across steps: first_block, pab or taylorseer."
        ),
    ] = None,
    compile_: Annotated[
        bool, typer.Option("--compile", help="torch.compile the transformer.")
    ] = False,
    attention_backend: Annotated[
        str | None, typer.Option(help="diffusers attention backend, e.g. native, flash, sage.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a model of that name.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Register a model. The directory is checked now; weights load on a worker's first job."""
    options: dict[str, Any] = {
        "offload": offload,
        "vae_tiling": vae_tiling,
        "vae_slicing": vae_slicing,
        "step_cache": step_cache,
        "compile": compile_,
        "attention_backend": attention_backend,
    }
    with platform() as p:
        req = model_registry.parse_model_request(
            {
                "name": name,
                "family": family,
                "path": str(path),
                "task": task,
                "dtype": dtype,
                "device": device,
                "gpu_hourly_usd": gpu_hourly_usd,
                "options": {k: v for k, v in options.items() if v not in (None, False)},
            }
        )
        view = model_registry.add_model(p, req, replace=replace)
    if as_json:
        print_json(view)
    else:
        out.print(
            f"added {view['name']}: {view['family']} {view['task']} from {view['path']} "
            f"(queue {view['queue']}; serves {', '.join(view['modes'])})",
            highlight=False,
            soft_wrap=True,
        )


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Registered models."""
    with platform() as p:
        rows = model_registry.list_models(p)
    if as_json:
        print_json({"object": "list", "data": rows})
        return
    table = Table("name", "family", "task", "dtype", "device", "options", "path")
    for r in rows:
        table.add_row(
            r["name"],
            r["family"],
            r["task"],
            r["dtype"],
            r["device"],
            ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "-",
            r["path"],
        )
    out.print(table)


@app.command("remove")
def remove(name: str) -> None:
    """Unregister a model (its files are left alone)."""
    with platform() as p:
        model_registry.remove_model(p, name)
    out.print(f"removed {name}")
