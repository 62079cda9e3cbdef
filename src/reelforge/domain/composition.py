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

    x: Fraction = Field(description="Left edge, as a fraction of the frame's width (0..1).")
    y: Fraction = Field(description="Top edge, as a fraction of the frame's height (0..1).")
    w: Fraction = Field(description="Width, as a fraction of the frame's width.")
    h: Fraction = Field(description="Height, as a fraction of the frame's height.")

    @model_validator(mode="after")
    def _inside(self) -> Box:
        if self.w <= 0 or self.h <= 0 or self.x + self.w > 1.0001 or self.y + self.h > 1.0001:
            raise ValueError("a box must have a size and lie inside the frame")
        return self


class Scene(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    image: int = Field(
        ge=0,
        lt=MAX_SCENES + 1,
        description="Which of the job's images (index into image_upload_ids) the scene shows.",
    )
    duration: Seconds = Field(gt=0.0, description="Seconds the scene lasts.")
    camera: Camera = Field(default=Camera.ZOOM_IN, description="The camera move over the image.")
    transition: Transition = Field(
        default=Transition.CUT,
        description="How the scene follows the one before: cut, fade (cross-fade) or flow "
        "(interpolated from the last frame to the next first frame).",
    )
    transition_duration: Seconds = Field(
        default=0.0, description="Seconds of the transition into this scene (0 for a cut)."
    )


class TextLayer(BaseModel):
    """Text drawn in `box`: wrapped to the box, then shrunk from `size` down to `min_size`
    (fractions of the frame height) until it fits; never drawn outside the box."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[a-z_]+$",
        description="What the text is (title, price, cta, ...): the template slot it fills.",
    )
    text: str = Field(
        min_length=1,
        max_length=MAX_LAYER_CHARS,
        description=f"The text (moderated like the prompt); {COUNTDOWN} shows the time left "
        "of a countdown layer.",
    )
    box: Box = Field(description="Where the text is drawn; it never leaves the box.")
    size: float = Field(
        default=0.06, gt=0.0, le=0.5, description="Text height, as a fraction of the frame's."
    )
    min_size: float = Field(
        default=0.02,
        gt=0.0,
        le=0.5,
        description="The smallest height the text may shrink to before it is cut with an "
        "ellipsis (fraction of the frame's height).",
    )
    color: Colour = Field(default="#ffffff", description="Text colour, #rrggbb.")
    plate: Colour | None = Field(
        default=None,
        description="Colour of a rounded plate behind the text, #rrggbb; none: no plate.",
    )
    align: Align = Field(
        default=Align.CENTER,
        description="start, center or end of the box (start is the right in right-to-left text).",
    )
    start: Seconds = Field(default=0.0, description="Seconds from the clip's start it appears.")
    end: Seconds | None = Field(
        default=None, description="Seconds from the clip's start it goes; none: the clip's end."
    )
    countdown: int | None = Field(
        default=None,
        ge=0,
        le=100 * 86400,
        description=f"Seconds left at the clip's start, for a text with {COUNTDOWN}.",
    )

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

    image: int = Field(
        ge=0,
        lt=MAX_SCENES + 1,
        description="Which of the job's images (index into image_upload_ids) is the logo.",
    )
    box: Box = Field(description="The logo is scaled to fit the box, aspect kept, centred.")
    start: Seconds = Field(default=0.0, description="Seconds from the clip's start it appears.")
    end: Seconds | None = Field(
        default=None, description="Seconds from the clip's start it goes; none: the clip's end."
    )


class EndCard(BaseModel):
    """Plain frames in `background` after the last scene (logo and texts go on layers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    duration: Seconds = Field(gt=0.0, description="Seconds the end card lasts.")
    background: Colour = Field(default="#111111", description="Its colour, #rrggbb.")
    transition_duration: Seconds = Field(
        default=0.4, description="Seconds of the cross-fade into the card."
    )


class Composition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scenes: tuple[Scene, ...] = Field(
        min_length=1, max_length=MAX_SCENES, description="The scenes, in order."
    )
    texts: tuple[TextLayer, ...] = Field(
        default=(), max_length=MAX_LAYERS, description="Text layers over the scenes."
    )
    logos: tuple[LogoLayer, ...] = Field(
        default=(), max_length=4, description="Logo layers over the scenes."
    )
    end_card: EndCard | None = Field(
        default=None, description="Plain frames after the last scene; none: no end card."
    )
    template: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[a-z0-9_-]+$",
        description="The commerce template that built it (recorded, not applied).",
    )

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
