"""The visible-label detector reports our label only where our label is: unmarked pictures
(gradients, flat colours, noise, checkerboards, other white-on-dark captions, photos) encoded
with the product's encoder at several sizes, and a copy kept at 0.5x, are never reported, nor
is a still picture (BMP, GIF, TIFF) read as a one-frame video. The positive cases (kept sizes,
crops, banner at the top or bottom) are in test_rescaled_marks.py.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from reelforge.media.encode import encode_mp4
from reelforge.provenance.label import VisibleLabel, _font_path, label_score
from reelforge.provenance.verify import (
    LABEL_MIN_SCORE,
    VerifyOptions,
    _decode,
    _visible_label,
    verify_file,
)

FPS = 24
FRAMES = 6
SIZES = [(640, 360), (360, 640), (320, 240), (160, 120)]


def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return x / max(1, width - 1), y / max(1, height - 1)


def _rgb(luma: np.ndarray, tint: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    return np.clip(np.stack([luma * t for t in tint], axis=2) * 255.0, 0, 255).astype(np.uint8)


def _caption(width: int, height: int, words: str, top: bool) -> np.ndarray:
    """White words on a dark box over a grey gradient: a caption that is not our label."""
    x, _ = _grid(width, height)
    img = Image.fromarray(_rgb(0.3 + 0.5 * x))
    draw = ImageDraw.Draw(img)
    side = min(width, height)
    size = max(8, int(0.07 * side))
    # our own label font for one (the hardest case: same glyphs, other words), PIL's for the other
    font = (
        ImageFont.truetype(_font_path(), size)
        if words.startswith("Subscribe")
        else ImageFont.load_default(size=size)
    )
    left, tp, right, bottom = draw.textbbox((0, 0), words, font=font)
    pad = max(4, (bottom - tp) // 3)
    bw, bh = right - left + 2 * pad, bottom - tp + 2 * pad
    x0 = (width - bw) // 2
    y0 = height // 6 if top else height - height // 6 - bh
    draw.rectangle((x0, y0, x0 + bw, y0 + bh), fill=(30, 30, 30))
    draw.text((x0 + pad - left, y0 + pad - tp), words, font=font, fill=(255, 255, 255))
    # a corner tag too, where our badge would be
    small = ImageFont.load_default(size=max(8, int(0.05 * side)))
    l2, t2, r2, b2 = draw.textbbox((0, 0), "LIVE 24/7", font=small)
    m = max(4, int(0.02 * side))
    draw.rectangle(
        (width - (r2 - l2) - 3 * m, height - (b2 - t2) - 3 * m, width - m, height - m),
        fill=(20, 20, 20),
    )
    draw.text(
        (width - (r2 - l2) - 2 * m - l2, height - (b2 - t2) - 2 * m - t2),
        "LIVE 24/7",
        font=small,
        fill=(255, 255, 255),
    )
    return np.asarray(img)


def picture(kind: str, width: int, height: int) -> np.ndarray:
    """One unmarked RGB picture of (height, width)."""
    x, y = _grid(width, height)
    if kind == "gradient-h":
        return _rgb(x)
    if kind == "gradient-v":
        return _rgb(1.0 - y, (1.0, 0.8, 0.6))
    if kind == "gradient-d":
        return _rgb((x + y) / 2, (0.6, 0.9, 1.0))
    if kind == "gradient-r":
        r = np.hypot(x - 0.5, y - 0.5) / np.hypot(0.5, 0.5)
        return _rgb(1.0 - r)
    rows, period = y * (height - 1), max(4, max(width, height) // 20)
    if kind == "banding":  # a sky with visible bands: a short vertical period
        return _rgb(0.5 + 0.5 * np.sin(2 * np.pi * rows / period))
    if kind == "stripes":  # a repeated vertical ramp
        return _rgb(rows % (2 * period) / (2 * period))
    if kind == "flat-grey":
        return np.full((height, width, 3), 128, np.uint8)
    if kind == "flat-blue":
        return np.broadcast_to(np.array([20, 60, 200], np.uint8), (height, width, 3)).copy()
    if kind == "noise":
        return np.random.default_rng(11).integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "checker":
        cell = max(4, min(width, height) // 12)
        yy, xx = np.mgrid[0:height, 0:width]
        return _rgb((((yy // cell) + (xx // cell)) % 2).astype(np.float32))
    if kind == "text-subscribe":
        return _caption(width, height, "Subscribe now", top=False)
    if kind == "text-breaking":
        return _caption(width, height, "Breaking news", top=True)
    photo = getattr(data, kind)()
    return cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)


KINDS = [
    "gradient-h",
    "gradient-v",
    "gradient-d",
    "gradient-r",
    "banding",
    "stripes",
    "flat-grey",
    "flat-blue",
    "noise",
    "checker",
    "text-subscribe",
    "text-breaking",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
]


def clip(kind: str, width: int, height: int) -> list[np.ndarray]:
    """FRAMES frames: the picture, drifting slowly (so the encoder sees a real clip)."""
    base = picture(kind, width + 16, height + 8)
    return [
        np.ascontiguousarray(base[i // 2 : i // 2 + height, i * 2 : i * 2 + width])
        for i in range(FRAMES)
    ]


def _half(src: Path, dst: Path) -> None:
    from tests.provenance.test_rescaled_marks import transcode

    transcode(src, dst, crf=23, scale=0.5)


@cache
def _files(tmp: Path, kind: str) -> tuple[Path, ...]:
    out = []
    for w, h in SIZES:
        path = tmp / f"{kind}_{w}x{h}.mp4"
        encode_mp4(clip(kind, w, h), path, fps=FPS)
        out.append(path)
    half = tmp / f"{kind}_half.mp4"
    _half(out[0], half)
    return (*out, half)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("label_detection")


@pytest.mark.parametrize("kind", KINDS)
def test_unmarked_clips_never_show_the_label(workdir: Path, kind: str) -> None:
    for path in _files(workdir, kind):
        _, frames, _ = _decode(path, VerifyOptions())
        result = _visible_label(frames)
        print(f"{path.name}: {result}")
        assert not result["found"], (path.name, result)


@pytest.mark.parametrize("suffix", [".bmp", ".gif", ".tiff"])
@pytest.mark.parametrize("kind", ["gradient-v", "banding"])
@pytest.mark.parametrize("size", [(160, 120), (640, 360)])
def test_a_still_gradient_is_not_labelled(
    tmp_path: Path, suffix: str, kind: str, size: tuple[int, int]
) -> None:
    """A still picture decodes as a one-frame video: a gradient is not our label."""
    path = tmp_path / f"{kind}{suffix}"
    Image.fromarray(picture(kind, *size)).save(path)
    result = verify_file(path)
    print(result["visible_label"])
    assert not result["visible_label"]["found"], result["visible_label"]
    assert result["verdict"] == "unknown"


def test_a_still_with_our_label_is_found(tmp_path: Path) -> None:
    """A still frame of a labelled clip (e.g. a thumbnail) still shows the label."""
    frame = cv2.resize(data.coffee(), (960, 540), interpolation=cv2.INTER_AREA)
    VisibleLabel("AI-generated", 960, 540, FPS)(0, frame)
    path = tmp_path / "thumb.png"
    Image.fromarray(frame).save(path)
    result = verify_file(path)
    assert result["visible_label"]["found"], result["visible_label"]
    assert result["visible_label"]["text"] == "AI-generated"


def test_marked_frames_score_well_above_unmarked_ones() -> None:
    """The margin between the weakest labelled frame and the strongest unlabelled one."""
    marked, unmarked = [], []
    for kind in ("gradient-v", "banding", "text-subscribe", "coffee"):
        for w, h in ((160, 120), (640, 360), (960, 540)):
            frame = picture(kind, w, h)
            unmarked.append(label_score(frame, "AI-generated"))
            for position in ("top", "bottom"):
                f = frame.copy()
                VisibleLabel("AI-generated", w, h, FPS, position=position)(0, f)
                marked.append(label_score(f, "AI-generated"))
    print(f"marked min {min(marked):.3f} unmarked max {max(unmarked):.3f}")
    assert min(marked) >= LABEL_MIN_SCORE
    assert max(unmarked) < LABEL_MIN_SCORE
