"""`reelforge verify FILE` and `reelforge provenance init`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelforge.cli.common import JsonOpt, fail, out, platform, print_json
from reelforge.errors import ReelforgeError

app = typer.Typer(help="Provenance credentials.", no_args_is_help=True)


def verify(
    file: Annotated[Path, typer.Argument(help="A video file (MP4, MOV, WebM, ...).")],
    trust: Annotated[
        Path | None,
        typer.Option(help="PEM root certificates to trust for C2PA (default: this deployment's)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read the visible label, AIGC metadata, watermark and C2PA manifest of a file."""
    from reelforge.services.provenance.marking import verify as verify_marks

    with platform() as p:
        try:
            result = verify_marks(p, file, trust)
        except ReelforgeError as exc:
            raise fail(exc) from None
    if as_json:
        print_json(result)
        return
    label, wm, c2pa, aigc = (
        result["visible_label"],
        result["watermark"],
        result["c2pa"],
        result["aigc"],
    )
    out.print(f"verdict: [bold]{result['verdict']}[/]")
    out.print(
        f"visible label: {label['text'] if label['found'] else 'none'} (score {label['score']})"
    )
    out.print(f"AIGC metadata: {'none' if aigc is None else aigc}", highlight=False)
    out.print(
        f"watermark: {'payload ' + wm['payload'] if wm['found'] else 'none'} "
        f"(bit accuracy {wm['bit_accuracy']})"
    )
    state = "none" if not c2pa["present"] else ("valid" if c2pa["valid"] else "INVALID")
    out.print(
        f"C2PA: {state}{', trusted' if c2pa.get('trusted') else ''}; "
        f"{c2pa['digital_source_type']}; errors: {c2pa['errors'] or 'none'}",
        highlight=False,
    )


@app.command("init")
def init(
    force: Annotated[bool, typer.Option("--force", help="Replace existing ones.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The deployment's development C2PA authority (a local root CA and an end-entity signer),
    kept in the database for every node and copied into this node's data directory; --force
    replaces it (outputs signed before then are no longer trusted)."""
    from reelforge.services.provenance.marking import dev_credentials

    with platform() as p:
        creds, created = dev_credentials(p, force=force)
    view = {
        "root": str(creds.root_cert),
        "chain": str(creds.cert_chain),
        "key": str(creds.private_key),
    }
    if as_json:
        print_json({**view, "created": created})
    else:
        out.print(
            f"{'created' if created else 'kept existing'} development credentials (the "
            f"deployment's, in its database; a copy in {creds.cert_chain.parent}, trust "
            f"root {creds.root_cert.name}): set RF_C2PA_CERT_CHAIN, RF_C2PA_PRIVATE_KEY and "
            f"RF_C2PA_TRUST_ANCHORS to an operator's certificate for production",
            highlight=False,
            soft_wrap=True,
        )


@app.command("allow-unlabelled")
def allow_unlabelled(
    account: Annotated[str, typer.Option(help="Account name.")],
    revoke: Annotated[bool, typer.Option("--revoke")] = False,
) -> None:
    """Record that an account agreed to label what it exports without the visible label
    (used only where the policy profile allows unlabelled export; each export is audited)."""
    from reelforge.services.provenance.marking import record_unlabelled_duties

    with platform() as p:
        record_unlabelled_duties(p, account, agreed=not revoke)
    out.print(f"{account}: unlabelled export {'not agreed' if revoke else 'agreed'}")
