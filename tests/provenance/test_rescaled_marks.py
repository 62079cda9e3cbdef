"""The watermark and the visible label survive what a platform does to a file: it keeps a
smaller copy (0.5x, 0.75x) re-encoded at CRF 23 or 28, or crops it (centred 85 %), or both.

A real clip (a moving crop over a photo, marked as the worker marks it: watermark, then the
label) is encoded with the product's encoder, then transcoded with PyAV/libswscale the way a
platform would (scale with bicubic, crop, libx264 yuv420p at the given CRF) and read back with
`verify_file`. Unmarked clips (photos, noise, a flat frame) must stay unknown.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage import data

from reelforge.media.encode import encode_mp4
from reelforge.provenance.label import VisibleLabel
from reelforge.provenance.verify import verify_file
from reelforge.provenance.watermark import WatermarkEmbedder, detect, payload_from_id

FPS = 24
FRAMES = 16
MIN_ACCURACY = 0.95


def moving_clip(name: str, width: int, height: int, n: int = FRAMES) -> list[np.ndarray]:
    """A pan over a photo enlarged 25 %: n RGB frames of (height, width)."""
    big = cv2.resize(
        getattr(data, name)(), (int(width * 1.25), int(height * 1.25)), interpolation=cv2.INTER_AREA
    )
    dx, dy = big.shape[1] - width, big.shape[0] - height
    return [
        np.ascontiguousarray(
            big[dy * i // (2 * n) : dy * i // (2 * n) + height, dx * i // n : dx * i // n + width]
        )
        for i in range(n)
    ]


@cache
def marked_file(tmp: Path, width: int, height: int) -> tuple[Path, int]:
    """The product's output for a clip: watermark, then label, encoded at the default CRF."""
    payload = payload_from_id(f"vid_rescale_{width}x{height}")
    embedder = WatermarkEmbedder(payload, width, height)
    label = VisibleLabel("AI-generated", width, height, FPS)
    path = tmp / f"marked_{width}x{height}.mp4"
    encode_mp4(
        moving_clip("astronaut", width, height),
        path,
        fps=FPS,
        on_frame=lambda i, f: label(i, embedder.mark(f)),
    )
    return path, payload


