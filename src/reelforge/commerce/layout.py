"""Safe areas per aspect, and how a template's box inside one becomes a frame box.

The margins keep text and logos clear of what platforms draw over a clip: in 9:16 feeds
(TikTok, Reels, Shorts) the top bar, the caption and buttons at the bottom and the action
column on the right; in 1:1 and 16:9 the usual title-safe margin (5% each side, as in
broadcast title safe at 90%).
"""

from __future__ import annotations

from reelforge.domain.composition import Box
from reelforge.domain.spec import AspectRatio

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
