"""The visible "AI-generated" label: a banner over the opening seconds and a corner badge on
every frame, drawn with a bundled font (Latin and the CJK glyphs of the labels we ship, so
"AI生成" renders on a machine with no CJK fonts).

Text height is at least 5% of the frame's shorter side (the banner's 8%); white text on a
translucent dark box stays legible on light and dark content. Overlays are rendered once per
frame size and alpha-blended into the region they cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BANNER_SECONDS = 2.0
BADGE_HEIGHT = 0.05  # text height as a share of the shorter side
BANNER_HEIGHT = 0.08
BOX_ALPHA = 0.62
_FONT = "label-font.ttf"


@dataclass(frozen=True)
class Overlay:
    """An RGBA patch and where it goes: (x, y) of its top-left corner."""

    x: int
    y: int
    rgb: np.ndarray  # float32 (h, w, 3)
    alpha: np.ndarray  # float32 (h, w, 1)

    def apply(self, frame: np.ndarray) -> None:
        # clipped to the frame: on very small frames the label is larger than the picture
        y0, x0 = max(0, self.y), max(0, self.x)
        y1 = min(frame.shape[0], self.y + self.alpha.shape[0])
        x1 = min(frame.shape[1], self.x + self.alpha.shape[1])
        if y1 <= y0 or x1 <= x0:
            return
        alpha = self.alpha[y0 - self.y : y1 - self.y, x0 - self.x : x1 - self.x]
        rgb = self.rgb[y0 - self.y : y1 - self.y, x0 - self.x : x1 - self.x]
        region = frame[y0:y1, x0:x1].astype(np.float32)
        blended = region * (1.0 - alpha) + rgb * alpha
        frame[y0:y1, x0:x1] = (blended + 0.5).astype(np.uint8)


def _font_path() -> str:
    return str(resources.files("reelforge").joinpath("assets", _FONT))


def _font_for(text: str, text_height: int) -> ImageFont.FreeTypeFont:
    """The smallest font size whose rendered `text` is at least `text_height` pixels tall."""
    size = max(6, text_height)
    while True:
        font = ImageFont.truetype(_font_path(), size)
        _, top, _, bottom = font.getbbox(text)
        if bottom - top >= text_height or size > 4 * text_height:
            return font
        size += 1


def text_height(width: int, height: int, share: float) -> int:
    return max(8, int(np.ceil(share * min(width, height))))


@lru_cache(maxsize=32)
def render(text: str, width: int, height: int, share: float, corner: str) -> Overlay:
    """The overlay for `text` at `share` of the shorter side, in a corner or centred."""
    font = _font_for(text, text_height(width, height, share))
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    pad = max(4, (bottom - top) // 3)
    box_w, box_h = right - left + 2 * pad, bottom - top + 2 * pad
    box_w, box_h = min(box_w, width), min(box_h, height)
    patch = Image.new("RGBA", (box_w, box_h), (0, 0, 0, int(255 * BOX_ALPHA)))
    ImageDraw.Draw(patch).text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 255))
    array = np.asarray(patch, dtype=np.float32) / 255.0
    margin = max(4, int(0.02 * min(width, height)))
    if corner == "bottom-right":
        x, y = width - box_w - margin, height - box_h - margin
    elif corner == "bottom-centre":  # the mirror image of "centre", in the lower third
        x, y = (width - box_w) // 2, min(height - box_h - margin, height - height // 6 - box_h)
    else:  # centred, in the upper third: readable, away from subtitles
        x, y = (width - box_w) // 2, max(margin, height // 6)
    return Overlay(max(0, x), max(0, y), array[..., :3] * 255.0, array[..., 3:4])


# label_position (JobSpec) -> where render() puts the banner
BANNER_PLACES = {"top": "centre", "bottom": "bottom-centre"}


class VisibleLabel:
    """Labels the frames of one clip: banner for the opening seconds, badge throughout.

    `position` is the banner's place: "top" (upper third, the default) or "bottom" (lower
    third, above the badge) so it can be kept off the product."""

    def __init__(self, text: str, width: int, height: int, fps: int, position: str = "top"):
        self.text = text
        self.banner_frames = max(1, round(BANNER_SECONDS * fps))
        self.badge = render(text, width, height, BADGE_HEIGHT, "bottom-right")
        self.banner = render(text, width, height, BANNER_HEIGHT, BANNER_PLACES[str(position)])

    def __call__(self, index: int, frame: np.ndarray) -> np.ndarray:
        if index < self.banner_frames:
            self.banner.apply(frame)
        self.badge.apply(frame)
        return frame


def badge_score(frame: np.ndarray, text: str) -> float:
    """How closely the bottom-right corner of a decoded frame matches our badge for `text`
    (normalised correlation in [-1, 1]); used by `reelforge verify`."""
    h, w = frame.shape[:2]
    badge = render(text, w, h, BADGE_HEIGHT, "bottom-right")
    bh, bw = badge.alpha.shape[:2]
    region = frame[badge.y : badge.y + bh, badge.x : badge.x + bw].astype(np.float32).mean(axis=2)
    expected = (badge.rgb * badge.alpha).mean(axis=2)  # the text (the box is dark)
    a, b = region - region.mean(), expected - expected.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


LABEL_WORK_HEIGHT = 360  # detection works on frames scaled to this shorter side (or less)
# template sizes tried: around the frame-relative one, and larger, for a copy cropped to
# 85-95 % (the label keeps its size while the frame shrinks)
_SEARCH_SCALES = (0.94, 1.0, 1.06, 1.12, 1.18)
_REFERENCE_SIDE = 720  # templates are rendered at least this large, then scaled
MIN_WINDOW_STD = 20.0  # luma std a window needs to be compared (a label's box and text: ~60)
# A window counts only where its fine detail (stroke-scale, smooth shading removed) matches our
# glyphs by this much more than it matches the same glyphs mirrored left-right or flipped
# upside down. Those decoys share the label's ink profile along each axis, which is all a
# gradient, a band of stripes or a box of other words can match: without the check, a plain
# vertical gradient or banding scored 0.60-0.68 (text rows have more ink low than high).
# Measured (margin at the best window): banner and badge, kept 0.5x-1x, 85 % crops, JPEG q60:
# >= 0.32; the badge alone at 320x180: >= 0.23; unmarked pictures (gradients, banding,
# stripes, checkerboards, noise, other captions in our font, photos; 160x120 to 640x360):
# <= 0.13. Real clips (tests/provenance): the label passes at 0.3, the crops fail at 0.4.
MIN_STRUCTURE_MARGIN = 0.2
# windows correlating less than this are no label whatever the threshold (verify's is 0.6): the
# structure check, 4x the cost of the match, runs only where a window reaches it
_STRUCTURE_FLOOR = 0.3


@lru_cache(maxsize=64)
def _expected(text: str, width: int, height: int, share: float, scale: float) -> np.ndarray:
    """The luma a clean overlay would show in a `width` x `height` frame, `scale` times its
    nominal size, as a matchTemplate template (text bright, box dark). Rendered at a reference
    size and resized down, as a platform's scaler does: at small sizes the font's own rendering
    (hinting, rounded sizes) drifts from a scaled copy of the label."""
    import cv2

    factor = max(1.0, _REFERENCE_SIDE / min(width, height))
    patch = render(text, round(width * factor), round(height * factor), share, "bottom-right")
    luma = (patch.rgb * patch.alpha).mean(axis=2).astype(np.float32)
    size = (
        max(1, round(luma.shape[1] * scale / factor)),
        max(1, round(luma.shape[0] * scale / factor)),
    )
    return np.ascontiguousarray(cv2.resize(luma, size, interpolation=cv2.INTER_AREA))


def label_score(frame: np.ndarray, text: str) -> float:
    """How well a decoded frame of any size shows our label for `text`: the best normalised
    correlation in [-1, 1] of the badge or the banner (rendered for the frame's size, at
    ``_SEARCH_SCALES`` times it) anywhere in the top or bottom 40 % of the frame.
    Size-independent (a copy kept at 0.5x or 0.75x, or cropped) and position-independent (the
    label may be at the top or the bottom, left, centre or right); used by `reelforge verify`."""
    h, w = frame.shape[:2]
    gray = frame.astype(np.float32).mean(axis=2) if frame.ndim == 3 else frame.astype(np.float32)
    ratio = min(1.0, LABEL_WORK_HEIGHT / min(w, h))
    if ratio < 1.0:
        import cv2

        w, h = max(1, round(w * ratio)), max(1, round(h * ratio))
        gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
    band = int(0.4 * h)
    regions = (gray[:band], gray[h - band :])
    best = -1.0
    for share in (BADGE_HEIGHT, BANNER_HEIGHT):
        for scale in _SEARCH_SCALES:
            template = _expected(text, w, h, share, scale)
            for region in regions:
                best = max(best, _match(region, template))
    return best


def _match(region: np.ndarray, template: np.ndarray) -> float:
    """Best TM_CCOEFF_NORMED score of `template` in `region`, over windows with the contrast a
    label has (a near-flat window makes the normalised score meaningless: 0/0) and the glyph
    structure of the label (`_structure`)."""
    import cv2

    th, tw = template.shape
    if th > region.shape[0] or tw > region.shape[1] or float(template.std()) == 0.0:
        return -1.0
    scores = cv2.matchTemplate(region, template, cv2.TM_CCOEFF_NORMED)
    mean = cv2.blur(region, (tw, th), borderType=cv2.BORDER_REFLECT)
    var = cv2.blur(region * region, (tw, th), borderType=cv2.BORDER_REFLECT) - mean * mean
    oy, ox = th // 2, tw // 2
    var = var[oy : oy + scores.shape[0], ox : ox + scores.shape[1]]
    keep = (var >= MIN_WINDOW_STD**2) & np.isfinite(scores) & (scores >= _STRUCTURE_FLOOR)
    if keep.any():  # the structure check, on the part of the region holding candidates only
        ys, xs = np.nonzero(keep)
        y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
        keep[y0:y1, x0:x1] &= _structure(region, template, y0, y1, x0, x1) >= MIN_STRUCTURE_MARGIN
    scores[~keep] = -1.0
    return float(scores.max()) if scores.size else -1.0


def _structure(
    region: np.ndarray, template: np.ndarray, y0: int, y1: int, x0: int, x1: int
) -> np.ndarray:
    """For the windows [y0:y1, x0:x1] of matchTemplate's map: how much better each window's
    fine detail correlates with our glyphs than with the best of two decoys, the glyphs
    mirrored left-right and flipped upside down. Both images are high-passed at stroke scale
    first (a Gaussian of a quarter of the template's height subtracted), so smooth shading
    contributes nothing; the decoys have the label's ink profile along one axis each, so
    stripes, banding, ramps and boxes of other text, which match only such profiles, score
    about as well against a decoy as against the label and get a margin near 0. Our label
    scores 0.2 or more."""
    import cv2

    th, tw = template.shape
    sigma = max(0.8, th / 4)
    pad = int(np.ceil(3 * sigma))  # context for the blur around the windows' pixels
    py0, px0 = max(0, y0 - pad), max(0, x0 - pad)
    py1, px1 = min(region.shape[0], y1 + th - 1 + pad), min(region.shape[1], x1 + tw - 1 + pad)

    def high(a: np.ndarray) -> np.ndarray:
        return a - cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    r = high(np.ascontiguousarray(region[py0:py1, px0:px1]))
    r = np.ascontiguousarray(r[y0 - py0 : y1 - py0 + th - 1, x0 - px0 : x1 - px0 + tw - 1])
    t = high(template)
    if float(t.std()) == 0.0:
        return np.full((y1 - y0, x1 - x0), -1.0, np.float32)
    own = cv2.matchTemplate(r, t, cv2.TM_CCOEFF_NORMED)
    decoy = np.maximum(
        cv2.matchTemplate(r, np.ascontiguousarray(t[:, ::-1]), cv2.TM_CCOEFF_NORMED),
        cv2.matchTemplate(r, np.ascontiguousarray(t[::-1]), cv2.TM_CCOEFF_NORMED),
    )
    margin = own - np.maximum(decoy, 0.0)
    margin[~np.isfinite(margin)] = -1.0
    return margin
