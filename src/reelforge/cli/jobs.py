"""`reelforge jobs`: list, show, cancel, delete and download an account's jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from reelforge.cli.common import AccountOpt, JsonOpt, err, out, platform, print_json
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.shapes import Video, VideoList, public

app = typer.Typer(help="Inspect, cancel, delete and download jobs.", no_args_is_help=True)


@app.command("list")
def list_(
    account: AccountOpt = accounts.LOCAL_ACCOUNT,
    status: Annotated[str | None, typer.Option(help="Filter by status.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List an account's jobs, newest first."""
    with platform() as p:
        page = queries.list_jobs(p, accounts.ensure_account(p, account), status=status, limit=limit)
    if as_json:
        print_json(public(VideoList, page))  # the API's JSON (services/jobs/shapes.py)
        return
    table = Table("id", "status", "model", "progress", "created", "error")
    for j in page["data"]:
        table.add_row(
            j["id"],
            j["status"],
            j["model"],
            f"{j['progress']:.0%}",
            j["created_at"],
            (j["error"] or {}).get("code", ""),
        )
    out.print(table)


@app.command("show")
def show(
    job_id: str, account: AccountOpt = accounts.LOCAL_ACCOUNT, as_json: JsonOpt = False
) -> None:
    """Show one job."""
    with platform() as p:
        job = queries.get_job(p, accounts.ensure_account(p, account), job_id)
    if as_json:
        print_json(public(Video, job))
    else:
        out.print_json(data=job)


@app.command("cancel")
def cancel(
    job_id: str, account: AccountOpt = accounts.LOCAL_ACCOUNT, as_json: JsonOpt = False
) -> None:
    """Cancel a queued or running job."""
    with platform() as p:
        job = queries.cancel_job(p, accounts.ensure_account(p, account), job_id)
    if as_json:
        print_json(public(Video, job))
    else:
        out.print(
            f"{job_id}: {job['status']}"
            + (" (stopping at the next step)" if job["status"] == "running" else "")
        )


@app.command("delete")
def delete(
    job_id: str, account: AccountOpt = accounts.LOCAL_ACCOUNT, as_json: JsonOpt = False
) -> None:
    """Delete a job's video and poster (the job stays in the history, marked deleted)."""
    with platform() as p:
        job = queries.delete_job(p, accounts.ensure_account(p, account), job_id)
    if as_json:
        print_json(public(Video, job))
    else:
        out.print(f"{escape(job_id)}: deleted ({job['status']})", highlight=False)


@app.command("download")
def download(
    job_id: str,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write it (default: ./ID.mp4).")
    ] = None,
    poster: Annotated[bool, typer.Option(help="The JPEG poster instead.")] = False,
    account: AccountOpt = accounts.LOCAL_ACCOUNT,
    as_json: JsonOpt = False,
) -> None:
    """Download a succeeded job's MP4 (whole file or nothing), with a progress bar."""
    dest = out_file or Path(f"{job_id}.{'jpg' if poster else 'mp4'}")
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    )
    with platform() as p, progress:
        task = progress.add_task(escape(dest.name), total=None)
        content = queries.save_content(
            p,
            accounts.ensure_account(p, account),
            job_id,
            dest,
            poster=poster,
            on_start=lambda size: progress.update(task, total=size),
            on_chunk=lambda n: progress.advance(task, n),
        )
    if as_json:
        print_json(
            {
                "id": job_id,
                "path": str(dest),
                "size_bytes": content.size,
                "content_type": content.content_type,
            }
        )
    else:
        out.print(f"{escape(str(dest))} ({content.size:,} bytes)", highlight=False)
