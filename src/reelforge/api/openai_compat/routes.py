"""/openai/v1/videos: OpenAI's videos API over reelforge's jobs, through the same services as
/v1/videos (submit, queries, uploads) — the same jobs, credits, moderation and marks.

Create takes OpenAI's fields (`prompt`, `model`, `seconds`, `size`, `input_reference` as a
file or `{image_url}` / `{file_id}`), as multipart (what the SDK sends) or JSON. reelforge's
own submit fields (`seed`, `negative_prompt`, `camera`, ...) may ride along (the SDK's
`extra_body`); those the OpenAI fields stand for (`duration`, `width`, `aspect_ratio`,
`image_url`, ...) are refused there, so a request means one thing."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from reelforge.api.deps import CurrentAccount, PlatformDep
from reelforge.api.multipart import read_limited
from reelforge.api.openai_compat.errors import OpenAIRoute
from reelforge.api.openai_compat.shapes import (
    DEFAULT_SECONDS,
    OpenAIVideo,
    OpenAIVideoDeleted,
    OpenAIVideoList,
    seconds_field,
    size_fields,
    video_object,
)
from reelforge.api.params import RangeHeader, VideoId
from reelforge.api.ranges import ranged_response
from reelforge.api.validation import check_json
from reelforge.errors import InvalidCharacters, InvalidRequest
from reelforge.services.jobs import queries
from reelforge.services.jobs.edge import check_filename, check_string
from reelforge.services.jobs.request import MAX_IMAGE_FIELD_CHARS, SubmitRequest
from reelforge.services.jobs.submit import submit_job
from reelforge.services.jobs.uploads import create_upload

router = APIRouter(
    prefix="/openai/v1/videos",
    tags=["openai-compatible"],
    # errors: {"error": {"message", "type", "param", "code"}} (openai_compat.errors), which
    # fits the app-wide ErrorResponse declared on every route (code and message, more allowed)
    route_class=OpenAIRoute,
)

OPENAI_FIELDS = ("prompt", "model", "seconds", "size", "input_reference")
# native fields an OpenAI field stands for (not accepted beside them), and that field
_MAPPED = {
    "duration": "seconds",
    "width": "size",
    "height": "size",
    "aspect_ratio": "size",
    "resolution": "size",
    "image_upload_id": "input_reference",
    "image_url": "input_reference",
    "mode": "input_reference",
}
_MAX_FIELDS = 40
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_CREATE_PROPERTIES: dict[str, Any] = {
    "prompt": {"type": "string", "description": "What to generate."},
    "model": {"type": "string", "description": "A reelforge model (GET /v1/models)."},
    "seconds": {"type": "string", "description": 'Length in seconds, e.g. "4".'},
    "size": {"type": "string", "description": 'WIDTHxHEIGHT, e.g. "1280x720".'},
}
_CREATE_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["prompt"],
                    "properties": {
                        **_CREATE_PROPERTIES,
                        "input_reference": {
                            "type": "string",
                            "format": "binary",
                            "description": "The first frame: a JPEG, PNG or WebP image.",
                        },
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["prompt"],
                    "properties": {
                        **_CREATE_PROPERTIES,
                        "input_reference": {
                            "type": "object",
                            "description": "The first frame: one of image_url, file_id.",
                            "properties": {
                                "image_url": {
                                    "type": "string",
                                    "description": "An https or data: URL of the image.",
                                },
                                "file_id": {
                                    "type": "string",
                                    "description": "An upload's id (POST /v1/uploads).",
                                },
                            },
                        },
                    },
                }
            },
        },
    }
}


async def _read_body(request: Request, limit: int) -> tuple[dict[str, Any], UploadFile | None]:
    """The create request's fields and its input_reference file, if it sent one."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise InvalidRequest("request body is not valid JSON", code="invalid_json") from None
        if not isinstance(body, dict):
            raise InvalidRequest("the body must be a JSON object", code="invalid_request")
        check_json(body)
        return body, None
    if kind != "multipart/form-data":
        raise InvalidRequest(
            "send multipart/form-data (as the OpenAI SDK does) or application/json",
            code="unsupported_media_type",
        )
    try:
        form = await request.form(
            max_files=1, max_fields=_MAX_FIELDS, max_part_size=MAX_IMAGE_FIELD_CHARS
        )
    except ValueError as exc:  # python-multipart's and Starlette's refusals
        raise InvalidRequest(
            f"the multipart body is malformed ({exc})", code="invalid_upload"
        ) from None
    fields: dict[str, Any] = {}
    file: UploadFile | None = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name != "input_reference":
                raise InvalidRequest(
                    f"only input_reference may be a file, not {name[:40]!r}", field=name[:40]
                )
            if value.filename:  # the edge rule and a plain name, as /v1/uploads
                check_filename(value.filename, name)
            file = value
        elif name.startswith("input_reference[") and name.endswith("]"):
            fields.setdefault("input_reference", {})[name[16:-1]] = value
        else:
            fields[name] = value
    check_json(fields)
    if file is not None:
        if "input_reference" in fields:
            raise InvalidRequest(
                "send input_reference once: a file or an object", field="input_reference"
            )
        if file.size is not None and file.size > limit:
            raise InvalidRequest(
                f"input_reference is larger than the {limit}-byte upload limit",
                code="payload_too_large",
                field="input_reference",
            )
    return fields, file


