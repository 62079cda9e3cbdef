"""The job's public shape as pydantic models: what the API declares and sends (OpenAPI
documents them; FastAPI serializes each response through them) and what the CLI's `--json`
prints, through the same models (`public`), so the two are the same JSON key for key.

They are tolerant on purpose (`extra="allow"`): a key a service starts returning passes
through rather than failing the response, but it is undocumented until it is declared here;
tests/integration/test_api_schemas.py fails on keys the schema does not declare.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reelforge.domain.job import JobStatus


class ApiModel(BaseModel):
    """Base of every response model: unknown keys pass through (see the module docstring)."""

    model_config = ConfigDict(extra="allow")


# -- videos (jobs) ----------------------------------------------------------------------------

_STATUSES = ", ".join(f"`{s.value}`" for s in JobStatus)


class VideoOutput(ApiModel):
    width: int | None = Field(default=None, description="Frame width in pixels.")
    height: int | None = Field(default=None, description="Frame height in pixels.")
    frames: int | None = Field(default=None, description="Number of frames.")
    fps: int | float | None = Field(default=None, description="Frames per second.")
    duration: float | None = Field(default=None, description="Length in seconds.")
    size_bytes: int | None = Field(default=None, description="Size of the MP4 in bytes.")
    has_audio: bool | None = Field(default=None, description="The MP4 carries a sound track.")
    url: str | None = Field(
        default=None,
        description="Where to download the MP4 (absolute, "
        "signed and expiring where delivery is on).",
    )
    poster_url: str | None = Field(default=None, description="Where to download a JPEG poster.")
    sha256: str | None = Field(default=None, description="SHA-256 of the MP4.")
    content_url: str | None = Field(
        default=None, description="The authenticated API path of the MP4 (null once removed)."
    )
    url_expires_at: str | None = Field(default=None, description="When `url` stops working.")
    expires_at: str | None = Field(
        default=None, description="When retention removes the files (ISO 8601)."
    )
    removed_at: str | None = Field(default=None, description="When retention removed them.")


class VideoError(ApiModel):
    code: str = Field(description="Stable failure code, e.g. `content_blocked`.")
    message: str = Field(description="What happened, for people.")


class Video(ApiModel):
    """A generation job and, once it succeeded, its output."""

    id: str = Field(description="The job's id (`vid_...`).")
    object: str = Field(default="video", description="Always `video`.")
    status: str = Field(description=f"One of {_STATUSES}.")
    mode: str = Field(description="text2video, image2video, first_last_frame or extend.")
    model: str = Field(description="The model that runs (or ran) the job.")
    prompt: str = Field(default="", description="The prompt as submitted.")
    negative_prompt: str | None = Field(default=None, description="What to avoid, if given.")
    image_upload_id: str | None = Field(default=None, description="The first input image.")
    last_image_upload_id: str | None = Field(
        default=None, description="The closing image (first_last_frame)."
    )
    extend_from: str | None = Field(default=None, description="The job this one continues.")
    promoted_from: str | None = Field(
        default=None, description="The draft this final version was made from."
    )
    camera: str | None = Field(
        default=None,
        description="The camera move: the one requested, else the one read from the prompt.",
    )
    camera_source: str | None = Field(
        default=None,
        description="Where `camera` came from: `request`, `prompt` or `default` "
        "(null for models without camera moves).",
    )
    duration: float | None = Field(default=None, description="Requested length in seconds.")
    fps: int | None = Field(default=None, description="Frames per second.")
    aspect_ratio: str | None = Field(default=None, description="16:9, 9:16, 1:1, 4:5 or 4:3.")
    resolution: str | None = Field(default=None, description="480p, 720p or 1080p.")
    label_position: str | None = Field(
        default=None, description="Where the AI-generated banner is drawn."
    )
    seed: int | None = Field(default=None, description="The random seed used.")
    frames: int | None = Field(default=None, description="Requested frame count, if given.")
    width: int | None = Field(default=None, description="Requested width, if given.")
    height: int | None = Field(default=None, description="Requested height, if given.")
    steps: int | None = Field(default=None, description="Requested denoising steps, if given.")
    guidance: float | None = Field(default=None, description="Requested guidance, if given.")
    preset: str | None = Field(default=None, description="draft or final, if given.")
    visible_label: bool = Field(default=True, description="Whether the visible label is drawn.")
    parameters: dict[str, Any] | None = Field(
        default=None, description="What the backend runs, after defaults and presets."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Things about the request the creator should know "
        "(e.g. the source image is upscaled more than 2x).",
    )
    priority: int = Field(default=0, description="Queue priority (higher runs first).")
    external_id: str | None = Field(default=None, description="The client's idempotency id.")
    callback_url: str | None = Field(default=None, description="Webhook URL, if given.")
    progress: float = Field(default=0.0, description="0 to 1.")
    stage: str | None = Field(default=None, description="What the worker is doing now.")
    attempt: int = Field(default=0, description="How many times a worker started the job.")
    created_at: str | None = Field(default=None, description="ISO 8601 (UTC).")
    started_at: str | None = Field(default=None, description="ISO 8601 (UTC).")
    finished_at: str | None = Field(default=None, description="ISO 8601 (UTC).")
    output: VideoOutput | None = Field(default=None, description="Set once succeeded.")
    error: VideoError | None = Field(default=None, description="Why it failed or was blocked.")
    timings: dict[str, Any] = Field(default_factory=dict, description="Seconds per stage.")
    device: str | None = Field(default=None, description="The device that ran it.")
    compute: dict[str, Any] | None = Field(default=None, description="Measured compute.")
    credits: int = Field(default=0, description="Credits quoted and reserved at submit.")
    credits_charged: int = Field(
        default=0,
        description="Credits charged on the final status (0 when failed, cancelled or blocked).",
    )
    billing: str | None = Field(default=None, description="none, reserved, captured or released.")
    cost_usd: float | None = Field(default=None, description="Measured cost in USD.")
    cache_hit: bool = Field(default=False, description="Answered from the result cache.")
    cached_from: str | None = Field(default=None, description="The job it was answered from.")
    moderation: dict[str, Any] | None = Field(
        default=None, description="Policy decisions: decision and categories per stage."
    )
    deleted: bool = Field(
        default=False,
        description="Deleted by DELETE /v1/videos/{id}: the record stays, its files are removed.",
    )
    deleted_at: str | None = Field(default=None, description="ISO 8601 (UTC), once deleted.")
    has_audio: bool | None = Field(
        default=None,
        description="Whether the output carries a sound track (kept from the model's or the "
        "extended clip's sound); null until an output is stored.",
    )


class VideoList(ApiModel):
    object: str = Field(default="list", description="Always `list`.")
    data: list[Video] = Field(description="Newest first.")
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page.")


def public(model: type[ApiModel], data: dict[str, Any]) -> dict[str, Any]:
    """`data` as `model` sends it: the JSON the API answers with (FastAPI validates a route's
    return value into its response model and dumps it the same way)."""
    return model.model_validate(data).model_dump(mode="json")
