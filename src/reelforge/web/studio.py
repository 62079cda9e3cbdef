"""The studio's create form: `/studio` renders it, `POST /studio` submits it through the same
submit service and validation as `POST /v1/videos`, and `POST /studio/quote` answers the live
credit quote (the service behind `POST /v1/quotes`) as a fragment. The gallery and the video
page are web.videos."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.domain.spec import AspectRatio, Camera, LabelPosition, Mode, Preset, Resolution
from reelforge.errors import (
    InvalidRequest,
    PayloadTooLarge,
    RateLimited,
    ReelforgeError,
)
from reelforge.services.billing import customers, quotes
from reelforge.services.jobs import edge, model_registry
from reelforge.services.jobs.submit import SubmitRequest, prepare, submit_job
from reelforge.services.jobs.uploads import create_upload
from reelforge.services.studio.form_images import check_images
from reelforge.web import pages, security
from reelforge.web.i18n import N_
from reelforge.web.pages import message, platform_of, redirect, render, require_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(security.csrf_protect)])
pages.register_pages("/studio")
pages.register_errors(
    {
        "invalid_image": N_(
            "This image cannot be used: a JPEG, PNG or WebP within the size limits is needed."
        ),
        "unsupported_image_type": N_("Upload a JPEG, PNG or WebP image."),
        "image_too_large": N_(
            "The image has too many pixels (a decompression bomb is refused). Use a smaller image."
        ),
        "payload_too_large": N_("The file is too large."),
        "insufficient_credits": N_("Not enough credits for this video."),
        "billing_disabled": N_("Prices are not shown: billing is off on this deployment."),
        "unknown_model": N_("This model is not available here."),
        "upload_not_found": N_("That image is no longer available; upload it again."),
        "rate_limited": N_("Too many requests in a minute. Wait a moment and try again."),
    }
)

TEXT_FIELDS = (
    "prompt",
    "negative_prompt",
    "mode",
    "model",
    "camera",
    "aspect_ratio",
    "label_position",
    "duration",
    "resolution",
    "preset",
    "seed",
    "extend_from",
)
FREE_TEXT = frozenset({"prompt", "negative_prompt", "appeal_message"})
IMAGE_FIELDS = {"image": "image_upload_id", "last_image": "last_image_upload_id"}
# the API's field names (and the spec's) → the form field a message is shown next to
FIELD_OF = {
    "image_upload_id": "image",
    "image_url": "image",
    "images": "image",
    "last_image_upload_id": "last_image",
    "last_image_url": "last_image",
}

MODE_TEXT = {
    Mode.TEXT2VIDEO.value: N_("Text to video"),
    Mode.IMAGE2VIDEO.value: N_("Image to video"),
    Mode.FIRST_LAST_FRAME.value: N_("First and last frame"),
    Mode.EXTEND.value: N_("Extend a video"),
}
MODES = tuple((m.value, MODE_TEXT.get(m.value, m.value)) for m in Mode)  # every mode the API has
CAMERAS = (
    ("", N_("From the prompt (else zoom in)")),
    (Camera.ZOOM_IN.value, N_("Zoom in")),
    (Camera.ZOOM_OUT.value, N_("Zoom out")),
    (Camera.PAN_LEFT.value, N_("Pan left")),
    (Camera.PAN_RIGHT.value, N_("Pan right")),
    (Camera.TILT_UP.value, N_("Tilt up")),
    (Camera.TILT_DOWN.value, N_("Tilt down")),
    (Camera.DOLLY.value, N_("Dolly")),
    (Camera.STATIC.value, N_("Static")),
)
ASPECTS = (
    (AspectRatio.LANDSCAPE.value, N_("16:9 landscape")),
    (AspectRatio.PORTRAIT.value, N_("9:16 portrait")),
    (AspectRatio.SQUARE.value, N_("1:1 square")),
    (AspectRatio.FEED.value, N_("4:5 feed")),
    (AspectRatio.CLASSIC.value, N_("4:3 classic")),
)
# where the AI-generated banner goes: off the product (the API's label_position)
LABEL_POSITIONS = (
    (LabelPosition.TOP.value, N_("Top third")),
    (LabelPosition.BOTTOM.value, N_("Bottom third")),
)
RESOLUTIONS = tuple((r.value, r.value) for r in Resolution)
PRESETS = (
    ("", N_("Model default")),
    (Preset.DRAFT.value, N_("Draft (cheap preview)")),
    (Preset.FINAL.value, N_("Final")),
)
DEFAULTS = {
    "mode": Mode.IMAGE2VIDEO.value,
    "aspect_ratio": AspectRatio.LANDSCAPE.value,
    "label_position": LabelPosition.TOP.value,
    "resolution": Resolution.P720.value,
    "duration": "5",
}


def check_rate(p: Platform, account: AccountRef, *, read: bool = False) -> None:
    """The plan's request rates, as the API counts them per key, counted here per account
    for its browser sessions together: work-creating requests (submit, re-run, promote)
    against requests_per_minute, the live quote (it writes nothing) against reads."""
    if p.billing is None:
        return
    state = p.billing.limit_rate(f"web:{account.id}", account.plan, read=read)
    if not state.allowed:
        raise RateLimited(
            f"more than {state.limit} {'reads' if read else 'work-creating requests'} a minute "
            "from this account's browser sessions; slow down",
            code="rate_limited",
            retry_after=state.retry_after,
        )


def check_characters(name: str, value: str) -> str:
    """The API's edge rule (services/jobs/edge.py) for a form field: no control characters
    (prose keeps tab and newlines), no lone surrogates, outside prose no invisible format
    characters; `invalid_characters` next to the field otherwise."""
    return edge.check_string(value, name, free_text=name in FREE_TEXT)


def form_values(form: FormData) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in TEXT_FIELDS:
        value = form.get(name)
        if isinstance(value, str):
            values[name] = value
    for name, value in values.items():
        check_characters(name, value)
    return values


def request_body(values: dict[str, str], images: set[str]) -> dict[str, Any]:
    """The body of POST /v1/videos the form stands for (empty optional fields left out)."""
    body: dict[str, Any] = {"prompt": values.get("prompt", "")}
    for name in ("negative_prompt", "model", "camera", "preset", "seed", "extend_from"):
        if values.get(name, "").strip():
            body[name] = values[name].strip()
    for name in ("aspect_ratio", "label_position", "resolution", "duration"):
        if values.get(name, "").strip():
            body[name] = values[name].strip()
    mode = values.get("mode", "").strip()
    if not mode:  # the API's inference, from what the form carries
        if body.get("extend_from"):
            mode = Mode.EXTEND.value
        elif "image" in images:
            mode = Mode.FIRST_LAST_FRAME.value if "last_image" in images else Mode.IMAGE2VIDEO.value
        else:
            mode = Mode.TEXT2VIDEO.value
    body["mode"] = mode
    if mode != Mode.EXTEND.value:
        body.pop("extend_from", None)
    return body


def field_of(exc: ReelforgeError) -> str:
    field = (exc.field or "").split(".")[0]
    field = FIELD_OF.get(field, field)
    return field if field in TEXT_FIELDS or field in IMAGE_FIELDS else "form"


def error_entry(request: Request, exc: ReelforgeError) -> dict[str, str]:
    return {"text": message(request, exc), "detail": exc.message, "code": exc.code}


def model_names(p: Platform) -> list[str]:
    """The models this deployment has: the built-in backends and the registered ones."""
    names = list(p.backends.builtin_names())
    names += [m["name"] for m in model_registry.list_models(p) if m["name"] not in names]
    return names


def balance_of(p: Platform, account: AccountRef) -> int | None:
    if p.billing is None:
        return None
    available: int = customers.summary(p, account.id)["balance"]["available"]
    return available


def quote_for(p: Platform, account: AccountRef, body: dict[str, Any]) -> dict[str, Any]:
    return quotes.quote(p, account, SubmitRequest.parse(body))


def _quote_context(p: Platform, account: AccountRef, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"quote": quote_for(p, account, body), "quote_error": None}
    except ReelforgeError as exc:
        return {"quote": None, "quote_error": exc}


def render_form(
    request: Request,
    account: AccountRef,
    values: dict[str, str],
    *,
    errors: dict[str, dict[str, str]] | None = None,
    status: int = 200,
    quote: dict[str, Any] | None = None,
    quote_error: ReelforgeError | None = None,
) -> Response:
    p = platform_of(request)
    return render(
        request,
        "studio.html",
        status=status,
        values={**DEFAULTS, **values},
        errors=errors or {},
        models=model_names(p),
        modes=MODES,
        cameras=CAMERAS,
        aspects=ASPECTS,
        label_positions=LABEL_POSITIONS,
        resolutions=RESOLUTIONS,
        presets=PRESETS,
        quote=quote,
        quote_error=quote_error and error_entry(request, quote_error),
        balance=balance_of(p, account),
        max_upload_mb=p.settings.max_upload_bytes // (1024 * 1024),
        max_upload_bytes=p.settings.max_upload_bytes,
    )


@router.get("/studio")
def studio_page(request: Request) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    values = {**DEFAULTS}
    for name in ("extend_from", "mode", "prompt", "seed", "model"):  # "extend" links prefill
        value = request.query_params.get(name)
        if value is not None and len(value) <= 2500:
            values[name] = check_characters(name, value)
    p = platform_of(request)
    context = _quote_context(p, user.account, request_body(values, set()))
    return render_form(request, user.account, values, **context)


@router.post("/studio/quote")
async def studio_quote(request: Request) -> Response:
    """The live quote as a fragment: the form's fields (files left out, `has_image` and
    `has_last_image` saying which were chosen), priced by the quotes service."""
    user = require_user(request)
    if isinstance(user, Response):
        return user
    form = await request.form()
    images = {f for f in IMAGE_FIELDS if form.get(f"has_{f}") == "1"}
    p = platform_of(request)
    try:
        check_rate(p, user.account, read=True)
        body = request_body(form_values(form), images)
        quote = await run_in_threadpool(quote_for, p, user.account, body)
    except ReelforgeError as exc:
        return render(
            request,
            "quote.html",
            status=exc.http_status,
            quote=None,
            quote_error=error_entry(request, exc),
            balance=await run_in_threadpool(balance_of, p, user.account),
        )
    return render(request, "quote.html", quote=quote, quote_error=None, balance=quote["balance"])


async def _read_images(form: FormData, limit: int) -> dict[str, tuple[bytes, str | None]]:
    """The chosen files of the image fields, each read up to the upload limit."""
    files: dict[str, tuple[bytes, str | None]] = {}
    for field in IMAGE_FIELDS:
        item = form.get(field)
        if not isinstance(item, UploadFile) or (not item.filename and not item.size):
            continue  # no file chosen
        name = item.filename or None
        if name is not None:
            edge.check_filename(name, field)  # the API's rule for an upload's file name
        data = await item.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"the image is larger than the {limit}-byte limit", field=field)
        if not data:
            raise InvalidRequest("the image is empty (0 bytes)", code="invalid_image", field=field)
        files[field] = (data, name)
    return files


def submit_form(
    p: Platform,
    account: AccountRef,
    req: SubmitRequest,
    files: dict[str, tuple[bytes, str | None]],
) -> dict[str, Any]:
    """Every check before anything is stored: the images (all of them), then the request
    as the quote sees it; then the uploads and the submit service."""
    check_images(p, {field: data for field, (data, _) in files.items()})
    prepare(p, account, req, for_quote=True)
    update = {}
    for field, (data, name) in files.items():
        update[IMAGE_FIELDS[field]] = create_upload(p, account, data, name).id
    return submit_job(p, account, req.model_copy(update=update)).job


@router.post("/studio")
async def studio_submit(request: Request) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    p = platform_of(request)
    form = await request.form()
    values: dict[str, str] = {}
    try:
        check_rate(p, user.account)
        values = form_values(form)
        files = await _read_images(form, p.settings.max_upload_bytes)
        req = SubmitRequest.parse(request_body(values, set(files)))
        job = await run_in_threadpool(submit_form, p, user.account, req, files)
    except ReelforgeError as exc:
        body = request_body(values, set())
        context = await run_in_threadpool(_quote_context, p, user.account, body)
        return render_form(
            request,
            user.account,
            values,
            errors={field_of(exc): error_entry(request, exc)},
            status=exc.http_status,
            **context,
        )
    return redirect(request, f"/videos/{job['id']}")
