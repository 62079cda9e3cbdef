"""/v1/videos: submit, read, list, download, follow and cancel generation jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from reelforge.api import schemas
from reelforge.api.deps import CurrentAccount, PlatformDep
from reelforge.api.params import RangeHeader, VideoId
from reelforge.api.ranges import ranged_response
from reelforge.services.jobs import event_streams, queries
from reelforge.services.jobs.shapes import public
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.jobs.submit import promote_job as submit_promotion

router = APIRouter(prefix="/v1/videos", tags=["videos"])

_BINARY = {"schema": {"type": "string", "format": "binary"}}
# For text/event-stream, OpenAPI's `schema` describes one event (not the whole stream).
_SSE_EVENT = {
    "type": "object",
    "description": "One server-sent event.",
    "properties": {
        "id": {"type": "string", "description": "The event's `seq` (resume with Last-Event-ID)."},
        "event": {"type": "string", "description": "The event type."},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "The event as JSON.",
        },
        "retry": {"type": "integer", "description": "Reconnect delay in milliseconds."},
    },
}


@router.post("", status_code=202, response_model=schemas.Video)
def create_video(body: SubmitRequest, p: PlatformDep, account: CurrentAccount) -> JSONResponse:
    """Submit a generation job. Repeating an `external_id` returns the same job."""
    result = submit_job(p, account, body)
    headers = {"Location": f"/v1/videos/{result.job['id']}"}
    if not result.created:
        headers["Idempotent-Replayed"] = "true"
    job = result.job
    if job.get("output"):  # answered at once (result cache, replay): signed output URLs
        job = queries.get_job(p, account, job["id"])
    return JSONResponse(public(schemas.Video, job), status_code=202, headers=headers)


@router.post("/{video_id}/promote", status_code=202, response_model=schemas.Video)
def promote_video(video_id: VideoId, p: PlatformDep, account: CurrentAccount) -> JSONResponse:
    """Submit the final version of a draft: same model, prompt, inputs and seed."""
    result = submit_promotion(p, account, video_id)
    return JSONResponse(
        public(schemas.Video, result.job),
        status_code=202,
        headers={"Location": f"/v1/videos/{result.job['id']}"},
    )


@router.get("", response_model=schemas.VideoList)
def list_videos(
    p: PlatformDep,
    account: CurrentAccount,
    status: str | None = Query(
        default=None, description="Only jobs in this status (queued, running, succeeded, ...)."
    ),
    limit: int = Query(default=20, description="Jobs per page, 1 to 100, newest first."),
    cursor: str | None = Query(
        default=None, description="The `next_cursor` of the previous page: the page after it."
    ),
    external_id: str | None = Query(
        default=None, description="Only the job submitted with this external_id (at most one)."
    ),
) -> dict[str, Any]:
    return queries.list_jobs(
        p, account, status=status, limit=limit, cursor=cursor, external_id=external_id
    )


@router.get("/{video_id}", response_model=schemas.Video)
def get_video(video_id: VideoId, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    return queries.get_job(p, account, video_id)


@router.delete("/{video_id}", response_model=schemas.Video)
def delete_video(video_id: VideoId, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    """Delete a job's MP4 and poster. The job stays, marked `deleted` (history, billing and
    audit keep it). A queued job is cancelled first; a running one is refused (409
    `job_running`): cancel it, then delete it."""
    return queries.delete_job(p, account, video_id)


@router.post("/{video_id}/cancel", response_model=schemas.Video)
def cancel_video(video_id: VideoId, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    """Cancel a job: at once if no worker runs it, at its next step if one does; 409
    `too_late` once the worker is finalizing the output (it will finish and be charged)."""
    return queries.cancel_job(p, account, video_id)


@router.get(
    "/{video_id}/content",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": _BINARY}},
        206: {"description": "a byte range", "content": {"video/mp4": _BINARY}},
    },
)
def video_content(
    video_id: VideoId,
    p: PlatformDep,
    account: CurrentAccount,
    range_header: RangeHeader = None,
) -> Response:
    """The MP4 of a succeeded job; honours `Range: bytes=...` for seeking players."""
    return ranged_response(p, queries.job_content(p, account, video_id), range_header)


@router.get(
    "/{video_id}/poster",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": _BINARY}}},
)
def video_poster(
    video_id: VideoId,
    p: PlatformDep,
    account: CurrentAccount,
    range_header: RangeHeader = None,
) -> Response:
    return ranged_response(p, queries.job_content(p, account, video_id, poster=True), range_header)


@router.get(
    "/{video_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": _SSE_EVENT}}}},
)
async def video_events(
    video_id: VideoId,
    request: Request,
    p: PlatformDep,
    account: CurrentAccount,
    after: int = Query(
        default=0,
        ge=0,
        le=event_streams.MAX_EVENT_SEQ,
        description="Start after this event id (0: from the first event).",
    ),
    last_event_id: str | None = Header(
        default=None,
        description="A reconnecting EventSource's last event id: resume after it (wins over "
        "`after`).",
    ),
) -> StreamingResponse:
    """Server-sent events: every event of the job from the start (or after `Last-Event-ID`),
    then live ones; the stream ends after the final status, or after `RF_EVENT_STREAM_IDLE`
    seconds without an event (with a `retry:` hint: reconnect with Last-Event-ID). An API key
    holds at most `RF_EVENT_STREAMS_PER_KEY` streams at once (429 `too_many_streams`)."""
    start = event_streams.event_cursor(after, last_event_id)
    stream = await event_streams.open_stream(p, account, video_id, start)
    return StreamingResponse(
        stream.body(request.is_disconnected),
        media_type="text/event-stream",
        headers=event_streams.HEADERS,
        background=BackgroundTask(stream.release),  # a body that never started too
    )
