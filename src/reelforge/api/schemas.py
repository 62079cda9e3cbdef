"""The public shapes of the HTTP API: every JSON response is one of these models.

They are what /docs and /redoc show and what FastAPI checks each response against. They are
tolerant on purpose (`extra="allow"`): a key a service starts returning passes through rather
than failing the response, but it is undocumented until it is declared here — so declare a new
key (or a new model for a new route) in this module when you add it;
tests/integration/test_api_schemas.py fails on keys the schema does not declare.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reelforge.domain.job import JobStatus


class ApiModel(BaseModel):
    """Base of every response model: unknown keys pass through (see the module docstring)."""

    model_config = ConfigDict(extra="allow")


# -- errors -----------------------------------------------------------------------------------


class ErrorDetail(ApiModel):
    code: str = Field(
        description="Stable machine-readable code, e.g. `not_found`, "
        "`invalid_request`, `unknown_field`, `rate_limited`."
    )
    message: str = Field(description="What went wrong and what to do about it, for people.")
    field: str | None = Field(
        default=None, description="The request field the error is about, if any."
    )


class ErrorResponse(ApiModel):
    """The body of every 4xx and 5xx response."""

    error: ErrorDetail


# Declared on every route: what a failed request returns.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorResponse,
        "description": "The request was refused: `error.code` says "
        "why (401 no or bad key, 404 not found, 409 "
        "conflict, 413 body or file over its "
        "limit, 415 body is not JSON, 422 invalid "
        "field, 429 rate limit, queue full or "
        "budget: see `Retry-After`).",
    },
    "5XX": {
        "model": ErrorResponse,
        "description": "The server failed; the operator's logs have the details.",
    },
}


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


# -- uploads ----------------------------------------------------------------------------------


class Upload(ApiModel):
    id: str = Field(description="Use as `image_upload_id` (`upl_...`).")
    object: str = Field(default="upload", description="Always `upload`.")
    content_type: str = Field(description="image/jpeg, image/png or image/webp.")
    size_bytes: int = Field(description="Size of the file in bytes.")
    width: int = Field(description="Width in pixels.")
    height: int = Field(description="Height in pixels.")
    filename: str | None = Field(default=None, description="The client's file name.")
    sha256: str | None = Field(
        default=None,
        description="SHA-256 of the file: the same bytes uploaded again return this upload.",
    )
    created_at: str = Field(description="ISO 8601 (UTC).")
    deleted: bool = Field(default=False, description="Whether the upload was deleted.")
    deleted_at: str | None = Field(default=None, description="ISO 8601 (UTC), once deleted.")


# -- billing ----------------------------------------------------------------------------------


class Account(ApiModel):
    object: str = Field(default="account", description="Always `account`.")
    id: str
    name: str
    plan: str = Field(description="The plan's name.")
    plan_source: str | None = Field(default=None, description="operator or stripe.")
    segment: str | None = Field(default=None, description="creator, merchant or enterprise.")
    postpaid: bool = Field(default=False, description="Invoiced monthly instead of prepaid.")
    subscription_status: str | None = Field(
        default=None, description="Stripe's status of the subscription."
    )
    period_end: str | None = Field(default=None, description="End of the paid period.")
    priority: int | None = Field(default=None, description="The plan's queue priority.")
    concurrency: int | None = Field(default=None, description="Jobs that may run at once.")
    requests_per_minute: int | None = Field(default=None, description="Rate limit.")
    balance: dict[str, Any] = Field(description="Credits available, held, and by lot.")
    spent: dict[str, Any] = Field(default_factory=dict, description="Credits spent by period.")
    budgets: dict[str, Any] = Field(
        default_factory=dict, description="Daily and monthly budgets, per key too."
    )
    simulated: bool = Field(default=False, description="An account of the simulator.")


class Quote(ApiModel):
    object: str = Field(default="quote", description="Always `quote`.")
    credits: int = Field(description="What the request would cost in credits.")
    breakdown: dict[str, Any] = Field(default_factory=dict, description="How it was priced.")
    estimated_device_seconds: float | None = Field(
        default=None, description="Expected device time."
    )
    estimated_cost_usd: float | None = Field(default=None, description="Expected cost in USD.")
    device: str | None = Field(default=None, description="The device the estimate is for.")
    estimate_basis: str | None = Field(
        default=None, description="What the estimate rests on (or `none`)."
    )
    price_sheet: str | None = Field(default=None, description="The price sheet's version.")
    model: str
    mode: str | None = None
    duration: float | None = None
    resolution: str | None = None
    preset: str | None = None
    parameters: dict[str, Any] | None = Field(default=None, description="What would run.")
    plan: str | None = Field(default=None, description="The account's plan.")
    registered: bool = Field(
        default=True,
        description="False: an estimate for a model family not registered here (see `note`).",
    )
    family: str | None = Field(
        default=None, description="The family an unregistered model was priced as."
    )
    note: str | None = Field(default=None, description="How an estimate was made.")
    warnings: list[str] = Field(
        default_factory=list, description="As on the job: e.g. the source image is upscaled >2x."
    )
    balance: int | None = Field(default=None, description="Credits available now.")
    affordable: bool = Field(description="Whether the balance covers it.")


class CheckoutSession(ApiModel):
    object: str = Field(default="checkout_session", description="Always `checkout_session`.")
    id: str
    url: str = Field(description="Send the customer here.")


class WebhookAck(ApiModel):
    received: bool
    duplicate: bool = False


class KpiReport(ApiModel):
    """Unit economics, revenue, conversion, retention and cohorts (docs/kpis.md)."""

    object: str = Field(default="kpi_report", description="Always `kpi_report`.")
    # Sections are typed loosely on purpose: the report's tables evolve (docs/kpis.md).
    data: str | None = Field(default=None, description="real or simulated: what it covers.")
    price_sheet: str | None = Field(default=None, description="The price sheet's version.")
    window: dict[str, Any] | None = Field(default=None, description="since, until (UTC).")
    generations: int | None = Field(default=None, description="Finished generations.")
    total_cost_usd: float | None = Field(default=None, description="Measured compute cost.")
    average_generation_cost_usd: Any = Field(
        default=None, description="Overall and by model, plan, resolution."
    )
    gross_margin: Any = Field(default=None, description="Revenue less compute cost.")
    margins: Any = Field(default=None, description="The margins side by side, reconciled.")
    compute_waste: Any = Field(default=None, description="Cost of failed, cancelled, blocked.")
    revenue_usd: Any = Field(default=None, description="Cash received, by kind and plan.")
    paying_accounts: int | None = None
    arppu_usd: float | None = Field(default=None, description="Revenue per paying account.")
    free_to_paid_conversion: Any = None
    retention: Any = Field(default=None, description="d1, d7, d30.")
    weekly_cohorts: Any = None
    enterprise_share: Any = None
    commerce_share: Any = None
    verdict: Any = Field(default=None, description="Plain-language reading of the figures.")
    hint: str | None = Field(
        default=None,
        description="e.g. the database holds only simulated data: ask with simulated=true.",
    )


# -- models -----------------------------------------------------------------------------------


class ModelInfo(ApiModel):
    object: str = Field(default="model", description="Always `model`.")
    name: str = Field(description="Use as `model` in POST /v1/videos.")
    family: str
    task: str = Field(description="t2v, i2v or flf2v.")
    modes: list[str] = Field(default_factory=list, description="Modes the model accepts.")


class ModelList(ApiModel):
    object: str = Field(default="list", description="Always `list`.")
    data: list[ModelInfo]


# -- governance -------------------------------------------------------------------------------


class Moderation(ApiModel):
    object: str = Field(default="moderation", description="Always `moderation`.")
    policy: str = Field(description="The policy version in force.")
    decision: str = Field(description="allow, review or block.")
    categories: list[str] = Field(default_factory=list)
    results: list[dict[str, Any]] = Field(default_factory=list, description="Per input.")


class Review(ApiModel):
    object: str = Field(default="review", description="Always `review`.")
    id: str
    job_id: str
    status: str = Field(description="pending, approved, rejected or withdrawn.")


class ReviewList(ApiModel):
    object: str = Field(default="list", description="Always `list`.")
    data: list[Review]


class LikenessPerson(ApiModel):
    object: str = Field(default="likeness_person", description="Always `likeness_person`.")
    id: str
    name: str
    public_figure: bool = False
    consent: list[str] = Field(default_factory=list, description="Accounts allowed.")


class LikenessList(ApiModel):
    object: str = Field(default="list", description="Always `list`.")
    data: list[LikenessPerson]


class Verification(ApiModel):
    """What a file carries: the four marks and a verdict."""

    visible_label: Any = None
    aigc: dict[str, Any] | None = None
    watermark: Any = None
    c2pa: Any = None
    verdict: str = Field(description="ai-generated, suspected or unknown.")


class AdminModel(ModelInfo):
    path: str | None = Field(default=None, description="The local diffusers directory.")


class AdminModelList(ApiModel):
    object: str = Field(default="list", description="Always `list`.")
    data: list[AdminModel]


class WorkerView(ApiModel):
    id: str = Field(description="The worker's name: host:pid unless given.")
    queues: list[str]
    models: list[dict[str, str]] = Field(description="[{name, queue, device}] it serves.")
    device: str
    slots: int = Field(description="Jobs it runs at once.")
    busy: int = Field(description="Jobs it was running at its last heartbeat.")
    heartbeat_at: str
    seconds_since_heartbeat: float
    live: bool = Field(description="Heartbeat younger than RF_HEARTBEAT_TIMEOUT, not stopped.")


class WorkerList(ApiModel):
    object: str = Field(default="list", description="Always `list`.")
    data: list[WorkerView]


class Health(ApiModel):
    status: str = Field(description="ok or degraded (then the status code is 503).")
    version: str
    workers: list[WorkerView] = Field(
        default_factory=list,
        description="Live workers of the deployment, on any machine "
        "(from the worker registry in the database), newest heartbeat first.",
    )
    blobs: str | None = Field(
        default=None,
        description="The blob store takes a write: `ok`, or `error: CODE: what is "
        "wrong: the fix` (blob_bucket_missing, blob_access_denied, blob_store_unreachable, ...).",
    )
    data_dir: str | None = Field(
        default=None, description="The data directory is writable: `ok`, or `error: ...`."
    )
