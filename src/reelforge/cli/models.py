"""`reelforge models`: register, list and remove models: neural models (local diffusers
folders) and hosted provider models (a provider's remote model id; credentials from settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from reelforge.cli.common import JsonOpt, fail, out, platform, print_json
from reelforge.errors import InvalidRequest
from reelforge.services.jobs import model_registry, provider_registry

app = typer.Typer(
    help="Models: local diffusers directories and hosted provider models.", no_args_is_help=True
)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The name jobs use in `model`.")],
    family: Annotated[str | None, typer.Option(help="wan, ltx or cogvideox.")] = None,
    path: Annotated[
        Path | None, typer.Option(help="Local diffusers-format model directory.")
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            help="A hosted provider instead: kling, runway, luma, minimax, google, openai."
        ),
    ] = None,
    remote_model: Annotated[
        str | None, typer.Option(help="The provider's model id (with --provider).")
    ] = None,
    price_file: Annotated[
        Path | None,
        typer.Option(help="This provider model's own prices (YAML: date, source, per_second)."),
    ] = None,
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
    """Register a model. The directory is checked now; weights load on a worker's first job.
    With --provider, a hosted model: jobs go to the `providers` queue."""
    if provider is not None or remote_model is not None:
        _add_provider(name, provider, remote_model, price_file, family, path, replace, as_json)
        return
    if family is None or path is None:
        raise fail(
            InvalidRequest(
                "give --family and --path (a local model), or --provider and --remote-model "
                "(a hosted one)",
                code="invalid_request",
                field="family" if family is None else "path",
            )
        )
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


def _add_provider(
    name: str,
    provider: str | None,
    remote_model: str | None,
    price_file: Path | None,
    family: str | None,
    path: Path | None,
    replace: bool,
    as_json: bool,
) -> None:
    if provider is None or remote_model is None:
        raise fail(
            InvalidRequest(
                "a hosted model needs both --provider and --remote-model",
                code="invalid_request",
                field="provider" if provider is None else "remote_model",
            )
        )
    if family is not None or path is not None:
        raise fail(
            InvalidRequest(
                "--family and --path describe a local model; leave them out with --provider",
                code="invalid_request",
                field="family",
            )
        )
    with platform() as p:
        prices = provider_registry.price_file(price_file) if price_file is not None else None
        req = provider_registry.parse_provider_model_request(
            {"name": name, "provider": provider, "remote_model": remote_model, "prices": prices}
        )
        view = provider_registry.add_provider_model(p, req, replace=replace)
    if as_json:
        print_json(view)
    else:
        out.print(
            f"added {view['name']}: {view['provider']} {view['remote_model']} "
            f"(queue {view['queue']}; serves {', '.join(view['modes'])}; credentials from "
            f"RF_PROVIDER_{view['provider'].upper()}_*)",
            highlight=False,
            soft_wrap=True,
        )


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Registered models."""
    with platform() as p:
        rows = model_registry.list_models(p)
        hosted = provider_registry.list_provider_models(p)
    if as_json:
        print_json({"object": "list", "data": rows + hosted})
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
    if hosted:
        remote = Table("name", "provider", "remote model", "modes", "prices")
        for r in hosted:
            remote.add_row(
                r["name"],
                r["provider"],
                r["remote_model"],
                ", ".join(r["modes"]),
                f"price file ({r['prices']['date']})" if r["prices"] else "built-in sheet",
            )
        out.print(remote)


@app.command("remove")
def remove(name: str) -> None:
    """Unregister a model (its files are left alone)."""
    with platform() as p:
        if not provider_registry.remove_provider_model(p, name):
            model_registry.remove_model(p, name)
    out.print(f"removed {name}")
