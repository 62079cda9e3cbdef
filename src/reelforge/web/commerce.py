"""The studio's page for commerce batches (issue 18 item 7): `/studio/commerce` takes a
catalogue (CSV or products JSON) and its product images, a template and the aspects; "Check"
shows the per-row errors without writing anything, "Start" writes the batch (the use case
behind POST /v1/commerce/batches, with the images attached to the form:
reelforge.commerce.attached) and opens `/studio/commerce/{id}`: the per-product by aspect
grid, which static/commerce.js keeps current from `status.json` (the status read of
GET /v1/commerce/batches/{id}, which also advances the batch), the zip with the manifest and
the manifest alone. Another account's batch is 404 (the services look it up by account)."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile

from reelforge.commerce import batch as batches
from reelforge.commerce import service
from reelforge.commerce.attached import MAX_FILES, BatchForm, start_with_files
from reelforge.commerce.catalog import MAX_CATALOG_BYTES
from reelforge.errors import InvalidRequest, PayloadTooLarge, ReelforgeError
from reelforge.web import pages, security
from reelforge.web.i18n import N_
from reelforge.web.pages import message, platform_of, redirect, render, require_user, translate
from reelforge.web.studio import check_characters, check_rate

router = APIRouter(include_in_schema=False, dependencies=[Depends(security.csrf_protect)])
pages.register_pages("/studio/commerce")
pages.register_errors(
    {
        "batch_not_found": N_("Not found."),
        "unknown_template": N_("Choose one of the listed templates."),
        "empty_catalog": N_("No row of the catalogue can be used; see the errors per row."),
        "invalid_catalog": N_("The catalogue cannot be read as CSV or products JSON."),
        "catalog_too_large": N_("The catalogue is too large (at most 10,000 products, 32 MB)."),
    }
)

TEMPLATES = (
    ("showcase", N_("Showcase: camera moves over each photo, title, price, end card")),
    ("sale", N_("Sale: discount and countdown")),
    ("sequence", N_("Sequence: several photos of one product with transitions")),
)
ASPECTS = (
    ("9:16", N_("9:16 portrait (stories, reels)")),
    ("1:1", N_("1:1 square (feeds)")),
    ("16:9", N_("16:9 landscape (video sites)")),
)
LENGTHS = (
    ("standard", N_("Standard")),
    ("short", N_("Short (a third of the time: drafts)")),
)
RESOLUTIONS = ("480p", "720p", "1080p")
# POST /studio/commerce's body limit (api/limits.py) holds the catalogue and this many
# full-size images' bytes: larger sets go through the API (POST /v1/uploads) or the CLI
IMAGES_BYTES_IN_UPLOADS = 10
STATUS_TEXT = {
    batches.PENDING: N_("Waiting"),
    batches.QUEUED: N_("Rendering"),
    batches.REVIEW: N_("Held for review"),
    batches.SUCCEEDED: N_("Done"),
    batches.FAILED: N_("Failed"),
    "running": N_("Running"),
    "done": N_("Finished"),
}
DEFAULTS = {"template": "showcase", "aspects": ["9:16", "1:1", "16:9"], "resolution": "480p"}
ROW_FIELDS = {
    "sku": N_("SKU"),
    "title": N_("Title"),
    "description": N_("Description"),
    "price": N_("Price"),
    "compare_at_price": N_("Compare-at price"),
    "currency": N_("Currency"),
    "images": N_("Images"),
    "url": N_("Link"),
    "row": N_("Row"),
}


def _values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("template", "resolution", "length", "action"):
        value = form.get(name)
        if isinstance(value, str):
            values[name] = check_characters(name, value.strip()[:40])
    values["aspects"] = [
        check_characters("aspects", a.strip()[:10])
        for a in form.getlist("aspects")[:10]
        if isinstance(a, str)
    ]
    return values


async def _files(form: FormData, limit: int) -> tuple[bytes, str, dict[str, bytes]]:
    """The catalogue (its bytes and name) and the images by file name, each read within
    its limit."""
    item = form.get("catalog")
    if not isinstance(item, UploadFile) or not (item.filename or item.size):
        raise InvalidRequest("choose a catalogue file (CSV or JSON)", field="catalog")
    name = check_characters("catalog", item.filename or "catalog.csv")[:200]
    catalog = await item.read(MAX_CATALOG_BYTES + 1)
    if len(catalog) > MAX_CATALOG_BYTES:
        raise PayloadTooLarge("the catalogue is larger than 32 MB", field="catalog")
    files: dict[str, bytes] = {}
    images = [f for f in form.getlist("images") if isinstance(f, UploadFile) and f.filename]
    if len(images) > MAX_FILES:
        raise InvalidRequest(f"attach at most {MAX_FILES} images", field="images")
    for image in images:
        image_name = check_characters("images", image.filename or "")
        image_name = image_name.replace("\\", "/").rsplit("/", 1)[-1][:255]
        data = await image.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"{image_name} is larger than {limit} bytes", field="images")
        files[image_name] = data
    return catalog, name, files


def _row_errors(request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**r, "field_text": translate(request, ROW_FIELDS.get(r["field"], r["field"]))}
        for r in rows
    ]


def _form_page(
    request: Request,
    status: int = 200,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    check: dict[str, Any] | None = None,
) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    p = platform_of(request)
    return render(
        request,
        "commerce.html",
        status=status,
        values={**DEFAULTS, **(values or {})},
        errors=errors or {},
        check=check and {**check, "rejected_rows": _row_errors(request, check["rejected_rows"])},
        templates=TEMPLATES,
        aspects=ASPECTS,
        lengths=LENGTHS,
        resolutions=RESOLUTIONS,
        status_text=STATUS_TEXT,
        batches=batches.list_batches(p, user.account, limit=20),
        max_upload_mb=p.settings.max_upload_bytes // (1024 * 1024),
        max_total_mb=IMAGES_BYTES_IN_UPLOADS * p.settings.max_upload_bytes // (1024 * 1024),
        max_files=MAX_FILES,
    )


@router.get("/studio/commerce")
def commerce_page(request: Request) -> Response:
    return _form_page(request)


@router.post("/studio/commerce")
async def commerce_submit(request: Request) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    p = platform_of(request)
    form = await request.form(max_files=MAX_FILES + 1)
    values: dict[str, Any] = {}
    try:
        values = _values(form)
        check_only = values.get("action") == "check"
        choice = BatchForm(
            template=values.get("template", "showcase"),
            aspects=",".join(values["aspects"]),
            resolution=values.get("resolution", "480p"),
            length=values.get("length", "standard"),
        )
        if not check_only:
            check_rate(p, user.account)
        catalog, name, files = await _files(form, p.settings.max_upload_bytes)
        result = await run_in_threadpool(
            start_with_files, p, user.account, catalog, name, files, choice, check_only=check_only
        )
    except ReelforgeError as exc:
        field = {"aspect": "aspects"}.get(exc.field or "", exc.field or "form")
        if field not in ("template", "aspects", "resolution", "length", "catalog", "images"):
            field = "form"
        return _form_page(
            request, exc.http_status, values=values, errors={field: message(request, exc)}
        )
    if check_only:
        return _form_page(request, values=values, check=result)
    return redirect(request, f"/studio/commerce/{result['id']}")


def _status_view(request: Request, view: dict[str, Any]) -> dict[str, Any]:
    """The batch as the page and its script show it: items by product, labels translated."""
    products: dict[str, dict[str, Any]] = {}
    for item in view["items"]:
        row = products.setdefault(item["sku"], {"sku": item["sku"], "title": item["title"]})
        row[item["aspect"]] = {
            "status": item["status"],
            "label": translate(request, STATUS_TEXT[item["status"]]),
            "job_id": item["job_id"],
            "error": item["error"] and item["error"]["message"],
        }
    return {
        "id": view["id"],
        "status": view["status"],
        "status_label": translate(request, STATUS_TEXT.get(view["status"], view["status"])),
        "progress": view["progress"],
        "counts": view["counts"],
        "total": view["total"],
        "credits": view["credits"],
        "aspects": view["aspects"],
        "products": list(products.values()),
    }


@router.get("/studio/commerce/{batch_id}")
async def batch_page(request: Request, batch_id: str) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    p = platform_of(request)
    view = await run_in_threadpool(service.batch_status, p, user.account, batch_id)
    return render(
        request,
        "commerce_batch.html",
        batch=view,
        grid=_status_view(request, view),
        rejected=_row_errors(request, view["rejected_rows"]),
        status_text=STATUS_TEXT,
    )


@router.get("/studio/commerce/{batch_id}/status.json")
async def batch_status(request: Request, batch_id: str) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    p = platform_of(request)
    check_rate(p, user.account, read=True)
    view = await run_in_threadpool(service.batch_status, p, user.account, batch_id)
    return security.finish(request, JSONResponse(_status_view(request, view)))


@router.get("/studio/commerce/{batch_id}/manifest.csv")
async def batch_manifest(request: Request, batch_id: str) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    view = await run_in_threadpool(batches.refresh, platform_of(request), user.account, batch_id)
    return security.finish(
        request,
        Response(
            batches.manifest_csv(view),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{batch_id}-manifest.csv"'},
        ),
    )


@router.get("/studio/commerce/{batch_id}/batch.zip")
async def batch_zip(request: Request, batch_id: str) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    path = await run_in_threadpool(service.batch_zip, platform_of(request), user.account, batch_id)
    return security.finish(
        request,
        FileResponse(
            path,
            media_type="application/zip",
            filename=f"{batch_id}.zip",
            background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True),
        ),
    )
