"""`reelforge policy`, `reelforge likeness`, `reelforge reviews`, `reelforge audit`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reelforge.cli.common import JsonOpt, err, fail, out, platform, print_json
from reelforge.config import Settings
from reelforge.errors import InvalidImage, InvalidRequest
from reelforge.services.accounts import accounts
from reelforge.services.governance import audit, likeness, reviews
from reelforge.services.governance.moderation import check_prompts

policy_app = typer.Typer(help="Check prompts against a policy profile.", no_args_is_help=True)
likeness_app = typer.Typer(help="The likeness consent registry.", no_args_is_help=True)
reviews_app = typer.Typer(help="The human review queue.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)

OPERATOR = accounts.AccountRef("operator", "operator (cli)", is_admin=True)


@policy_app.command("check")
def check(
    texts: Annotated[list[str] | None, typer.Argument(help="Prompts to check.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="One prompt per line.")] = None,
    profile: Annotated[
        str | None,
        typer.Option(help="default, cn, eu or an operator's profile (default: RF_POLICY_PROFILE)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the decision for each prompt: {"text", "decision", "categories", "rule",
    "stage", "band", "scores", "stages", "language"} — the stage that decided (rules, minilm,
    guard, language, ...), which band the deciding score fell in (block, review, band,
    language), the highest score per category and per stage."""
    prompts = list(texts or [])
    if file is not None:
        try:
            prompts += [
                line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(InvalidRequest(f"cannot read {file}: {exc}", field="file")) from None
    if not prompts:
        raise fail(InvalidRequest("give prompts or --file"))
    try:
        decisions = check_prompts(Settings(), profile, prompts)
    except InvalidRequest as exc:
        raise fail(exc) from None
    table = Table("decision", "categories", "stage", "rule", "text")
    for prompt, decision in zip(prompts, decisions, strict=True):
        row = {
            "text": prompt,
            "decision": str(decision.decision),
            "categories": decision.categories,
            "rule": decision.rule,
            "stage": decision.stage,
            "band": decision.band,
            "scores": decision.scores,
            "stages": decision.stage_scores,
            "language": decision.language,
        }
        if as_json:
            print_json(row)
        else:
            table.add_row(
                str(decision.decision),
                ", ".join(decision.categories) or "-",
                decision.stage or "-",
                decision.rule or "-",
                prompt,
            )
    if not as_json:
        out.print(table)


@likeness_app.command("enroll")
def enroll(
    photos: Annotated[list[Path], typer.Argument(help="Reference photos, one face each.")],
    name: Annotated[str, typer.Option(help="The person's name.")],
    public_figure: Annotated[
        bool, typer.Option("--public-figure", help="Blocked for everyone unless they consent.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Register a person (faces are kept as embeddings, not photos)."""
    data = []
    for path in photos:
        try:
            data.append(path.read_bytes())
        except OSError as exc:
            raise fail(InvalidImage(f"cannot read {path}: {exc.strerror}")) from None
    with platform() as p:
        person = likeness.enroll(p, name, data, public_figure=public_figure)
    if as_json:
        print_json(person)
    else:
        out.print(f"{person['id']} {person['name']}")


def _consent(person_id: str, account: str | None, everyone: bool, grant: bool) -> None:
    if (account is None) == (not everyone):
        raise fail(InvalidRequest("give --account NAME or --everyone"))
    with platform() as p:
        change = likeness.grant if grant else likeness.revoke
        person = change(p, person_id, account)
    out.print(f"{person['id']} consent: {', '.join(person['consent']) or 'nobody'}")


@likeness_app.command("grant")
def grant(
    person_id: str,
    account: Annotated[str | None, typer.Option(help="Account name or id.")] = None,
    everyone: Annotated[bool, typer.Option("--everyone")] = False,
) -> None:
    """Consent to the use of a person's likeness by one account, or by everyone."""
    _consent(person_id, account, everyone, grant=True)


@likeness_app.command("revoke")
def revoke(
    person_id: str,
    account: Annotated[str | None, typer.Option(help="Account name or id.")] = None,
    everyone: Annotated[bool, typer.Option("--everyone")] = False,
) -> None:
    """Withdraw consent; it applies to every job submitted from now on."""
    _consent(person_id, account, everyone, grant=False)


@likeness_app.command("list")
def list_people(as_json: JsonOpt = False) -> None:
    with platform() as p:
        people = likeness.list_people(p)
    if as_json:
        print_json({"object": "list", "data": people})
        return
    table = Table("id", "name", "public figure", "faces", "consent")
    for person in people:
        table.add_row(
            person["id"],
            person["name"],
            str(person["public_figure"]),
            str(person["faces"]),
            ", ".join(person["consent"]) or "-",
        )
    out.print(table)


@reviews_app.command("list")
def list_reviews(
    status: Annotated[str, typer.Option(help="pending, approved, rejected.")] = "pending",
    as_json: JsonOpt = False,
) -> None:
    with platform() as p:
        rows = reviews.list_reviews(p, status)
    if as_json:
        print_json({"object": "list", "data": rows})
        return
    table = Table("id", "job", "kind", "stage", "categories", "waiting s", "message")
    for r in rows:
        table.add_row(
            r["id"],
            r["job_id"],
            r["kind"],
            r["stage"],
            ", ".join(r["categories"]),
            f"{r['waiting_seconds']:.0f}",
            r["message"] or "-",
        )
    out.print(table)


@reviews_app.command("approve")
def approve(review_id: str, note: Annotated[str | None, typer.Option()] = None) -> None:
    with platform() as p:
        r = reviews.decide(p, review_id, approve=True, reviewer=OPERATOR, note=note)
    out.print(f"{r['id']} approved ({r['job_id']})")


@reviews_app.command("reject")
def reject(review_id: str, note: Annotated[str | None, typer.Option()] = None) -> None:
    with platform() as p:
        r = reviews.decide(p, review_id, approve=False, reviewer=OPERATOR, note=note)
    out.print(f"{r['id']} rejected ({r['job_id']})")


@audit_app.command("export")
def export(
    since: Annotated[datetime | None, typer.Option(help="ISO date/time (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="ISO date/time (UTC).")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
) -> None:
    """Every audit entry as JSON lines, oldest first."""
    from datetime import UTC

    since = since.replace(tzinfo=since.tzinfo or UTC) if since else None
    until = until.replace(tzinfo=until.tzinfo or UTC) if until else None
    with platform() as p:
        lines = list(audit.export_jsonl(p, since=since, until=until))
    if out_path is None:
        sys.stdout.write("".join(f"{line}\n" for line in lines))
    else:
        out_path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        err.print(f"{len(lines)} entries → {out_path}")


@audit_app.command("purge")
def purge() -> None:
    """Delete entries older than RF_AUDIT_RETENTION_DAYS (at least 180)."""
    with platform() as p:
        removed = audit.purge(p, p.clock())
    out.print(f"removed {removed} entries")
