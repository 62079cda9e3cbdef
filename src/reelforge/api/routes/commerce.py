"""/v1/commerce: promo clips for a catalogue (batches) and the account's brand kit."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from reelforge.api import schemas
from reelforge.api.deps import CurrentAccount, PlatformDep
from reelforge.api.params import BatchId
from reelforge.commerce import batch as batches
from reelforge.commerce import service
from reelforge.commerce.brand import get_brand, set_brand
from reelforge.services.jobs import event_streams

router = APIRouter(prefix="/v1/commerce", tags=["commerce"])

_BATCH_BODY = Body(
    ...,
    examples=[
        {
            "catalog": "sku,title,price,currency,images\nCUP-1,Espresso cup,12.50,EUR,"
            "upload:upl_...\n",
            "template": "showcase",
            "aspects": ["9:16", "1:1", "16:9"],
            "resolution": "720p",
        }
    ],
    description=(
        "catalog: the CSV or products JSON text (images as upload:<id> from POST /v1/uploads "
        "or https URLs); template: showcase, sale or sequence; aspects: 9:16, 1:1, 16:9; "
        "resolution; length: standard or short; batch_id: resume or name the batch."
    ),
)


# the bodies are parsed by the commerce services (their own field errors); documented here
_BATCH_FIELDS: dict[str, Any] = {
    "catalog": {
        "type": "string",
        "description": "The catalogue: CSV (sku,title,price,currency,images,...) or Shopify "
        "products JSON text; images as upload:<id> (POST /v1/uploads) or https URLs.",
    },
    "catalog_name": {
        "type": "string",
        "description": "The catalogue's file name (CSV or JSON is told by its content).",
    },
    "template": {"type": "string", "description": "showcase (default), sale or sequence."},
    "aspects": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
        "description": "Aspects to make, a list or comma-separated: 9:16, 1:1, 16:9 (default: "
        "all three).",
    },
    "resolution": {"type": "string", "description": "480p, 720p (default) or 1080p."},
    "length": {"type": "string", "description": "standard (default) or short."},
    "model": {
        "type": "string",
        "description": "An image-to-video model to animate the product photo (default: motion).",
    },
    "batch_id": {
        "type": "string",
        "description": "Name the batch, or the id of one to resume (its finished items stay).",
    },
}
_BRAND_FIELDS: dict[str, Any] = {
    **{
        name: {"type": "string", "description": f"{name.replace('_', ' ')}, #rrggbb."}
        for name in ("primary_color", "accent_color", "text_color", "background_color")
    },
    "font": {"type": "string", "description": "One of the shipped fonts (noto-sans, ...)."},
    "tagline": {"type": ["string", "null"], "description": "1-200 characters; null: none."},
    "cta": {"type": ["string", "null"], "description": "Call to action, 1-80 characters."},
    "logo": {
        "type": ["string", "null"],
        "description": "An upload id of the account (POST /v1/uploads); null: no logo.",
    },
}


def _json_body(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": fields, "required": required}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


@router.post(
    "/batches",
    status_code=202,
    response_model=schemas.CommerceBatch,
    openapi_extra=_json_body(_BATCH_FIELDS, ["catalog"]),
)
async def create_batch(
    p: PlatformDep, account: CurrentAccount, body: dict[str, Any] = _BATCH_BODY
) -> dict[str, Any]:
    """Start a batch: every valid product in every aspect, each clip an ordinary job. Bad
    rows are listed in `rejected_rows`; the rest is submitted in the background."""
    return await run_in_threadpool(service.start_batch, p, account, body)


@router.get("/batches", response_model=schemas.CommerceBatchList)
def list_batches(p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    return {"object": "list", "data": batches.list_batches(p, account)}


@router.get("/batches/{batch_id}", response_model=schemas.CommerceBatch)
def show_batch(batch_id: BatchId, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    """Progress across the batch and each item's state (job, credits, cost, error)."""
    return service.batch_status(p, account, batch_id)


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/batches/{batch_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def batch_events(
    batch_id: BatchId, request: Request, p: PlatformDep, account: CurrentAccount
) -> StreamingResponse:
    """Server-sent events of the batch's progress: a `progress` event (counts, progress,
    credits, cost) whenever it changes, with the items that changed state; `done` at the
    end. Ends after `RF_EVENT_STREAM_IDLE` seconds without a change (with a `retry:` hint);
    counts against the key's `RF_EVENT_STREAMS_PER_KEY` streams (429 `too_many_streams`)."""
    await run_in_threadpool(batches.batch_view, p, account, batch_id, items=False)  # 404
    slot = event_streams.take_slot(p, account)

    async def body() -> AsyncIterator[bytes]:
        last: dict[str, Any] | None = None
        states: dict[tuple[str, str], str] = {}
        quiet_since = time.monotonic()
        while not await request.is_disconnected():
            view = await run_in_threadpool(
                partial(service.batch_status, p, account, batch_id, items=False)
            )
            summary = service.progress_of(view)
            changed: list[dict[str, Any]] = []
            if summary != last:  # read the items only when the counts moved
                full = await run_in_threadpool(batches.batch_view, p, account, batch_id)
                changed = [
                    i for i in full["items"] if states.get((i["sku"], i["aspect"])) != i["status"]
                ]
                states.update({(i["sku"], i["aspect"]): i["status"] for i in full["items"]})
            if summary != last or changed:
                last, quiet_since = summary, time.monotonic()
                event = {**summary, "items": changed}
                yield f"event: progress\ndata: {json.dumps(event)}\n\n".encode()
            if view["status"] == "done":
                yield f"event: done\ndata: {json.dumps(summary)}\n\n".encode()
                return
            if time.monotonic() - quiet_since > p.settings.event_stream_idle:
                yield b"retry: 2000\n\n"
                return
            await asyncio.sleep(service.STREAM_POLL_S)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers=event_streams.HEADERS,
        background=BackgroundTask(slot.release),
    )


@router.get(
    "/batches/{batch_id}/manifest.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def manifest(batch_id: BatchId, p: PlatformDep, account: CurrentAccount) -> Response:
    view = batches.refresh(p, account, batch_id)
    return Response(batches.manifest_csv(view), media_type="text/csv")


@router.get(
    "/batches/{batch_id}/zip",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": _BINARY}}},
)
def download_zip(batch_id: BatchId, p: PlatformDep, account: CurrentAccount) -> FileResponse:
    """The clips made so far (`<aspect>/<sku>.mp4`) and manifest.csv, as one zip."""
    path = service.batch_zip(p, account, batch_id)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"{batch_id}.zip",
        background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True),
    )


@router.get("/brand", response_model=schemas.BrandKit)
def show_brand(p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    return get_brand(p, account).to_dict()


@router.patch(
    "/brand", response_model=schemas.BrandKit, openapi_extra=_json_body(_BRAND_FIELDS, [])
)
def change_brand(
    p: PlatformDep, account: CurrentAccount, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Change fields of the brand kit: primary_color, accent_color, text_color,
    background_color (#rrggbb), font, tagline, cta, logo (an upload id)."""
    return set_brand(p, account, body).to_dict()