def _submit_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The native submit body for an OpenAI create request (without a file reference)."""
    for name in fields:
        if name in _MAPPED:
            raise InvalidRequest(
                f"{name} is a /v1/videos field; here use OpenAI's {_MAPPED[name]}",
                code="unknown_parameter",
                field=name,
            )
    body = {k: v for k, v in fields.items() if k not in OPENAI_FIELDS}
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest(
            "prompt is required", code="missing_required_parameter", field="prompt"
        )
    body["prompt"] = prompt
    model = fields.get("model")
    if model is not None:
        if not isinstance(model, str):
            raise InvalidRequest("model must be a string", field="model")
        body["model"] = model
    seconds = fields.get("seconds", DEFAULT_SECONDS)
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        seconds = f"{seconds:g}"
    if not isinstance(seconds, str):
        raise InvalidRequest('seconds must be a string such as "4"', field="seconds")
    body["duration"] = seconds_field(seconds)
    size = fields.get("size")
    if size is not None:
        if not isinstance(size, str):
            raise InvalidRequest('size must be a string such as "1280x720"', field="size")
        body.update(size_fields(size))
    reference = fields.get("input_reference")
    if reference is not None:
        if not isinstance(reference, dict) or len(reference) != 1:
            raise InvalidRequest(
                "input_reference must be a file, or an object with one of image_url, file_id",
                field="input_reference",
            )
        ((key, value),) = reference.items()
        if key not in ("image_url", "file_id") or not isinstance(value, str):
            raise InvalidRequest(
                "input_reference takes image_url (an https or data: URL) or file_id "
                "(an upload id from POST /v1/uploads)",
                field=f"input_reference.{str(key)[:40]}",
            )
        body["image_url" if key == "image_url" else "image_upload_id"] = value
    return body


@router.post(
    "",
    response_model=OpenAIVideo,
    openapi_extra=_CREATE_SCHEMA,
    summary="Create a video (OpenAI-compatible)",
)
async def create_video(
    request: Request,
    p: PlatformDep,
    account: CurrentAccount,
    idempotency_key: str | None = Header(
        default=None,
        alias="Idempotency-Key",
        description="Sent again with the same request, returns the same video (the job's "
        "external_id); with another request, 409 external_id_conflict.",
    ),
) -> dict[str, Any]:
    """OpenAI's `videos.create`: a reelforge job, as its video object."""
    limit = p.settings.max_upload_bytes
    fields, file = await _read_body(request, limit)
    body = _submit_fields(fields)
    if idempotency_key is not None:
        check_string(idempotency_key, "Idempotency-Key")
        if not (idempotency_key.isascii() and idempotency_key.isprintable()):
            # header values arrive as latin-1: UTF-8 (a BOM, a bidi mark) would be stored
            # as mojibake in the job's external_id
            raise InvalidCharacters(
                "Idempotency-Key must be printable ASCII", field="Idempotency-Key"
            )
        if body.setdefault("external_id", idempotency_key) != idempotency_key:
            raise InvalidRequest(
                "send the idempotency id once: the Idempotency-Key header or external_id",
                field="external_id",
            )
    submit = SubmitRequest.parse(body)  # every field checked before the image is stored
    if file is not None:
        data = await read_limited(file, limit, "input_reference")
        upload = await run_in_threadpool(create_upload, p, account, data, file.filename)
        submit = submit.model_copy(update={"image_upload_id": upload.id})
    result = await run_in_threadpool(submit_job, p, account, submit)
    return video_object(result.job)


