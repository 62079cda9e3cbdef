"""The invisible watermark survives real H.264 (libx264, yuv420p), a 50% downscale-and-back and
a copy kept at 0.5x."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache

import av
import cv2
import numpy as np
import pytest
from skimage import data

from reelforge.provenance.watermark import (
    CODE_BITS,
    PAYLOAD_BITS,
    WatermarkEmbedder,
    detect,
    encode_payload,
    payload_from_id,
)

PHOTOS = ("astronaut", "coffee", "chelsea")
SIZES = ((1280, 720), (854, 480))


def h264_round_trip(frames: list[np.ndarray], crf: int) -> list[np.ndarray]:
    """Encode RGB frames with libx264 (yuv420p) at ``crf`` into an in-memory MP4, decode back."""
    height, width = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf)}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    buf.seek(0)
    with av.open(buf, "r") as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def downscale_and_back(frames: list[np.ndarray]) -> list[np.ndarray]:
    """50% downscale (INTER_AREA) and back up to the original size (INTER_LINEAR)."""
    height, width = frames[0].shape[:2]
    return [
        cv2.resize(
            cv2.resize(f, (width // 2, height // 2), interpolation=cv2.INTER_AREA),
            (width, height),
            interpolation=cv2.INTER_LINEAR,
        )
        for f in frames
    ]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10.0 * np.log10(255.0**2 / mse)


@cache
def photo(name: str, width: int, height: int) -> np.ndarray:
    return cv2.resize(getattr(data, name)(), (width, height), interpolation=cv2.INTER_AREA)


@cache
def moving_clip(name: str, width: int, height: int, n: int = 48) -> tuple[np.ndarray, ...]:
    """A pan-and-tilt crop over the photo, enlarged 25%: n frames of (height, width, 3)."""
    big = photo(name, int(width * 1.25), int(height * 1.25))
    dx, dy = big.shape[1] - width, big.shape[0] - height
    return tuple(
        np.ascontiguousarray(
            big[dy * i // (2 * n) : dy * i // (2 * n) + height, dx * i // n : dx * i // n + width]
        )
        for i in range(n)
    )


@cache
def marked_clip(name: str, width: int, height: int) -> tuple[int, tuple[np.ndarray, ...]]:
    payload = payload_from_id(f"job-{name}-{width}")
    embedder = WatermarkEmbedder(payload, width, height)
    return payload, tuple(embedder.mark(f) for f in moving_clip(name, width, height))


def test_payload_and_codeword() -> None:
    payload = payload_from_id("0b9c2f64-demo")
    assert 0 <= payload < 1 << PAYLOAD_BITS
    assert payload == payload_from_id("0b9c2f64-demo") != payload_from_id("other")
    assert encode_payload(payload).shape == (CODE_BITS,)


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_still_photo_survives_crf23(name: str, width: int, height: int) -> None:
    original = photo(name, width, height)
    payload = payload_from_id(name)
    marked = WatermarkEmbedder(payload, width, height).mark(original)
    assert marked.shape == original.shape and marked.dtype == np.uint8
    assert psnr(original, marked) >= 38.0
    result = detect(h264_round_trip([marked] * 4, crf=23))
    assert result.found and result.payload == payload
    assert result.bit_accuracy is not None and result.bit_accuracy >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "width", "height"),
    [("astronaut", 1280, 720), ("coffee", 854, 480), ("chelsea", 1280, 720)],
)
def test_moving_clip_crf23_downscale_and_crf28(
    name: str, width: int, height: int, record_property: Callable[[str, object], None]
) -> None:
    payload, marked = marked_clip(name, width, height)
    clip = moving_clip(name, width, height)
    assert min(psnr(a, b) for a, b in zip(clip, marked, strict=True)) >= 38.0

    crf23 = h264_round_trip(list(marked), crf=23)
    result = detect(crf23)
    assert result.found and result.payload == payload and result.frames_used == 48
    assert result.bit_accuracy is not None and result.bit_accuracy >= 0.95

    scaled = detect(downscale_and_back(crf23), size=(width, height))
    assert scaled.found and scaled.payload == payload
    assert scaled.bit_accuracy is not None and scaled.bit_accuracy >= 0.95

    crf28 = detect(h264_round_trip(list(marked), crf=28))  # reported, not asserted
    record_property("crf28_bit_accuracy", crf28.bit_accuracy)
    print(
        f"{name} {width}x{height}: CRF 28 found={crf28.found} bit_accuracy={crf28.bit_accuracy:.3f}"
    )


def test_detect_reads_a_copy_kept_smaller_without_a_size_hint() -> None:
    """The pattern's geometry is relative to the frame: a 0.5x copy is read as it is (the
    platform-transform table is tests/provenance/test_rescaled_marks.py)."""
    payload, marked = marked_clip("astronaut", 1280, 720)
    small = [cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA) for f in marked[:12]]
    result = detect(small)
    assert result.found and result.payload == payload


@pytest.mark.parametrize(("name", "width", "height"), [(n, w, h) for n in PHOTOS for w, h in SIZES])
def test_unmarked_video_is_not_found(name: str, width: int, height: int) -> None:
    clip = h264_round_trip(list(moving_clip(name, width, height)[:16]), crf=23)
    assert not detect(clip).found
    assert not detect(clip[:1]).found


def test_wrong_key_or_payload_mismatch_is_not_found() -> None:
    payload, marked = marked_clip("astronaut", 1280, 720)
    assert not detect(marked[:8], key=b"someone-else").found
    assert detect(marked[:8]).payload == payload


def test_no_frames_and_bad_frames() -> None:
    empty = detect([])
    assert not empty.found and empty.frames_used == 0 and empty.bit_accuracy is None
    flat = np.zeros((480, 854, 3), np.uint8)
    assert not detect([flat] * 3).found
    with pytest.raises(ValueError):
        WatermarkEmbedder(1, 1280, 720).mark(flat)
