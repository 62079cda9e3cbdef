"""Safe areas per aspect, and how a template's box inside one becomes a frame box.

The margins keep text and logos clear of what platforms draw over a clip: in 9:16 feeds
(TikTok, Reels, Shorts) the top bar, the caption and buttons at the bottom and the action
column on the right; in 1:1 and 16:9 the usual title-safe margin (5% each side, as in
broadcast title safe at 90%). Every box also keeps out of the band where the visible
"AI-generated" banner sits during the opening seconds (provenance/label.py: centred, from a
sixth of the height down, 8% of the shorter side high plus its padding), so no banner ever
hides a title, a price or a logo (templates.py refuses a layout that enters it).
"""

from __future__ import annotations

from reelforge.domain.composition import Box
from reelforge.domain.spec import AspectRatio, Resolution, frame_size
from reelforge.provenance.label import BANNER_HEIGHT, text_height

# (left, top, right, bottom) margins as fractions of the frame's width / height
SAFE_MARGINS: dict[AspectRatio, tuple[float, float, float, float]] = {
    AspectRatio.PORTRAIT: (0.06, 0.10, 0.14, 0.20),
    AspectRatio.SQUARE: (0.05, 0.05, 0.05, 0.05),
    AspectRatio.LANDSCAPE: (0.05, 0.05, 0.05, 0.05),
}
ASPECTS = tuple(SAFE_MARGINS)


def safe_area(aspect: AspectRatio) -> Box:
    left, top, right, bottom = SAFE_MARGINS[aspect]
    return Box(x=left, y=top, w=1 - left - right, h=1 - top - bottom)


def in_safe_area(aspect: AspectRatio, x: float, y: float, w: float, h: float) -> Box:
    """A box given as fractions of the aspect's safe area, as fractions of the frame."""
    area = safe_area(aspect)
    return Box(x=area.x + x * area.w, y=area.y + y * area.h, w=w * area.w, h=h * area.h)


def label_band(aspect: AspectRatio) -> tuple[float, float]:
    """(top, bottom) of the banner's band as fractions of the frame height, with a margin,
    at the largest of the named resolutions (the band is the same share at every size)."""
    width, height = frame_size(aspect, Resolution.P1080)
    box = text_height(width, height, BANNER_HEIGHT) * 1.7  # text plus its padding
    top = (height // 6) / height
    return top - 0.01, top + box / height + 0.01


def overlaps_label(aspect: AspectRatio, box: Box) -> bool:
    top, bottom = label_band(aspect)
    return box.y < bottom and box.y + box.h > top
