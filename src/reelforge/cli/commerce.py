"""`reelforge commerce`: promo clips for a whole catalogue (batch) and the brand kit.

    reelforge commerce batch --catalog FILE --template showcase --aspect 9:16,1:1,16:9 --out DIR
    reelforge commerce brand [--primary #hex ...] [--logo FILE] [--tagline TEXT] [--cta TEXT]

A batch runs through the queue with an in-process worker, like `generate`. Running the same
command again resumes the same batch (its id comes from the catalogue and the options, or
--batch-id): clips already made are not made again.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reelforge.cli.common import JsonOpt, err, fail, out, platform, print_json
from reelforge.commerce import batch as batches
from reelforge.commerce.brand import get_brand, set_brand
from reelforge.commerce.catalog import read_catalog
from reelforge.commerce.sources import checker, local_source
from reelforge.domain.spec import Resolution
from reelforge.errors import ReelforgeError
from reelforge.services.accounts import accounts
from reelforge.services.jobs.uploads import create_upload

app = typer.Typer(help="Promo clips for a product catalogue.", no_args_is_help=True)


@app.command("batch")
def batch(
    catalog: Annotated[Path, typer.Option("--catalog", help="CSV or products JSON.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for clips, manifest and zip.")],
    template: Annotated[str, typer.Option(help="showcase, sale or sequence.")] = "showcase",
    aspect: Annotated[str, typer.Option(help="Aspects, comma-separated.")] = "9:16,1:1,16:9",
    resolution: Annotated[Resolution, typer.Option(help="480p, 720p or 1080p.")] = Resolution.P720,
    length: Annotated[str, typer.Option(help="standard, or short (a third as long).")] = "standard",
    model: Annotated[str | None, typer.Option(help="Model (default: the template's).")] = None,
    batch_id: Annotated[str | None, typer.Option(help="Resume (or name) this batch.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Clips rendered at once.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Render every product of CATALOG in every aspect. Exit status 0 when every clip was
    made, 1 when some rows were rejected, products failed or clips wait for a reviewer (all
    else is still written; run the command again to resume)."""
    from reelforge.worker.loop import Worker

    try:
        data = catalog.read_bytes()
    except OSError as exc:
        raise fail(
            ReelforgeError(f"cannot read {catalog}: {exc.strerror}", code="invalid_catalog")
        ) from None
    started = time.perf_counter()
    try:
        options = batches.BatchOptions(
            template=template,
            aspects=batches.parse_aspects(aspect),
            resolution=resolution,
            length=length,
            model=model,
        )
        options.check()
    except ReelforgeError as exc:
        raise fail(exc) from None
    with platform() as p:
        account = accounts.ensure_account(p, accounts.LOCAL_ACCOUNT)
        source = local_source(p, catalog.resolve().parent)
        try:
            parsed = read_catalog(data, catalog.name, check_image=checker(p, source))
            key = batch_id or _batch_id(data, options)
            view = batches.create_batch(
                p, account, parsed, options, catalog_name=catalog.name, batch_id=key
            )
        except ReelforgeError as exc:
            raise fail(exc) from None
        for e in view["rejected_rows"]:
            sku = escape(str(e["sku"] or ""))
            code = escape("[" + str(e["code"]) + "]")
            err.print(f"[yellow]row {e['row']}[/] {sku} {code} {escape(e['message'])}")
        worker = Worker(p, queues=["motion", *p.backends.queues()], concurrency=workers).start()
        try:
            view = _follow(p, account, view["id"], source, workers)
        finally:
            worker.stop(hand_back=True, timeout=10.0)
        view = batches.export(p, account, view["id"], out_dir)
    elapsed = time.perf_counter() - started
    made = view["counts"]["succeeded"]
    failed = [i for i in view["items"] if i["status"] == "failed"]
    held = [i for i in view["items"] if i["status"] == "review"]
    summary: dict[str, Any] = {
        "id": view["id"],
        "status": view["status"],
        "template": view["template"],
        "aspects": view["aspects"],
        "products": view["products"],
        "clips": made,
        "failed": [{"sku": i["sku"], "aspect": i["aspect"], **(i["error"] or {})} for i in failed],
        "review": [{"sku": i["sku"], "aspect": i["aspect"], "job_id": i["job_id"]} for i in held],
        "rejected_rows": view["rejected_rows"],
        "credits": view["credits"],
        "cost_usd": view["cost_usd"],
        "out": str(out_dir.resolve()),
        "manifest": str((out_dir / "manifest.csv").resolve()),
        "zip": str((out_dir / "batch.zip").resolve()),
        "seconds": round(elapsed, 2),
        "clips_per_minute": round(made * 60 / elapsed, 2) if elapsed else None,
    }
    if as_json:
        print_json(summary)
    else:
        for f in summary["failed"]:
            message = escape(str(f.get("message")))
            code = escape(f"[{f.get('code')}]")
            err.print(f"[red]{escape(f['sku'])} {f['aspect']}[/] {code} {message}")
        out.print(
            f"{view['id']}: {made} clips of {view['total']} in {elapsed:.1f}s, "
            f"{len(failed)} failed, {len(held)} held for review (run again once decided), "
            f"{len(view['rejected_rows'])} rows rejected"
        )
        out.print(summary["manifest"], highlight=False, soft_wrap=True)
    if failed or held or view["rejected_rows"]:
        raise typer.Exit(1)


