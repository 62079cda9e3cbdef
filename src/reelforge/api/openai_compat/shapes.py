"""OpenAI's video objects (openai-python `types/video.py`, `video_delete_response.py`, the
`ConversationCursorPage` list; API reference at developers.openai.com/api/reference/
resources/videos, read 2026-12-06) and how reelforge's jobs and requests map onto them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelforge.domain.spec import (
    MAX_DURATION_S,
    MAX_SIDE,
    MIN_DURATION_S,
    AspectRatio,
    Resolution,
    frame_size,
)
from reelforge.errors import InvalidRequest

DEFAULT_SECONDS = "4"  # OpenAI's default clip length

# reelforge's status -> OpenAI's (queued, in_progress, completed, failed): a job waiting for
# a slot or a reviewer is still queued; cancelled and blocked jobs are failed, their reason
# in `error.code` (cancelled, content_blocked, ...)
_STATUS = {
    "queued": "queued",
    "throttled": "queued",
    "review": "queued",
    "running": "in_progress",
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "failed",
    "blocked": "failed",
}

# "WIDTHxHEIGHT" sizes that are a named shape: sent as aspect_ratio + resolution, which every
# backend (and every provider mapping) understands; other sizes go as exact width and height
_NAMED_SIZES = {"{}x{}".format(*frame_size(a, r)): (a, r) for a in AspectRatio for r in Resolution}
_SIZE = re.compile(r"^([1-9][0-9]{1,3})x([1-9][0-9]{1,3})$")
_SECONDS = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3})?$")


class OpenAIModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class OpenAIVideoError(OpenAIModel):
    code: str = Field(description="reelforge's failure code, e.g. `content_blocked`.")
    message: str = Field(description="What happened.")


class OpenAIVideo(OpenAIModel):
    """A reelforge job as OpenAI's video object."""

    id: str = Field(description="The job's id (`vid_...`): the same in /v1/videos.")
    object: Literal["video"] = "video"
    model: str = Field(description="The reelforge model that runs it.")
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int = Field(description="0 to 100.")
    created_at: int = Field(description="Unix seconds.")
    completed_at: int | None = Field(default=None, description="Unix seconds, once final.")
    expires_at: int | None = Field(
        default=None, description="Unix seconds: when retention removes the files."
    )
    prompt: str | None = None
    seconds: str = Field(description="The clip's length in seconds.")
    size: str = Field(description="WIDTHxHEIGHT in pixels.")
    remixed_from_video_id: str | None = Field(
        default=None, description="Always null: reelforge has no remix."
    )
    error: OpenAIVideoError | None = None


class OpenAIVideoList(OpenAIModel):
    object: Literal["list"] = "list"
    data: list[OpenAIVideo] = Field(description="Newest first.")
    first_id: str | None = None
    last_id: str | None = Field(default=None, description="Pass as `after` for the next page.")
    has_more: bool


class OpenAIVideoDeleted(OpenAIModel):
    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: bool


def _unix(value: str | None) -> int | None:
    return int(datetime.fromisoformat(value).timestamp()) if value else None


def _seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return DEFAULT_SECONDS
    return f"{seconds:g}"


def video_object(job: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI video object of a job (its native view, as services.jobs.queries returns it)."""
    params = job.get("parameters") or {}
    output = job.get("output") or {}
    width = output.get("width") or params.get("width") or job.get("width")
    height = output.get("height") or params.get("height") or job.get("height")
    status = _STATUS.get(job["status"], "queued")
    final = status in ("completed", "failed")
    error = job.get("error")
    if status == "failed" and error is None:
        error = {"code": job["status"], "message": f"the video was {job['status']}"}
    return {
        "id": job["id"],
        "object": "video",
        "model": job["model"],
        "status": status,
        "progress": 100 if status == "completed" else round((job["progress"] or 0) * 100),
        "created_at": _unix(job["created_at"]),
        "completed_at": _unix(job.get("finished_at")) if final else None,
        "expires_at": _unix(output.get("expires_at")),
        "prompt": job.get("prompt"),
        "seconds": _seconds_text(output.get("duration") or job.get("duration")),
        "size": f"{width}x{height}" if width and height else "",
        "remixed_from_video_id": None,
        "error": error,
    }


def size_fields(size: str) -> dict[str, Any]:
    """The native request fields for an OpenAI `size` ("1280x720")."""
    named = _NAMED_SIZES.get(size)
    if named is not None:
        return {"aspect_ratio": named[0], "resolution": named[1]}
    match = _SIZE.match(size)
    if match is None:
        raise InvalidRequest(
            f"size must be WIDTHxHEIGHT in pixels, e.g. 1280x720 or 720x1280; got {size[:40]!r}",
            code="invalid_size",
            field="size",
        )
    width, height = int(match.group(1)), int(match.group(2))
    if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE) or width % 2 or height % 2:
        raise InvalidRequest(
            f"size {size}: each side must be even and between 16 and {MAX_SIDE} pixels",
            code="invalid_size",
            field="size",
        )
    return {"width": width, "height": height}


def seconds_field(seconds: str) -> float:
    """The native `duration` for an OpenAI `seconds` ("4", "8", "12", or any length the model
    takes within reelforge's limits)."""
    if not _SECONDS.match(seconds) or not MIN_DURATION_S <= float(seconds) <= MAX_DURATION_S:
        raise InvalidRequest(
            f"seconds must be a number of seconds from {MIN_DURATION_S:g} to "
            f'{MAX_DURATION_S:g}, e.g. "4"; got {seconds[:20]!r}',
            code="invalid_seconds",
            field="seconds",
        )
    return float(seconds)
