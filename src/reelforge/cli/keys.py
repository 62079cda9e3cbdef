"""`reelforge keys`: API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from reelforge.cli.common import JsonOpt, err, out, platform, print_json
from reelforge.services.accounts import accounts

app = typer.Typer(help="API keys.", no_args_is_help=True)


@app.command("create")
def create(
    account: Annotated[str, typer.Option("--account", help="Account name.")],
    label: Annotated[str | None, typer.Option(help="A note for this key.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="The account may use /v1/admin.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key (the account is created if new). The key is shown once."""
    with platform() as p:
        new = accounts.create_api_key(p, account, label, admin=True if admin else None)
    if as_json:
        print_json(
            {
                "key": new.key,
                "key_id": new.key_id,
                "account": new.account.name,
                "account_id": new.account.id,
                "webhook_secret": new.webhook_secret,
                "admin": new.account.is_admin,
            }
        )
    else:
        out.print(new.key, highlight=False)
        err.print(
            f"account {new.account.name} ({new.account.id}); key id {new.key_id}; "
            f"webhook secret {new.webhook_secret}",
            highlight=False,
        )


@app.command("revoke")
def revoke(key_id: str) -> None:
    """Revoke an API key by its id."""
    with platform() as p:
        accounts.revoke_api_key(p, key_id)
    out.print(f"revoked {key_id}")
