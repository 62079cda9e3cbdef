"""The body of a submit (POST /v1/videos, the CLI, quotes): fields, limits and how a
validation error becomes an `InvalidRequest`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelforge.domain.composition import MAX_SCENES, Composition
from reelforge.domain.spec import (
    MAX_DURATION_S,
    MAX_FRAMES,
    MAX_PROMPT_CHARS,
    MAX_SIDE,
    MAX_STEPS,
    MIN_DURATION_S,
    AspectRatio,
    Camera,
    LabelPosition,
    Mode,
    Preset,
    Resolution,
)
from reelforge.errors import invalid_from

MAX_IMAGE_FIELD_CHARS = 48 * 1024 * 1024  # a data URI; the upload limit is checked after


class SubmitRequest(BaseModel):
    """The body of POST /v1/videos (and what the CLI builds). Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(
        default="",
        max_length=MAX_PROMPT_CHARS,
        description=(
            'What to generate; for the motion model, a camera move named here ("slow zoom out", '
            '"pan left") is used when `camera` is not given.'
        ),
    )
    negative_prompt: str | None = Field(
        default=None, max_length=MAX_PROMPT_CHARS, description="What to avoid (neural models)."
    )
    mode: Mode | None = Field(
        default=None,
        description=(
            "Inferred when omitted: extend_from → extend, two images → first_last_frame, "
            "one image → image2video, else text2video. frames2video: the first image to the "
            "last by optical-flow interpolation (CPU, motion model)."
        ),
    )
    image_upload_id: str | None = Field(
        default=None,
        max_length=40,
        description=("An upload (POST /v1/uploads) to animate: the first frame."),
    )
    last_image_upload_id: str | None = Field(
        default=None,
        max_length=40,
        description=("An upload that closes the clip (first_last_frame)."),
    )
    # An image in the request itself: an http(s) URL or a data:image/...;base64, URI; it
    # becomes an upload (services.jobs.image_input) before the job is submitted.
    image_url: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_FIELD_CHARS,
        description=("Instead of image_upload_id: an https URL or a data: URI of the first image."),
    )
    last_image_url: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_FIELD_CHARS,
        description="Instead of last_image_upload_id: an https "
        "URL or a data: URI of the closing image.",
    )
    image_upload_ids: list[str] | None = Field(
        default=None,
        max_length=MAX_SCENES + 1,
        description=(
            "Several uploads in order, instead of image_upload_id: the images a composition "
            "refers to by index (its scenes and logo)."
        ),
    )
    composition: Composition | None = Field(
        default=None,
        description=(
            "A promo clip (motion model): scenes over the images with camera moves and "
            "transitions, text and logo layers, an end card. Its texts are moderated like the "
            "prompt. Commerce templates build it."
        ),
    )
    extend_from: str | None = Field(
        default=None,
        max_length=40,
        description=("A succeeded job's id: continue from the last frame of its video."),
    )
    camera: Camera | None = Field(
        default=None,
        description=(
            "The camera move (motion model); omitted: read from the prompt, else zoom_in."
        ),
    )
    duration: float = Field(
        default=5.0, ge=MIN_DURATION_S, le=MAX_DURATION_S, description="Length in seconds."
    )
    fps: int | None = Field(
        default=None,
        ge=1,
        le=60,
        description="Frames per second; default: the model's (motion: 24).",
    )
    frames: int | None = Field(
        default=None,
        ge=1,
        le=MAX_FRAMES,
        description="Exact frame count; overrides duration x fps.",
    )
    width: int | None = Field(
        default=None,
        ge=16,
        le=MAX_SIDE,
        description=("Exact frame width (with height); overrides aspect_ratio and resolution."),
    )
    height: int | None = Field(
        default=None, ge=16, le=MAX_SIDE, description="Exact frame height (with width)."
    )
    steps: int | None = Field(
        default=None, ge=1, le=MAX_STEPS, description="Denoising steps (neural models)."
    )
    guidance: float | None = Field(
        default=None, ge=0.0, le=30.0, description="Guidance scale (neural models)."
    )
    preset: Preset | None = Field(
        default=None,
        description=("Neural models: draft (cheap preview, promotable to final) or final."),
    )
    # False: no visible label (only where the policy allows it and the account agreed to
    # label the content itself); the metadata, watermark and C2PA manifest are always kept.
    visible_label: bool = Field(
        default=True,
        description=(
            "False: no visible label (only where the policy allows it and the account agreed to "
            "label the content itself); metadata, watermark and C2PA are always kept."
        ),
    )
    label_position: LabelPosition = Field(
        default=LabelPosition.TOP,
        description=(
            "Where the AI-generated banner of the opening seconds goes: top (upper third) or "
            "bottom (lower third), to keep it off the product; the corner badge stays."
        ),
    )
    aspect_ratio: AspectRatio = Field(default=AspectRatio.LANDSCAPE, description="Frame shape.")
    resolution: Resolution = Field(
        default=Resolution.P720, description="480p, 720p or 1080p (the shorter side)."
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=2**32 - 1,
        description=(
            "Random seed; given, an identical earlier request may be answered from the cache."
        ),
    )
    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="A name from GET /v1/models; default: the deployment's.",
    )
    priority: int = Field(
        default=0, ge=0, le=9, description="0-9, higher first (raised to the plan's priority)."
    )
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description=(
            "Your idempotency id: repeating it with the same request returns the same job."
        ),
    )
    callback_url: str | None = Field(
        default=None,
        max_length=2048,
        description=("A URL that receives signed webhooks on each status change."),
    )

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SubmitRequest:
        """Build from untrusted input, turning validation errors into InvalidRequest."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise invalid_from(exc) from None
