"""The studio's gallery (`/videos`) and video page (`/videos/{id}`), with its fragments and
actions under `/videos/{id}/…`: live events (the API's event stream service, cookie
authenticated), the MP4 and poster with range requests (the API's content service), the
provenance report (the verify service), cancel, delete, promote, re-run, appeal. Every
lookup is scoped to the signed-in account: another account's id is 404 everywhere."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from reelforge.errors import InvalidRequest, ReelforgeError, Unauthorized
from reelforge.services.accounts.signin import WebUser
from reelforge.services.governance import reviews
from reelforge.services.jobs import byte_ranges, event_streams, queries
from reelforge.services.jobs.submit import SubmitRequest, promote_job, submit_job
from reelforge.services.studio import gallery, provenance
from reelforge.web import pages, security
from reelforge.web.i18n import N_
from reelforge.web.pages import (
    Text,
    current_user,
    message,
    platform_of,
    redirect,
    render,
    require_user,
)
from reelforge.web.studio import check_characters, check_rate

router = APIRouter(include_in_schema=False, dependencies=[Depends(security.csrf_protect)])
pages.register_pages("/videos")
pages.register_errors(
    {
        "job_running": N_("This video is running: cancel it first, then delete it."),
        "too_late": N_(
            "The video is already being finalized and can no longer be cancelled; it will finish."
        ),
        "job_finished": N_("This video has already finished; there is nothing to cancel."),
        "not_blocked": N_("Only blocked videos can be appealed."),
        "not_a_draft": N_("Only drafts can be promoted."),
        "content_not_ready": N_("This video has no file yet."),
        "content_deleted": N_("The file of this video was removed."),
        "too_many_streams": N_("Too many live views are open. Close a tab and reload."),
        "verify_busy": N_("The provenance check is busy. Reload the page in a moment."),
        "unauthorized": N_("Sign in to see this."),
    }
)

# Moderation categories in plain words (governance.signals.Category).
CATEGORY_TEXT = {
    "sexual": N_("sexual content"),
    "sexual_minors": N_("sexual content involving minors"),
    "violence": N_("violence or gore"),
    "self_harm": N_("self-harm"),
    "hate": N_("hate or harassment"),
    "weapons_illicit": N_("weapons or illicit goods"),
    "real_person": N_("the likeness of a real person without their consent"),
    "public_figure": N_("a public figure"),
    "political": N_("political or election content"),
    "copyright": N_("copyrighted characters or brands"),
    "artist_style": N_("a living artist's style"),
    "commercial_misuse": N_("fake endorsements or testimonials"),
}
STATUS_TEXT = {
    "queued": N_("Queued"),
    "throttled": N_("Waiting for a free slot"),
    "running": N_("Running"),
    "review": N_("Held for review"),
    "succeeded": N_("Done"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
    "blocked": N_("Blocked"),
}
STAGE_TEXT = {
    "queued": N_("Waiting for a worker"),
    "started": N_("Starting"),
    "load": N_("Loading the model"),
    "prepare": N_("Preparing"),
    "text_encode": N_("Reading the prompt"),
    "denoise": N_("Generating frames"),
    "decode": N_("Decoding frames"),
    "render": N_("Rendering frames"),
    "encode": N_("Encoding the video"),
    "finalizing": N_("Labelling and storing"),
    "done": N_("Finished"),
    "cancelling": N_("Cancelling"),
}
FINAL = frozenset({"succeeded", "failed", "cancelled", "blocked"})


def _signed_in(request: Request) -> WebUser:
    """For fragments, streams and files: the user, or 401 (never a redirect to follow)."""
    user = current_user(request)
    if user is None:
        raise Unauthorized("sign in to see this")
    return user


def _context(video: dict[str, Any]) -> dict[str, Any]:
    moderation = video.get("moderation") or {}
    stage = "output" if moderation.get("output") else "submit"
    categories = (moderation.get(stage) or {}).get("categories") or []
    percent = 100 if video["status"] == "succeeded" else int(video["progress"] * 100)
    return {
        "video": video,
        "final": video["status"] in FINAL,
        "percent": percent,
        "stage": "done" if video["status"] == "succeeded" else (video["stage"] or "queued"),
        "categories": categories,
        "category_text": CATEGORY_TEXT,
        "status_text": STATUS_TEXT,
        "stage_text": STAGE_TEXT,
    }


@router.get("/videos")
def gallery_page(request: Request) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    p = platform_of(request)
    q = request.query_params
    status, model, before = q.get("status") or None, q.get("model") or None, q.get("before")
    try:
        page = gallery.list_videos(p, user.account, status=status, model=model, before=before)
        error = None
    except InvalidRequest as exc:
        page, error = {"data": [], "next": None}, message(request, exc)
    return render(
        request,
        "videos.html",
        videos=page["data"],
        next=page["next"],
        filter_status=status or "",
        filter_model=model or "",
        statuses=gallery.statuses(),
        models=gallery.models_used(p, user.account),
        status_text=STATUS_TEXT,
        error=error,
    )


@router.get("/videos/{video_id}")
def video_page(request: Request, video_id: str) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    p = platform_of(request)
    video = queries.get_job(p, user.account, video_id)
    # the stream starts after what this page shows (a held or appealed job's history stays)
    seq = queries.event_heads(p, [video_id]).get(video_id, 0)
    return render(request, "video.html", errors={}, seq=seq, **_context(video))


@router.get("/videos/{video_id}/events")
async def video_events(request: Request, video_id: str) -> StreamingResponse:
    """The job's server-sent events for the page's EventSource: the stream of
    GET /v1/videos/{id}/events (the same service: event_streams.open_stream, with the same
    cursor, per-account stream cap and idle end), authenticated by the session cookie."""
    user = _signed_in(request)
    p = platform_of(request)
    after, last_event_id = request.query_params.get("after"), request.headers.get("last-event-id")
    start = event_streams.event_cursor(after, last_event_id)
    stream = await event_streams.open_stream(p, user.account, video_id, start)
    return StreamingResponse(
        stream.body(request.is_disconnected),
        media_type="text/event-stream",
        headers=event_streams.HEADERS,
        background=BackgroundTask(stream.release),
    )


def _file(request: Request, video_id: str, *, poster: bool, disposition: str) -> Response:
    """The MP4 or poster with single byte ranges: the API's answer (byte_ranges.answer)."""
    user = _signed_in(request)
    p = platform_of(request)
    content = queries.job_content(p, user.account, video_id, poster=poster)
    answer = byte_ranges.answer(p, content, request.headers.get("range"), disposition=disposition)
    headers = {**answer.headers, "X-Content-Type-Options": "nosniff"}
    if answer.body is None:
        return Response(status_code=answer.status, headers=headers)
    return StreamingResponse(
        answer.body, status_code=answer.status, media_type=answer.media_type, headers=headers
    )


