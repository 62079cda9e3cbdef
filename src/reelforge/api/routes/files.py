"""/v1/files: outputs behind signed, expiring URLs — no API key, so a browser's <video>, a
CDN or a customer's server can fetch them. S3 stores answer with a presigned redirect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from reelforge.api.deps import PlatformDep
from reelforge.api.params import RangeHeader
from reelforge.api.ranges import ranged_response
from reelforge.services.jobs import delivery

router = APIRouter(prefix="/v1/files", tags=["files"])
_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/{job_id}/{name}",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": _BINARY, "image/jpeg": _BINARY}},
        206: {"description": "a byte range", "content": {"video/mp4": _BINARY}},
        302: {"description": "S3 store: a presigned URL of the object"},
    },
)
async def signed_file(
    job_id: Annotated[str, Path(description="The job's id (`vid_...`).")],
    name: Annotated[str, Path(description="`video.mp4` or `poster.jpg`.")],
    p: PlatformDep,
    expires: str | None = Query(
        default=None, max_length=12, description="When the URL stops working (Unix seconds)."
    ),
    sig: str | None = Query(
        default=None, max_length=64, description="The URL's signature (HMAC of id, file, expiry)."
    ),
    range_header: RangeHeader = None,
) -> Response:
    """The file a job's `output.url` / `output.poster_url` names (`video.mp4`, `poster.jpg`);
    honours `Range`. 403 `url_expired` or `invalid_url_signature`: fetch the job again."""
    f = await run_in_threadpool(delivery.check_signed, p, job_id, name, expires, sig)
    target = await run_in_threadpool(delivery.redirect_url, p, f)
    if target is not None:
        return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
    response = ranged_response(p, f, range_header)
    # A CDN may keep it, never past the URL's end (each new signature is a new URL).
    response.headers["Cache-Control"] = f"public, max-age={f.max_age}"
    return response