def _batch_id(data: bytes, options: batches.BatchOptions) -> str:
    """The same catalogue with the same options is the same batch (a rerun resumes it)."""
    digest = hashlib.sha256(data)
    digest.update(
        repr(
            (
                options.template,
                [a.value for a in options.aspects],
                options.resolution.value,
                options.length,
                options.model,
            )
        ).encode()
    )
    return "cb_" + digest.hexdigest()[:16]


def _follow(
    p: Any, account: Any, batch_id: str, source: batches.ImageSource, workers: int
) -> dict[str, Any]:
    """Submit what is pending and follow the batch to its end with a progress bar."""
    progress = Progress(
        TextColumn("[bold]{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=err,
    )
    with progress:
        view = batches.batch_view(p, account, batch_id, items=False)
        total = view["total"]
        submitted = progress.add_task("submitted", total=total, note="")
        finished = progress.add_task("rendered", total=total, note="")
        progress.update(submitted, completed=total - view["counts"]["pending"])

        def on_item(item: dict[str, Any]) -> None:
            progress.advance(submitted)
            progress.update(submitted, note=f"{item['sku']} {item['aspect']}")

        ahead = 4 * workers + 8  # submitted but not rendered yet: enough to keep them busy
        while True:  # submit in slices while the worker renders, until all is final
            view = batches.refresh(p, account, batch_id, items=False)
            waiting = view["counts"]["queued"]
            handled = 0
            if view["counts"]["pending"] and waiting < ahead:
                handled = batches.submit_pending(
                    p, account, batch_id, source, limit=ahead - waiting, on_item=on_item
                )
            done = view["counts"]["succeeded"] + view["counts"]["failed"]
            progress.update(finished, completed=done, note=f"{view['counts']['failed']} failed")
            if view["status"] == "done":
                return batches.batch_view(p, account, batch_id)
            if not handled:
                time.sleep(0.2)


@app.command("brand")
def brand(
    primary: Annotated[str | None, typer.Option(help="Primary colour, #rrggbb.")] = None,
    accent: Annotated[str | None, typer.Option(help="Accent colour, #rrggbb.")] = None,
    text: Annotated[str | None, typer.Option(help="Text colour, #rrggbb.")] = None,
    background: Annotated[str | None, typer.Option(help="Background colour, #rrggbb.")] = None,
    font: Annotated[str | None, typer.Option(help="A shipped font family (noto-sans).")] = None,
    tagline: Annotated[str | None, typer.Option(help="Tagline on the end card.")] = None,
    cta: Annotated[str | None, typer.Option(help="Call to action.")] = None,
    logo: Annotated[Path | None, typer.Option(help="Logo image file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the brand kit, or change the fields given."""
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("primary_color", primary),
            ("accent_color", accent),
            ("text_color", text),
            ("background_color", background),
            ("font", font),
            ("tagline", tagline),
            ("cta", cta),
        )
        if v is not None
    }
    with platform() as p:
        account = accounts.ensure_account(p, accounts.LOCAL_ACCOUNT)
        try:
            if logo is not None:
                changes["logo"] = create_upload(p, account, logo.read_bytes(), logo.name).id
            kit = set_brand(p, account, changes) if changes else get_brand(p, account)
        except OSError as exc:
            raise fail(ReelforgeError(f"cannot read {logo}: {exc.strerror}")) from None
        except ReelforgeError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(kit.to_dict())
    else:
        for key, value in kit.to_dict().items():
            if key != "object":
                out.print(f"{key:<17} {escape(str(value))}")