@router.get("/videos/{video_id}/content")
def video_content(request: Request, video_id: str) -> Response:
    return _file(request, video_id, poster=False, disposition="inline")


@router.get("/videos/{video_id}/download")
def video_download(request: Request, video_id: str) -> Response:
    return _file(request, video_id, poster=False, disposition="attachment")


@router.get("/videos/{video_id}/poster")
def video_poster(request: Request, video_id: str) -> Response:
    return _file(request, video_id, poster=True, disposition="inline")


@router.get("/videos/{video_id}/provenance")
async def video_provenance(request: Request, video_id: str) -> Response:
    user = _signed_in(request)
    p = platform_of(request)
    try:
        report = await run_in_threadpool(provenance.report, p, user.account, video_id)
    except ReelforgeError as exc:
        if exc.http_status == 404:
            raise
        return render(request, "provenance.html", report=None, error=message(request, exc))
    return render(request, "provenance.html", report=report, error=None)


def _action_failed(request: Request, user: WebUser, video_id: str, exc: ReelforgeError) -> Response:
    """The video page again, the action's error shown by its buttons."""
    video = queries.get_job(platform_of(request), user.account, video_id)
    errors = {exc.field or "action": message(request, exc)}
    seq = queries.event_heads(platform_of(request), [video_id]).get(video_id, 0)
    return render(
        request, "video.html", status=exc.http_status, errors=errors, seq=seq, **_context(video)
    )


@router.post("/videos/{video_id}/cancel")
def cancel(request: Request, video_id: str) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    try:
        queries.cancel_job(platform_of(request), user.account, video_id)
    except ReelforgeError as exc:
        if exc.http_status == 404:
            raise
        return _action_failed(request, user, video_id, exc)
    return redirect(request, f"/videos/{video_id}")


@router.post("/videos/{video_id}/delete")
def delete(request: Request, video_id: str) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    try:
        queries.delete_job(platform_of(request), user.account, video_id)
    except ReelforgeError as exc:
        if exc.http_status == 404:
            raise
        return _action_failed(request, user, video_id, exc)
    return redirect(request, "/videos")


@router.post("/videos/{video_id}/promote")
def promote(request: Request, video_id: str) -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    try:
        check_rate(platform_of(request), user.account)
        job = promote_job(platform_of(request), user.account, video_id).job
    except ReelforgeError as exc:
        if exc.http_status == 404:
            raise
        return _action_failed(request, user, video_id, exc)
    return redirect(request, f"/videos/{job['id']}")


# what a re-run repeats of a video: its request (the seed is chosen by the form)
RERUN_FIELDS = (
    "prompt",
    "negative_prompt",
    "mode",
    "model",
    "image_upload_id",
    "last_image_upload_id",
    "extend_from",
    "camera",
    "duration",
    "fps",
    "aspect_ratio",
    "resolution",
    "frames",
    "width",
    "height",
    "steps",
    "guidance",
    "preset",
    "visible_label",
    "label_position",
)


def rerun_request(video: dict[str, Any], same_seed: bool) -> SubmitRequest:
    body = {k: video[k] for k in RERUN_FIELDS if video.get(k) is not None}
    if video.get("camera_source") != "request":
        body.pop("camera", None)  # read from the prompt again, as the first run did
    if same_seed:
        body["seed"] = video["seed"]
    return SubmitRequest.parse(body)


@router.post("/videos/{video_id}/rerun")
def rerun(request: Request, video_id: str, seed: Text = "same") -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    p = platform_of(request)
    video = queries.get_job(p, user.account, video_id)
    try:
        check_rate(p, user.account)
        job = submit_job(p, user.account, rerun_request(video, seed == "same")).job
    except ReelforgeError as exc:
        return _action_failed(request, user, video_id, exc)
    return redirect(request, f"/videos/{job['id']}")


@router.post("/videos/{video_id}/appeal")
def appeal(request: Request, video_id: str, appeal_message: Text = "") -> Response:
    user = require_user(request)
    if isinstance(user, Response):
        return user
    try:
        check_characters("appeal_message", appeal_message)
        reviews.appeal(platform_of(request), user.account, video_id, appeal_message)
    except ReelforgeError as exc:
        if exc.http_status == 404:
            raise
        if exc.field == "message":
            exc.field = "appeal_message"
        return _action_failed(request, user, video_id, exc)
    return redirect(request, f"/videos/{video_id}")
