"""The batch use cases behind HTTP (api/routes/commerce.py): start a batch from a catalogue
sent in the request, advance it (submit what is pending, read outcomes), and build its zip.

Submitting runs on a helper thread after the batch is written, so the request answers at
once; a status read also submits a slice of what is pending, so a batch whose helper died
with its process goes on when someone looks at it (the external id per item keeps a clip
from being made twice).
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from reelforge.app.platform import Platform
from reelforge.commerce import batch as batches
from reelforge.commerce.catalog import read_catalog
from reelforge.commerce.sources import api_source, checker
from reelforge.domain.account import AccountRef
from reelforge.domain.spec import Resolution
from reelforge.errors import CapabilityMissing, InvalidRequest
from reelforge.services.jobs import queries

log = logging.getLogger(__name__)
SLICE = 20  # pending items a status read submits
STREAM_POLL_S = 1.0  # how often a progress stream reads the batch
PROGRESS_KEYS = ("id", "status", "total", "counts", "progress", "credits", "cost_usd")


def start_batch(p: Platform, account: AccountRef, body: dict[str, Any]) -> dict[str, Any]:
    """Validate the options and the catalogue, write the batch, submit on a helper thread."""
    known = {"catalog", "catalog_name", "template", "aspects", "resolution", "length", "model"}
    for key, value in body.items():
        if key not in known | {"batch_id"}:
            raise InvalidRequest(f"unknown field {key!r}", code="unknown_field", field=key)
        if key != "aspects" and value is not None and not isinstance(value, str):
            raise InvalidRequest(f"{key} must be a string", field=key)
    aspects = body.get("aspects", "9:16,1:1,16:9")
    if isinstance(aspects, list):
        aspects = ",".join(str(a) for a in aspects)
    try:
        resolution = Resolution(str(body.get("resolution", "720p")))
    except ValueError:
        raise InvalidRequest("resolution is 480p, 720p or 1080p", field="resolution") from None
    options = batches.BatchOptions(
        template=str(body.get("template", "showcase")),
        aspects=batches.parse_aspects(str(aspects)),
        resolution=resolution,
        length=str(body.get("length", "standard")),
        model=body.get("model"),
    )
    options.check()
    model = body.get("model")
    if model is not None and p.backends.get(model) is None:  # before the batch is written
        raise CapabilityMissing(
            f"unknown model {model!r}; available: {', '.join(p.backends.names()) or 'none'}",
            code="unknown_model",
            field="model",
        )
    text = body.get("catalog")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("catalog is the CSV or JSON text of the catalogue", field="catalog")
    source = api_source(p, account.id)
    name = str(body.get("catalog_name") or "catalog.csv")[:200]
    catalog = read_catalog(text.encode(), name, check_image=checker(p, source))
    view = batches.create_batch(
        p, account, catalog, options, catalog_name=name, batch_id=body.get("batch_id")
    )
    threading.Thread(
        target=_submit_all, args=(p, account, view["id"]), name="commerce-submit", daemon=True
    ).start()
    return view


def _submit_all(p: Platform, account: AccountRef, batch_id: str) -> None:
    source = api_source(p, account.id)
    try:
        while batches.submit_pending(p, account, batch_id, source, limit=SLICE):
            pass
    except Exception:  # the next status read goes on from where this stopped
        log.exception("submitting batch %s stopped", batch_id)


def batch_status(
    p: Platform, account: AccountRef, batch_id: str, *, items: bool = True
) -> dict[str, Any]:
    batches.submit_pending(p, account, batch_id, api_source(p, account.id), limit=SLICE)
    return batches.refresh(p, account, batch_id, items=items)


def batch_zip(p: Platform, account: AccountRef, batch_id: str) -> Path:
    """A zip of the batch's clips so far and its manifest, in a temporary file the caller
    removes."""
    view = batches.refresh(p, account, batch_id)
    folder = Path(tempfile.mkdtemp(prefix="reelforge-batch-"))
    for item in view["items"]:
        if item["status"] == batches.SUCCEEDED:
            target = folder / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            p.blobs.download(queries.job_content(p, account, item["job_id"]).key, target)
    target = folder / f"{batch_id}.zip"
    batches.write_zip(view, folder, target)
    return target


def progress_of(view: dict[str, Any]) -> dict[str, Any]:
    """What a progress event carries (the stream adds the items that changed state)."""
    return {k: view[k] for k in PROGRESS_KEYS}
