"""Text in any script drawn into a box: font fallback, shaping, wrapping, shrinking.

The fonts ship with the package (assets/fonts, Noto subsets, SIL OFL 1.1; see
tools/build_commerce_fonts.py): Latin/Greek/Cyrillic, Arabic, Simplified Chinese with kana,
and colour emoji. Each character is drawn with the first font that has it (coverage.json);
a run of one font is shaped by Pillow's libraqm layout (Arabic joins, right to left). A
paragraph whose first strong character is right-to-left lays its runs out right to left.

`fit_text` wraps at spaces (and between CJK characters, which have none), then shrinks the
font step by step until the lines fit the box; at the smallest size the last line that fits
ends with an ellipsis. Nothing is ever drawn outside the box.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parents[1] / "assets" / "fonts"
FONT_CHAIN = ("NotoSans-Bold.ttf", "NotoSansArabic-Bold.ttf", "NotoSansSC-Bold.otf")
EMOJI_FONT = "NotoColorEmoji.ttf"
EMOJI_STRIKE = 109  # the only size a CBDT colour-bitmap font renders at
LINE_SPACING = 1.25
SHRINK = 0.9  # each try is 10% smaller
FONTS = {"noto-sans": FONT_CHAIN}  # families a brand kit may name
ELLIPSIS = "…"
_JOINERS = {0x200D, 0xFE0F, 0xFE0E}


@cache
def _coverage() -> dict[str, frozenset[int]]:
    raw = json.loads((FONT_DIR / "coverage.json").read_text())
    return {name: frozenset(points) for name, points in raw.items()}


@cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / name), size, layout_engine=ImageFont.Layout.RAQM)


def _is_rtl(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("R", "AL")


def _is_neutral(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("WS", "ON", "CS", "ES", "ET", "BN", "NSM", "EN")


def font_for(ch: str) -> str | None:
    """The first shipped font that has `ch` (None: no font has it)."""
    point = ord(ch)
    coverage = _coverage()
    for name in FONT_CHAIN:
        if point in coverage[name]:
            return name
    return EMOJI_FONT if point in coverage[EMOJI_FONT] else None


def runs(text: str) -> list[tuple[str, str]]:
    """`text` cut into (font, text) runs; spaces, punctuation, joiners and marks stay with the
    run they are in, so a shaped run (Arabic words and their spaces) is never split."""
    out: list[list[str]] = []
    for ch in text:
        name = font_for(ch)
        current = out[-1][0] if out else None
        emoji = name == EMOJI_FONT or ord(ch) in _JOINERS
        if current is not None and (
            (ord(ch) in _JOINERS)
            or (current != EMOJI_FONT and not emoji and _is_neutral(ch) and _has(current, ch))
            or name == current
        ):
            out[-1][1] += ch
        else:
            out.append([name or FONT_CHAIN[0], ch])
    return [(f, t) for f, t in out]


def _has(name: str, ch: str) -> bool:
    return ord(ch) in _coverage().get(name, frozenset())


def _direction(text: str) -> str:
    for ch in text:
        if _is_rtl(ch):
            return "rtl"
        if unicodedata.bidirectional(ch) == "L":
            return "ltr"
    return "ltr"


def _run_width(name: str, text: str, size: int) -> float:
    if name == EMOJI_FONT:
        strike = _font(name, EMOJI_STRIKE)
        return strike.getlength(text) * size / EMOJI_STRIKE
    return _font(name, size).getlength(text, direction=_direction(text))


def line_width(text: str, size: int) -> float:
    return sum(_run_width(name, part, size) for name, part in runs(text))


_SAMPLES = {
    "NotoSans-Bold.ttf": "ÀÉHbdfghjklpqy",
    "NotoSansArabic-Bold.ttf": "إأسلامجميعكبيرقيمة",
    "NotoSansSC-Bold.otf": "限国鼎",
}


@cache
def _extent(name: str) -> tuple[float, float]:
    """How far a font's ink reaches above and below the baseline, in ems (Arabic reaches
    much further below than Latin)."""
    if name not in _SAMPLES:
        return 0.95, 0.25  # colour emoji: drawn in a box of the font size
    font = _font(name, 100)
    ascent = font.getmetrics()[0]
    top, bottom = font.getbbox(_SAMPLES[name], direction=_direction(_SAMPLES[name]))[1::2]
    return (ascent - top) / 100, (bottom - ascent) / 100


def _line_metrics(text: str, size: int) -> tuple[int, float]:
    """(line height, baseline below the line's top) in pixels for the fonts `text` uses."""
    used = {name for name, _ in runs(text)} or {FONT_CHAIN[0]}
    above = max(_extent(n)[0] for n in used)
    below = max(_extent(n)[1] for n in used)
    gap = (LINE_SPACING - 1) * size / 2
    return max(1, math.ceil(size * (above + below) + 2 * gap)), gap + size * above


@dataclass(frozen=True)
class FittedText:
    lines: tuple[str, ...]
    size: int  # pixels
    line_height: int
    widths: tuple[float, ...]
    baseline: float = 0.0  # below the top of each line

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


def _breakable(ch: str) -> bool:
    """Characters a line may break after without a space (CJK, kana)."""
    name = unicodedata.name(ch, "")
    return name.startswith(("CJK UNIFIED", "HIRAGANA", "KATAKANA", "CJK SYMBOLS"))


def _tokens(paragraph: str) -> list[str]:
    """Pieces a line may break between: words with their trailing space, single CJK chars."""
    tokens: list[str] = []
    word = ""
    for ch in paragraph:
        if ch == " ":
            tokens.append(word + ch)
            word = ""
        elif _breakable(ch):
            if word:
                tokens.append(word)
            tokens.append(ch)
            word = ""
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens


def _wrap(text: str, size: int, width: float) -> list[str] | None:
    """Lines no wider than `width`, or None when one piece alone is wider."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _tokens(paragraph):
            candidate = line + token
            if line and line_width(candidate.rstrip(), size) > width:
                lines.append(line.rstrip())
                line = token
            else:
                line = candidate
            if line_width(line.rstrip(), size) > width:
                return None
        lines.append(line.rstrip())
    return lines


def fit_text(text: str, box: tuple[int, int], size: int, min_size: int) -> FittedText:
    """Wrap `text` into a box of (width, height) pixels at `size`, shrinking towards
    `min_size` until it fits; at `min_size` lines that do not fit are cut with an ellipsis."""
    width, height = box
    min_size = max(6, min(min_size, size))
    current = max(min_size, size)
    while True:
        line_height = _line_metrics(text, current)[0]
        lines = _wrap(text, current, width)
        if lines is not None and line_height * len(lines) <= height:
            return _fitted(lines, current, text)
        if current <= min_size:
            break
        current = max(min_size, int(current * SHRINK))
    return _cut(text, current, width, height)


def _fitted(lines: list[str], size: int, text: str) -> FittedText:
    line_height, baseline = _line_metrics(text, size)
    widths = tuple(line_width(x, size) for x in lines)
    return FittedText(tuple(lines), size, line_height, widths, baseline)


def _cut(text: str, size: int, width: int, height: int) -> FittedText:
    """At the smallest size: as many lines as fit, the last ending in an ellipsis; a piece
    wider than the box is cut character by character."""
    line_height = _line_metrics(text, size)[0]
    room = max(1, height // line_height)
    lines: list[str] = []
    line = ""
    for ch in " ".join(text.split("\n")):
        if line_width(line + ch, size) <= width:
            line += ch
            continue
        lines.append(line)
        line = ch.lstrip()
    lines.append(line)
    if len(lines) > room:
        lines = lines[:room]
        last = lines[-1]
        while last and line_width(last + ELLIPSIS, size) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + ELLIPSIS
    return _fitted(lines, size, text)


def draw_line(
    canvas: Image.Image,
    xy: tuple[float, float],
    text: str,
    size: int,
    color: str,
    baseline: float | None = None,
) -> None:
    """One line at (x, y) (top-left of the line box) in `color`, runs placed in reading
    order (right to left for a right-to-left paragraph); `baseline`: below y."""
    if baseline is None:
        baseline = _line_metrics(text, size)[1]
    parts = runs(text)
    if _direction(text) == "rtl":
        parts = parts[::-1]
    draw = ImageDraw.Draw(canvas)
    x, y = xy
    for name, part in parts:
        width = _run_width(name, part, size)
        if name == EMOJI_FONT:
            _draw_emoji(canvas, (x, y + baseline - size * 0.95), part, size)
        else:
            font = _font(name, size)
            ascent = font.getmetrics()[0]
            draw.text(
                (x, y + baseline - ascent), part, font=font, fill=color, direction=_direction(part)
            )
        x += width


def _draw_emoji(canvas: Image.Image, xy: tuple[float, float], text: str, size: int) -> None:
    font = _font(EMOJI_FONT, EMOJI_STRIKE)
    width = max(1, round(font.getlength(text)))
    strike = Image.new("RGBA", (width, round(EMOJI_STRIKE * 1.2)), (0, 0, 0, 0))
    ImageDraw.Draw(strike).text((0, 0), text, font=font, embedded_color=True)
    scale = size / EMOJI_STRIKE
    shown = strike.resize(
        (max(1, round(strike.width * scale)), max(1, round(strike.height * scale))),
        Image.Resampling.LANCZOS,
    )
    top = round(xy[1] + (size * 1.2 - shown.height) / 2)
    canvas.alpha_composite(shown, (max(0, round(xy[0])), max(0, top)))


def render_text(
    text: str,
    box: tuple[int, int],
    *,
    size: int,
    min_size: int,
    color: str = "#ffffff",
    plate: str | None = None,
    align: str = "center",
) -> np.ndarray:
    """An RGBA uint8 array of exactly `box` (w, h): the fitted text, vertically centred,
    aligned `start`/`center`/`end` (start is right in right-to-left text), over an optional
    rounded plate hugging the text."""
    width, height = box
    room = round(max(6, size) * 0.35) if plate else 0  # the plate's margin at the largest size
    inner = (max(1, width - 2 * room), max(1, height - room))
    fitted = fit_text(text, inner, size, min_size)
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    rtl = _direction(text) == "rtl"
    pad = min(room, round(fitted.size * 0.35)) if plate else 0
    inner_w = max(1, width - 2 * pad)
    top = (height - fitted.height) / 2
    xs = []
    for line_w in fitted.widths:
        line_w = min(line_w, inner_w)
        if align == "center":
            xs.append(pad + (inner_w - line_w) / 2)
        elif (align == "start") != rtl:
            xs.append(float(pad))
        else:
            xs.append(pad + inner_w - line_w)
    if plate and fitted.lines:
        left = max(0, round(min(xs) - pad))
        right = min(
            width,
            round(max(x + min(w, inner_w) for x, w in zip(xs, fitted.widths, strict=True)) + pad),
        )
        ImageDraw.Draw(canvas).rounded_rectangle(
            (
                left,
                max(0, round(top - pad / 2)),
                right - 1,
                min(height, round(top + fitted.height + pad / 2)) - 1,
            ),
            radius=max(2, fitted.size // 3),
            fill=plate,
        )
    for i, line in enumerate(fitted.lines):
        y = top + i * fitted.line_height
        draw_line(canvas, (xs[i], y), line, fitted.size, color, fitted.baseline)
    return np.asarray(canvas)


def fits(text: str, box: tuple[int, int], size: int, min_size: int) -> bool:
    """Whether `text` fits the box without an ellipsis."""
    return ELLIPSIS not in "".join(fit_text(text, box, size, min_size).lines) or ELLIPSIS in text
