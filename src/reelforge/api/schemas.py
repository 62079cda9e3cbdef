"""The public shapes of the HTTP API: every JSON response is one of these models.

They are what /docs and /redoc show and what FastAPI checks each response against. They are
tolerant on purpose (`extra="allow"`): a key a service starts returning passes through rather
than failing the response, but it is undocumented until it is declared here — so declare a new
key (or a new model for a new route) in this module when you add it;
tests/integration/test_api_schemas.py fails on keys the schema does not declare. The job's
shape (Video, VideoList) lives in services/jobs/shapes.py, because the CLI's `--json`
prints it through the same models.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from reelforge.services.jobs.shapes import ApiModel as ApiModel
from reelforge.services.jobs.shapes import Video as Video
from reelforge.services.jobs.shapes import VideoError as VideoError
from reelforge.services.jobs.shapes import VideoList as VideoList
from reelforge.services.jobs.shapes import VideoOutput as VideoOutput

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
    commerce_usage: Any = Field(
        default=None,
        description="Promo clips of commerce batches: per SKU, shares, template mix.",
    )
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


class AdminProviderModel(ApiModel):
    object: str = Field(default="model", description="Always `model`.")
    name: str = Field(description="Use as `model` in POST /v1/videos.")
    provider: str = Field(description="kling, runway, luma, minimax, google or openai.")
    remote_model: str = Field(description="The provider's model id.")
    modes: list[str] = Field(default_factory=list, description="Modes the model accepts.")
    queue: str = Field(description="The queue its jobs go to (`providers`).")
    prices: dict[str, Any] | None = Field(
        default=None, description="Its own price sheet; null: the built-in dated sheet."
    )
    created_at: str
    updated_at: str


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


# -- commerce ---------------------------------------------------------------------------------


class CommerceCounts(ApiModel):
    pending: int = Field(description="Items not submitted yet.")
    queued: int = Field(description="Items whose job is queued or running.")
    review: int = Field(description="Items whose job waits for a person (moderation).")
    succeeded: int = Field(description="Items with a finished clip.")
    failed: int = Field(description="Items whose job failed, was blocked or cancelled.")


class CommerceRowError(ApiModel):
    row: int = Field(description="1-based data row (CSV) or the product's index + 1 (JSON).")
    sku: str | None = None
    field: str = Field(description="The column or key that is wrong.")
    code: str
    message: str


class CommerceItemError(ApiModel):
    code: str | None = None
    message: str | None = None


class CommerceItem(ApiModel):
    sku: str
    aspect: str = Field(description="9:16, 1:1 or 16:9.")
    title: str | None = None
    status: str = Field(description="pending, queued, review, succeeded or failed.")
    job_id: str | None = Field(default=None, description="The item's job (`vid_...`).")
    credits: int | None = Field(default=None, description="Credits its job was charged.")
    cost_usd: float | None = None
    path: str | None = Field(
        default=None, description="Where the clip sits in the batch's zip (`9x16/SKU.mp4`)."
    )
    error: CommerceItemError | None = Field(
        default=None, description="Why it failed, or `held_for_review`."
    )


class CommerceBatch(ApiModel):
    object: str = Field(default="commerce_batch", description="Always `commerce_batch`.")
    id: str
    status: str = Field(description="running or done (nothing left to submit or render).")
    template: str = Field(description="showcase, sale or sequence.")
    aspects: list[str]
    resolution: str
    catalog: str | None = Field(default=None, description="The catalogue's file name.")
    products: int = Field(description="Valid products in the catalogue.")
    rejected_rows: list[CommerceRowError] = Field(
        description="Catalogue rows left out, with the reason."
    )
    total: int = Field(description="Items: products times aspects.")
    counts: CommerceCounts
    progress: float = Field(description="Share of items finished (succeeded or failed), 0..1.")
    credits: int = Field(description="Credits charged for the clips made so far.")
    cost_usd: float
    created_at: str = Field(description="ISO 8601 (UTC).")
    items: list[CommerceItem] | None = Field(
        default=None, description="Each product in each aspect (not in lists)."
    )


class CommerceBatchList(ApiModel):
    object: str = Field(default="list", description="Always `list`.")
    data: list[CommerceBatch] = Field(description="The newest 50 batches, newest first.")


class BrandKit(ApiModel):
    object: str = Field(default="brand_kit", description="Always `brand_kit`.")
    primary_color: str = Field(description="#rrggbb.")
    accent_color: str = Field(description="#rrggbb.")
    text_color: str = Field(description="#rrggbb.")
    background_color: str = Field(description="#rrggbb.")
    font: str = Field(description="One of the shipped fonts (noto-sans, ...).")
    tagline: str | None = None
    cta: str = Field(description="The call to action (`Shop now`).")
    logo: str | None = Field(default=None, description="An upload id of the account.")
