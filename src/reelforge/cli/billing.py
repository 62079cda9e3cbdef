"""`reelforge accounts ...` (plans, credits, budgets, invoices) and `reelforge quote`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from reelforge.cli.common import JsonOpt, err, fail, out, platform, print_json
from reelforge.domain.money import usd_text
from reelforge.domain.spec import AspectRatio, Mode, Preset, Resolution
from reelforge.errors import InvalidRequest, ReelforgeError
from reelforge.services.accounts import accounts, signin
from reelforge.services.billing import customers, quotes
from reelforge.services.jobs.submit import SubmitRequest

app = typer.Typer(
    help="Accounts as customers: plans, credits, budgets, invoices.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Account name.")]


def _whole(value: str, field: str) -> int:
    """A whole number from the command line, refused with a code otherwise (1.5, -3, x)."""
    text = value.strip()
    if not text.lstrip("-").isdigit():
        raise fail(
            InvalidRequest(
                f"{field} must be a whole number, not {value!r}", code="invalid_amount", field=field
            )
        )
    return int(text)


def _show(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    bal = summary["balance"]
    out.print(
        f"[bold]{summary['name']}[/] ({summary['id']}) plan [bold]{summary['plan']}[/]"
        f" ({summary['plan_source']}), segment {summary['segment']}",
        highlight=False,
    )
    out.print(
        f"available {bal['available']} credits, held {bal['held']}"
        + (f", postpaid owed {bal['postpaid_owed']}" if summary["postpaid"] else "")
        + f"; spent today {summary['spent']['today']}, this month "
        f"{summary['spent']['month']}",
        highlight=False,
    )
    out.print(
        f"priority {summary['priority']}, concurrency {summary['concurrency']}, "
        f"{summary['requests_per_minute']} requests/min; {_budgets(summary['budgets'])}",
        highlight=False,
        soft_wrap=True,
    )
    if bal["lots"]:
        table = Table("lot", "source", "granted", "left", "expires")
        for lot in bal["lots"]:
            table.add_row(
                lot["id"],
                lot["source"],
                str(lot["granted"]),
                str(lot["left"]),
                lot["expires_at"] or "never",
            )
        out.print(table)


def _budgets(budgets: dict[str, Any]) -> str:
    """`budget daily 300 credits, monthly no limit`, `no budget` when neither is set; then
    each key's own (`key KEY daily ...`)."""

    def limits(b: dict[str, Any]) -> str:
        return ", ".join(
            f"{period} {'no limit' if b.get(period) is None else f'{b[period]} credits'}"
            for period in ("daily", "monthly")
        )

    none = budgets.get("daily") is None and budgets.get("monthly") is None
    return "; ".join(
        ["no budget" if none else f"budget {limits(budgets)}"]
        + [f"key {key} {limits(b)}" for key, b in (budgets.get("keys") or {}).items()]
    )


