"""What a user asks for: a JobSpec, validated once at the edge and stored with the job."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reelforge.domain.camera import Camera as Camera
from reelforge.domain.composition import Composition

MAX_PROMPT_CHARS = 2500
MAX_DURATION_S = 60.0
MIN_DURATION_S = 0.5
DEFAULT_FPS = 24


class Mode(StrEnum):
    TEXT2VIDEO = "text2video"
    IMAGE2VIDEO = "image2video"  # the image is the first frame
    FIRST_LAST_FRAME = "first_last_frame"  # images[0] opens the clip, images[1] closes it
    EXTEND = "extend"  # continue from the last frame of an earlier job's output (images[0])
    FRAMES2VIDEO = "frames2video"  # images[0] -> images[1] by optical-flow interpolation (CPU)


class Preset(StrEnum):
    """Cost presets of neural models: `draft` is a cheap preview (fewer steps, smaller frame,
    step cache on) that can be promoted to `final` with the same seed and inputs."""

    DRAFT = "draft"
    FINAL = "final"


MAX_FRAMES = 1441
MAX_SIDE = 4096
MAX_STEPS = 200


class AspectRatio(StrEnum):
    LANDSCAPE = "16:9"
    PORTRAIT = "9:16"
    SQUARE = "1:1"
    FEED = "4:5"  # the tallest shape social feeds show uncropped
    CLASSIC = "4:3"


class LabelPosition(StrEnum):
    """Where the AI-generated banner of the opening seconds is drawn (the corner badge stays
    bottom right): `top` (the default, as always) or `bottom`, to keep it off the product."""

    TOP = "top"
    BOTTOM = "bottom"


class Resolution(StrEnum):
    P480 = "480p"
    P720 = "720p"
    P1080 = "1080p"


# Width of a 16:9 frame for each resolution; 854 keeps 480p even (H.264 yuv420p needs even sizes).
_LONG_SIDE = {Resolution.P480: 854, Resolution.P720: 1280, Resolution.P1080: 1920}
_SHORT_SIDE = {Resolution.P480: 480, Resolution.P720: 720, Resolution.P1080: 1080}


def frame_size(aspect: AspectRatio, resolution: Resolution) -> tuple[int, int]:
    """Output (width, height) in pixels for an aspect ratio and a named resolution."""
    long, short = _LONG_SIDE[resolution], _SHORT_SIDE[resolution]
    if aspect is AspectRatio.LANDSCAPE:
        return long, short
    if aspect is AspectRatio.PORTRAIT:
        return short, long
    if aspect is AspectRatio.FEED:  # the short side is the width: 1080x1350 at 1080p
        return short, _even(short * 5 / 4)
    if aspect is AspectRatio.CLASSIC:  # the short side is the height: 1440x1080 at 1080p
        return _even(short * 4 / 3), short
    return short, short


def _even(side: float) -> int:
    return 2 * round(side / 2)


Prompt = Annotated[str, Field(max_length=MAX_PROMPT_CHARS)]


class JobSpec(BaseModel):
    """Everything that determines a generation. Frozen: a job's spec never changes.

    `images` holds content keys of stored blobs (uploads are resolved before a spec is built).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    mode: Mode
    prompt: Prompt = ""
    negative_prompt: Prompt | None = None
    images: tuple[str, ...] = ()
    camera: Camera | None = None
    duration: float = Field(default=5.0, ge=MIN_DURATION_S, le=MAX_DURATION_S)
    fps: int = Field(default=DEFAULT_FPS, ge=1, le=60)
    aspect_ratio: AspectRatio = AspectRatio.LANDSCAPE
    resolution: Resolution = Resolution.P720
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    model: str = "motion"
    # Neural generation controls; None means "the model's default" (resolved by the backend).
    frames: int | None = Field(default=None, ge=1, le=MAX_FRAMES)  # overrides duration * fps
    width: int | None = Field(default=None, ge=16, le=MAX_SIDE)
    height: int | None = Field(default=None, ge=16, le=MAX_SIDE)
    steps: int | None = Field(default=None, ge=1, le=MAX_STEPS)
    guidance: float | None = Field(default=None, ge=0.0, le=30.0)
    preset: Preset | None = None
    extends: str | None = Field(default=None, max_length=40)  # EXTEND: the source job's id
    promoted_from: str | None = Field(default=None, max_length=40)  # a draft made final
    visible_label: bool = True  # False: exported without the visible label (where allowed)
    label_position: LabelPosition = LabelPosition.TOP
    external_id: str | None = Field(default=None, min_length=1, max_length=128)
    callback_url: str | None = Field(default=None, max_length=2048)
    # A promo clip's scenes, overlays and end card (commerce templates; the motion model).
    # Left out of dumps when absent, so stored specs and cache keys of other jobs keep their
    # shape.
    composition: Composition | None = Field(default=None, exclude_if=lambda v: v is None)

    @field_validator("prompt", "negative_prompt")
    @classmethod
    def _no_control_chars(cls, v: str | None) -> str | None:
        if v is None:
            return v
        bad = [c for c in v if (ord(c) < 32 and c not in "\n\t") or ord(c) == 127]
        if bad:
            raise ValueError("prompt contains control characters")
        return v

    @model_validator(mode="after")
    def _mode_matches_inputs(self) -> JobSpec:
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height, or neither")
        if self.composition is not None:
            if self.mode is not Mode.IMAGE2VIDEO:
                raise ValueError("a composition is an image2video job")
            if len(self.images) != self.composition.image_count:
                raise ValueError(
                    f"the composition uses {self.composition.image_count} image(s), "
                    f"got {len(self.images)}"
                )
            return self
        needed = {
            Mode.TEXT2VIDEO: 0,
            Mode.IMAGE2VIDEO: 1,
            Mode.EXTEND: 1,
            Mode.FIRST_LAST_FRAME: 2,
            Mode.FRAMES2VIDEO: 2,
        }[self.mode]
        if len(self.images) != needed:
            raise ValueError(f"{self.mode} needs {needed} input image(s), got {len(self.images)}")
        if self.mode is Mode.TEXT2VIDEO and not self.prompt.strip():
            raise ValueError("text2video needs a prompt")
        if self.mode is Mode.EXTEND and not self.extends:
            raise ValueError("extend needs the id of the job it continues")
        return self

    @property
    def size(self) -> tuple[int, int]:
        """(width, height): explicit if given, else from aspect ratio and resolution."""
        if self.width is not None and self.height is not None:
            return self.width, self.height
        return frame_size(self.aspect_ratio, self.resolution)

    @property
    def frame_count(self) -> int:
        """Explicit `frames` if given, else duration * fps."""
        if self.frames is not None:
            return self.frames
        return max(1, round(self.duration * self.fps))