@router.get("", response_model=OpenAIVideoList, summary="List videos (OpenAI-compatible)")
def list_videos(
    p: PlatformDep,
    account: CurrentAccount,
    after: str | None = Query(default=None, description="The last id of the previous page."),
    limit: int = Query(default=20, ge=1, le=queries.MAX_PAGE, description="Videos per page."),
    order: Literal["asc", "desc"] = Query(
        default="desc", description="By creation time: desc (newest first) or asc."
    ),
) -> dict[str, Any]:
    """OpenAI's `videos.list`: newest first, `after` the last id of the previous page."""
    if order != "desc":
        raise InvalidRequest(
            "reelforge lists videos newest first only (order=desc)",
            code="unsupported_order",
            field="order",
        )
    page = queries.list_jobs(p, account, limit=limit, cursor=_cursor(after))
    data = [video_object(job) for job in page["data"]]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": page["next_cursor"] is not None,
    }


def _cursor(after: str | None) -> str | None:
    """The native list cursor that starts after video `after` (it must be the account's)."""
    if after is None:
        return None
    if not after.startswith("vid_") or len(after) > queries.MAX_ID:
        raise InvalidRequest("after must be a video id from a previous page", field="after")
    return queries.cursor_after(after)


@router.get(
    "/{video_id}", response_model=OpenAIVideo, summary="Retrieve a video (OpenAI-compatible)"
)
def retrieve_video(video_id: VideoId, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    return video_object(queries.get_job(p, account, video_id))


@router.delete(
    "/{video_id}", response_model=OpenAIVideoDeleted, summary="Delete a video (OpenAI-compatible)"
)
def delete_video(video_id: VideoId, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    """OpenAI's `videos.delete`: the job's files are removed (the record stays for billing
    and audit, as with DELETE /v1/videos/{id}); a running job is refused, 409 job_running."""
    job = queries.delete_job(p, account, video_id)
    return {"id": job["id"], "object": "video.deleted", "deleted": bool(job["deleted"])}


@router.get(
    "/{video_id}/content",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": _BINARY, "image/jpeg": _BINARY}},
        206: {"description": "a byte range", "content": {"video/mp4": _BINARY}},
    },
    summary="Download a video's content (OpenAI-compatible)",
)
def video_content(
    video_id: VideoId,
    p: PlatformDep,
    account: CurrentAccount,
    variant: Literal["video", "thumbnail", "spritesheet"] = Query(
        default="video", description="video (the MP4) or thumbnail (its poster, JPEG)."
    ),
    range_header: RangeHeader = None,
) -> Response:
    """OpenAI's `videos.download_content`: `video` is the labelled MP4, `thumbnail` its
    poster (JPEG); reelforge makes no `spritesheet` (400)."""
    if variant == "spritesheet":
        raise InvalidRequest(
            "reelforge makes no spritesheet; variant may be video or thumbnail",
            code="unsupported_variant",
            field="variant",
        )
    content = queries.job_content(p, account, video_id, poster=variant == "thumbnail")
    return ranged_response(p, content, range_header)