def transcode(src: Path, dst: Path, *, crf: int, scale: float = 1.0, crop: float = 1.0) -> None:
    """A platform's re-encode: centred crop to `crop` of each side, then keep `scale` of the
    size (libswscale bicubic), libx264 yuv420p at `crf`; metadata dropped."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        cw, ch = int(w * crop) // 2 * 2, int(h * crop) // 2 * 2
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        ow, oh = int(cw * scale) // 2 * 2, int(ch * scale) // 2 * 2
        enc = out.add_stream("libx264", rate=FPS)
        enc.width, enc.height, enc.pix_fmt = ow, oh, "yuv420p"
        enc.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in inp.decode(stream):
            rgb = frame.to_ndarray(format="rgb24")[y0 : y0 + ch, x0 : x0 + cw]
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if (ow, oh) != (cw, ch):
                vf = vf.reformat(width=ow, height=oh, interpolation="BICUBIC")
            for packet in enc.encode(vf):
                out.mux(packet)
        for packet in enc.encode():
            out.mux(packet)


# (name, source size, crf, kept scale, centred crop, label expected)
TRANSFORMS = [
    ("original", (1280, 720), None, 1.0, 1.0, True),
    ("kept 0.5x CRF 23", (1280, 720), 23, 0.5, 1.0, True),
    ("kept 0.5x CRF 28", (1280, 720), 28, 0.5, 1.0, True),
    ("kept 0.75x CRF 23", (1280, 720), 23, 0.75, 1.0, True),
    ("kept 0.75x CRF 28", (1280, 720), 28, 0.75, 1.0, True),
    ("portrait 540x960 CRF 23", (720, 1280), 23, 0.75, 1.0, True),
    ("crop 85% CRF 23", (1280, 720), 23, 1.0, 0.85, True),  # the opening banner
    ("0.5x + crop 85% CRF 23", (1280, 720), 23, 0.5, 0.85, True),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rescaled")


@pytest.mark.parametrize(
    ("name", "size", "crf", "scale", "crop", "labelled"), TRANSFORMS, ids=[t[0] for t in TRANSFORMS]
)
def test_marks_survive_a_kept_smaller_or_cropped_copy(
    workdir: Path,
    name: str,
    size: tuple[int, int],
    crf: int | None,
    scale: float,
    crop: float,
    labelled: bool,
) -> None:
    src, payload = marked_file(workdir, *size)
    path = src
    if crf is not None:
        path = workdir / f"{name.replace(' ', '_').replace('%', '')}.mp4"
        transcode(src, path, crf=crf, scale=scale, crop=crop)
    result = verify_file(path)
    wm = result["watermark"]
    print(
        f"{name}: found={wm['found']} bit_accuracy={wm['bit_accuracy']} "
        f"label={result['visible_label']}"
    )
    assert wm["found"] and wm["payload"] == f"{payload:08x}"
    assert wm["bit_accuracy"] >= MIN_ACCURACY
    if labelled:
        assert result["visible_label"]["found"]
        assert result["visible_label"]["text"] == "AI-generated"
    assert result["verdict"] == "suspected" if crf is not None else "ai-generated"


def unmarked(kind: str, width: int = 854, height: int = 480) -> list[np.ndarray]:
    if kind == "noise":
        rng = np.random.default_rng(7)
        return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(8)]
    if kind == "flat":
        return [np.full((height, width, 3), 128, np.uint8) for _ in range(8)]
    return moving_clip(kind, width, height, n=8)


@pytest.mark.parametrize("kind", ["astronaut", "coffee", "chelsea", "noise", "flat"])
def test_unmarked_clips_are_not_found(workdir: Path, kind: str) -> None:
    src = workdir / f"unmarked_{kind}.mp4"
    encode_mp4(unmarked(kind), src, fps=FPS)
    small = workdir / f"unmarked_{kind}_small.mp4"
    transcode(src, small, crf=23, scale=0.5)
    for path in (src, small):
        result = verify_file(path)
        assert not result["watermark"]["found"], (kind, result["watermark"])
        assert not result["visible_label"]["found"], (kind, result["visible_label"])
        assert result["verdict"] == "unknown"


def test_the_label_is_found_at_the_top_or_the_bottom() -> None:
    """The banner may be at the top or the bottom (`label_position`), the badge anywhere along
    the top or bottom edge; the detector searches both bands, at the frame's own size."""
    from reelforge.provenance.verify import _visible_label

    frames = moving_clip("coffee", 960, 540, n=8)
    for position in ("top", "bottom"):
        label = VisibleLabel("AI生成", 960, 540, FPS, position=position)
        banner_only = [f.copy() for f in frames]
        for f in banner_only:
            label.banner.apply(f)
        assert _visible_label(banner_only)["text"] == "AI生成", position
    label = VisibleLabel("AI-generated", 960, 540, FPS)
    badge_only = [f.copy() for f in frames]
    for f in badge_only:
        label.badge.apply(f)
    badge_on_top = [np.ascontiguousarray(np.concatenate([f[-80:], f[:-80]])) for f in badge_only]
    for frames_ in (badge_only, badge_on_top):
        assert _visible_label(frames_)["text"] == "AI-generated"
    kept = [cv2.resize(f, (480, 270), interpolation=cv2.INTER_AREA) for f in badge_only]
    assert _visible_label(kept)["found"]
    assert not _visible_label(frames)["found"]


def test_detect_on_decoded_frames_of_any_size() -> None:
    """`detect` needs no size hint: frames kept at 0.5x are read as they are."""
    width, height = 1280, 720
    payload = payload_from_id("vid_any_size")
    embedder = WatermarkEmbedder(payload, width, height)
    marked = [embedder.mark(f) for f in moving_clip("chelsea", width, height, n=8)]
    small = [cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA) for f in marked]
    result = detect(small)
    assert result.found and result.payload == payload
