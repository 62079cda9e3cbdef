"""The `reelforge` command. Each module adds commands; they translate arguments into service
calls and print results, nothing more."""

from __future__ import annotations

from typing import Annotated

import typer

from reelforge import logs
from reelforge.cli import (
    billing,
    commerce,
    fsck,
    generate,
    governance,
    guards,
    jobs,
    keys,
    models,
    plan,
    provenance,
    report,
    serve,
)
from reelforge.cli.common import fail
from reelforge.config import load_settings
from reelforge.errors import ReelforgeError

app = typer.Typer(
    help="reelforge: self-hostable AI video generation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _main(log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "warning") -> None:
    try:  # a bad setting is one line naming the variable, whichever command meets it
        settings = load_settings()
    except ReelforgeError as exc:
        logs.configure(log_level)
        raise fail(exc) from None
    # RF_LOG_FORMAT=json: JSON lines; every line masks the secrets' values
    logs.configure(log_level, settings.log_format, secrets=settings.secret_values())


app.command()(generate.generate)
app.command()(generate.demo)
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(serve.migrate)
app.command("config")(serve.show_config)
app.add_typer(keys.app, name="keys")
app.add_typer(jobs.app, name="jobs")
app.add_typer(models.app, name="models")
app.add_typer(governance.policy_app, name="policy")
app.add_typer(governance.likeness_app, name="likeness")
app.add_typer(governance.reviews_app, name="reviews")
app.add_typer(governance.audit_app, name="audit")
app.add_typer(guards.app, name="guards")
app.command()(provenance.verify)
app.add_typer(provenance.app, name="provenance")
app.command("report")(report.report)
app.add_typer(billing.app, name="accounts")
app.command("quote")(billing.quote)
app.command("simulate")(billing.simulate)
app.command("plan")(plan.plan)
app.command("fsck")(fsck.fsck)
app.add_typer(commerce.app, name="commerce")

sample_image = generate.sample_image


def main() -> None:
    app()