@app.command("create")
def create(
    name: NameArg,
    plan: Annotated[str | None, typer.Option(help="Plan (default: free).")] = None,
    segment: Annotated[str, typer.Option(help="creator, merchant or enterprise.")] = "creator",
    admin: Annotated[bool, typer.Option("--admin", help="May use /v1/admin.")] = False,
    email: Annotated[
        str | None,
        typer.Option(help="E-mail to sign in with in the browser (with --password-stdin)."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the sign-in password from standard input."),
    ] = False,
    operator: Annotated[
        bool, typer.Option("--operator", help="Operator role: the web console and /v1/admin.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create an account (then `reelforge keys create --account NAME` for a key); with
    --email and --password-stdin it can also sign in to the web studio."""
    if (email is None) != (not password_stdin):
        raise fail(
            InvalidRequest(
                "--email and --password-stdin go together", code="invalid_request", field="email"
            )
        )
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else ""
    with platform() as p:
        if email is not None:
            _show(
                signin.create_with_login(
                    p, name, email, password, plan=plan, segment=segment, operator=admin or operator
                ),
                as_json,
            )
        else:
            _show(
                customers.create(p, name, plan=plan, segment=segment, admin=admin or operator),
                as_json,
            )


@app.command("show")
def show(name: NameArg, as_json: JsonOpt = False) -> None:
    """Plan, balance by lot, spend and budgets."""
    with platform() as p:
        _show(customers.account_summary(p, name), as_json)


@app.command("grant")
def grant(
    name: NameArg,
    credits: Annotated[str, typer.Argument(help="Whole credits to add.")],
    days: Annotated[
        int | None, typer.Option(help="Valid for this many days (default: the top-up validity).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the ledger).")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Repeating it grants once.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add credits to an account."""
    amount = _whole(credits, "credits")
    with platform() as p:
        result = customers.grant(
            p, name, amount, days=days, reason=reason, idempotency_key=idempotency_key
        )
    granted = result["granted"]
    if as_json:
        print_json(result)
    elif granted["repeated"]:
        err.print(
            f"granted nothing: idempotency key {idempotency_key!r} was used before "
            f"({granted['first_credits']} credits, {granted['lot']})",
            highlight=False,
            markup=False,
        )
        _show(result, False)
    else:
        err.print(f"granted {amount} credits ({granted['lot']})", highlight=False)
        _show(result, False)


@app.command("set-plan")
def set_plan(
    name: NameArg, plan: Annotated[str, typer.Argument(help="Plan name.")], as_json: JsonOpt = False
) -> None:
    """Move an account to a plan (managed by the operator, not Stripe)."""
    with platform() as p:
        _show(customers.set_plan(p, name, plan), as_json)


@app.command("segment")
def set_segment(
    name: NameArg,
    segment: Annotated[str, typer.Argument(help="creator, merchant, enterprise")],
    as_json: JsonOpt = False,
) -> None:
    """Say which kind of customer an account is (the KPI report splits usage by it)."""
    with platform() as p:
        _show(customers.set_segment(p, name, segment), as_json)


@app.command("budget")
def budget(
    name: NameArg,
    daily: Annotated[str | None, typer.Option(help="Credits per UTC day.")] = None,
    monthly: Annotated[str | None, typer.Option(help="Credits per month.")] = None,
    key: Annotated[str | None, typer.Option(help="A key id: budget that key only.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the limits.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set the organisation's (or one key's) credit budget per day and month."""
    d = _whole(daily, "daily") if daily is not None else None
    m = _whole(monthly, "monthly") if monthly is not None else None
    with platform() as p:
        _show(customers.set_budget(p, name, daily=d, monthly=m, key_id=key, clear=clear), as_json)


@app.command("invoice")
def invoice(
    name: NameArg,
    month: Annotated[str | None, typer.Option(help="YYYY-MM (default: this month)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Invoice a postpaid (enterprise) account for the credits it used."""
    with platform() as p:
        result = customers.invoice(p, name, month=month)
    if as_json:
        print_json(result)
    else:
        out.print(
            f"{result['id']}: {result['credits']} credits, {usd_text(result['amount_usd'])}",
            highlight=False,
        )


def quote(
    model: Annotated[str | None, typer.Option(help="Model name (default: by mode).")] = None,
    mode: Annotated[Mode | None, typer.Option(help="text2video, image2video, ...")] = None,
    duration: Annotated[float, typer.Option(help="Seconds.")] = 5.0,
    resolution: Annotated[Resolution, typer.Option(help="480p, 720p or 1080p.")] = Resolution.P720,
    aspect: Annotated[AspectRatio, typer.Option(help="Aspect ratio.")] = AspectRatio.LANDSCAPE,
    preset: Annotated[Preset | None, typer.Option(help="draft or final.")] = None,
    frames: Annotated[int | None, typer.Option(help="Frame count.")] = None,
    fps: Annotated[int | None, typer.Option(help="Frames per second.")] = None,
    prompt: Annotated[str, typer.Option(help="Prompt (text2video needs one).")] = "a quote",
    account: Annotated[
        str, typer.Option("--account", help="Account name.")
    ] = accounts.LOCAL_ACCOUNT,
    as_json: JsonOpt = False,
) -> None:
    """Credits and estimated cost of a request, before submitting it."""
    fields: dict[str, Any] = {
        "prompt": prompt,
        "duration": duration,
        "resolution": resolution,
        "aspect_ratio": aspect,
    }
    for key, value in (
        ("model", model),
        ("mode", mode),
        ("preset", preset),
        ("frames", frames),
        ("fps", fps),
    ):
        if value is not None:
            fields[key] = value
    if mode is None and model is None:
        fields["mode"] = Mode.IMAGE2VIDEO  # the built-in motion backend animates an image
    with platform() as p:
        result = quotes.quote(p, accounts.ensure_account(p, account), SubmitRequest.parse(fields))
    if as_json:
        print_json(result)
        return
    cost = result["estimated_cost_usd"]
    out.print(
        f"{result['model']} {result['resolution']} {result['duration']}s "
        f"{result['preset']}: [bold]{result['credits']} credits[/]"
        + (
            f", about {result['estimated_device_seconds']:.1f} device s "
            f"({usd_text(cost)}, {result['estimate_basis']})"
            if cost is not None
            else ""
        )
        + f"; balance {result['balance']}",
        highlight=False,
    )
    if not result.get("registered", True):
        out.print(f"note: {result['note']}", highlight=False, markup=False)


def simulate(
    users: Annotated[int, typer.Option("--users", help="Synthetic users.")] = 1000,
    days: Annotated[int, typer.Option("--days", help="Days simulated (ending today).")] = 90,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same population.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Drive a synthetic population through the real service layer on a simulated clock
    (jobs run on a simulated device); every record it makes is marked simulated. Then:
    `reelforge report --simulated`."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from reelforge.config import Settings
    from reelforge.simulation.simulate import SimClock, Simulation, simulation_platform

    clock = SimClock(datetime.now(UTC))
    p = simulation_platform(Settings(), clock)
    try:
        sim = Simulation(p, clock, users=users, days=days, seed=seed)
        progress = Progress(
            TextColumn("[bold]simulating"),
            BarColumn(),
            TextColumn("day {task.completed:.0f}/{task.total:.0f}"),
            TimeElapsedColumn(),
            console=err,
        )
        with progress:
            bar = progress.add_task("days", total=days)
            result = sim.run_all(lambda day: progress.update(bar, completed=day + 1))
    except ReelforgeError as exc:
        raise fail(exc) from None
    finally:
        p.close()
    if as_json:
        print_json(result)
        return
    out.print(
        f"simulated {users} users over {days} days (run {result['run']}) in {result['seconds']} s",
        highlight=False,
    )
    table = Table("what", "count")
    for key, value in result["counts"].items():
        table.add_row(key, str(value))
    out.print(table)
    out.print("see the numbers with `reelforge report --simulated`")
