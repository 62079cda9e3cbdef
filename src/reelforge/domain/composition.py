"""A composition: what a promo clip shows over time — scenes over the input images (each a
camera move, joined by transitions), text and logo layers, and an end card.

It is data inside a JobSpec (`JobSpec.composition`), so a templated clip is an ordinary job:
validated at the edge, moderated (every text layer, like a prompt), priced, rendered by the
motion backend, labelled and signed like any other. Boxes are fractions of the frame
(x, y, width, height in 0..1); the template that made the composition already placed them
inside the aspect's safe area. Times are seconds from the start of the clip.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reelforge.domain.camera import Camera

MAX_SCENES = 12
MAX_LAYERS = 16
MAX_LAYER_CHARS = 400
COUNTDOWN = "{countdown}"  # in a text layer: the time left, ticking every second

Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, Field(ge=0.0, le=120.0)]


class Transition(StrEnum):
    CUT = "cut"
    FADE = "fade"  # cross-fade
    FLOW = "flow"  # optical-flow interpolation from the last frame to the next first frame


class Align(StrEnum):
    START = "start"  # left in left-to-right text, right in right-to-left text
    CENTER = "center"
    END = "end"


class Box(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    x: Fraction
    y: Fraction
    w: Fraction
    h: Fraction

    @model_validator(mode="after")
    def _inside(self) -> Box:
        if self.w <= 0 or self.h <= 0 or self.x + self.w > 1.0001 or self.y + self.h > 1.0001:
            raise ValueError("a box must have a size and lie inside the frame")
        return self


class Scene(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    image: int = Field(ge=0, lt=MAX_SCENES + 1)  # index into the job's images
    duration: Seconds = Field(gt=0.0)
    camera: Camera = Camera.ZOOM_IN
    transition: Transition = Transition.CUT  # into this scene from the one before
    transition_duration: Seconds = 0.0


class TextLayer(BaseModel):
    """Text drawn in `box`: wrapped to the box, then shrunk from `size` down to `min_size`
    (fractions of the frame height) until it fits; never drawn outside the box."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    text: str = Field(min_length=1, max_length=MAX_LAYER_CHARS)
    box: Box
    size: float = Field(default=0.06, gt=0.0, le=0.5)
    min_size: float = Field(default=0.02, gt=0.0, le=0.5)
    color: Colour = "#ffffff"
    plate: Colour | None = None  # a rounded plate behind the text
    align: Align = Align.CENTER
    start: Seconds = 0.0
    end: Seconds | None = None  # None: to the end of the clip
    countdown: int | None = Field(default=None, ge=0, le=100 * 86400)  # seconds left at 0

    @field_validator("text")
    @classmethod
    def _no_control_chars(cls, v: str) -> str:
        if any((ord(c) < 32 and c != "\n") or 127 <= ord(c) < 160 for c in v):
            raise ValueError("text contains control characters")
        if not v.strip():
            raise ValueError("text is blank")
        return v

    @model_validator(mode="after")
    def _sizes(self) -> TextLayer:
        if self.min_size > self.size:
            raise ValueError("min_size is larger than size")
        if (COUNTDOWN in self.text) != (self.countdown is not None):
            raise ValueError(f"a countdown layer needs both {COUNTDOWN} in its text and countdown")
        return self


class LogoLayer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    image: int = Field(ge=0, lt=MAX_SCENES + 1)
    box: Box
    start: Seconds = 0.0
    end: Seconds | None = None


class EndCard(BaseModel):
    """Plain frames in `background` after the last scene (logo and texts go on layers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    duration: Seconds = Field(gt=0.0)
    background: Colour = "#111111"
    transition_duration: Seconds = 0.4  # a cross-fade into the card


class Composition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scenes: tuple[Scene, ...] = Field(min_length=1, max_length=MAX_SCENES)
    texts: tuple[TextLayer, ...] = Field(default=(), max_length=MAX_LAYERS)
    logos: tuple[LogoLayer, ...] = Field(default=(), max_length=4)
    end_card: EndCard | None = None
    template: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9_-]+$")

    @property
    def duration(self) -> float:
        """Seconds from the first frame to the last: scenes, transitions and the end card."""
        total = sum(s.duration + self.transition_of(i) for i, s in enumerate(self.scenes))
        if self.end_card is not None:
            total += self.end_card.duration
        return total

    def transition_of(self, index: int) -> float:
        """Seconds of transition frames before scene `index` (none before the first, or for
        a cut)."""
        scene = self.scenes[index]
        return (
            scene.transition_duration if index and scene.transition is not Transition.CUT else 0.0
        )

    @property
    def image_count(self) -> int:
        """How many input images the composition refers to."""
        used = [s.image for s in self.scenes] + [logo.image for logo in self.logos]
        return max(used) + 1

    def overlay_texts(self) -> list[str]:
        """Every text the clip shows (what moderation reads, like a prompt)."""
        return [_COUNTDOWN_RE.sub("00:00:00", t.text) for t in self.texts]


_COUNTDOWN_RE = re.compile(re.escape(COUNTDOWN))
