"""`reelforge fsck`: check the blob store against the database (and mark damaged outputs)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from reelforge.cli.common import JsonOpt, out, platform, print_json
from reelforge.services.jobs.fsck import fsck as run_fsck


def fsck(
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Mark jobs whose output is missing or damaged (they answer 410 "
            "output_missing / output_damaged and leave the result cache); "
            "unmark restored ones.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Walk the blob store against the database: missing blobs, size and SHA-256 mismatches,
    orphans and partial writes. Exits 1 while a live blob is missing or damaged."""
    with platform() as p:
        report = run_fsck(p, repair=repair)
    if as_json:
        print_json(report.to_dict())
    else:
        data = report.to_dict()
        out.print(
            f"checked {report.checked} live blob(s); the store holds {report.stored}; "
            + ", ".join(f"{k} {v}" for k, v in data["counts"].items()),
            highlight=False,
        )
        if report.findings:
            table = Table("kind", "blob", "jobs", "uploads", "expected", "stored")
            for f in report.findings:
                table.add_row(
                    f.kind,
                    escape(f.key),
                    ", ".join(f.jobs),
                    ", ".join(f.uploads),
                    "" if f.expected_size is None else str(f.expected_size),
                    "" if f.stored_size is None else str(f.stored_size),
                )
            out.print(table)
        verb = "marked" if repair else "would mark (run with --repair)"
        if report.marked:
            out.print(
                f"{verb} {len(report.marked)} job(s) damaged: {', '.join(report.marked)}",
                highlight=False,
            )
        if report.unmarked:
            verb = "unmarked" if repair else "would unmark (run with --repair)"
            out.print(
                f"{verb} {len(report.unmarked)} restored job(s): {', '.join(report.unmarked)}",
                highlight=False,
            )
    if not report.ok:
        raise typer.Exit(1)
