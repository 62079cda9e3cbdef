"""`reelforge jobs`: list, show and cancel an account's jobs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from reelforge.cli.common import AccountOpt, JsonOpt, out, platform, print_json
from reelforge.services import accounts, jobs

app = typer.Typer(help="Inspect and cancel jobs.", no_args_is_help=True)


@app.command("list")
def list_(account: AccountOpt = accounts.LOCAL_ACCOUNT,
          status: Annotated[str | None, typer.Option(help="Filter by status.")] = None,
          limit: Annotated[int, typer.Option(help="How many.")] = 20,
          as_json: JsonOpt = False) -> None:
    """List an account's jobs, newest first."""
    with platform() as p:
        page = jobs.list_jobs(p, accounts.ensure_account(p, account), status=status, limit=limit)
    if as_json:
        print_json(page)
        return
    table = Table("id", "status", "model", "progress", "created", "error")
    for j in page["data"]:
        table.add_row(j["id"], j["status"], j["model"], f"{j['progress']:.0%}", j["created_at"],
                      (j["error"] or {}).get("code", ""))
    out.print(table)


@app.command("show")
def show(job_id: str, account: AccountOpt = accounts.LOCAL_ACCOUNT,
         as_json: JsonOpt = False) -> None:
    """Show one job."""
    with platform() as p:
        job = jobs.get_job(p, accounts.ensure_account(p, account), job_id)
    if as_json:
        print_json(job)
    else:
        out.print_json(data=job)


@app.command("cancel")
def cancel(job_id: str, account: AccountOpt = accounts.LOCAL_ACCOUNT,
           as_json: JsonOpt = False) -> None:
    """Cancel a queued or running job."""
    with platform() as p:
        job = jobs.cancel_job(p, accounts.ensure_account(p, account), job_id)
    if as_json:
        print_json(job)
    else:
        out.print(f"{job_id}: {job['status']}"
                  + (" (stopping at the next step)" if job["status"] == "running" else ""))
