"""Image loading and validation: what a user uploading a photo would notice."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.errors import InvalidImage
from reelforge.media.images import (
    ImageInfo,
    inspect_image,
    load_image,
    sample_image_path,
    save_jpeg,
)


def _encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def _halves(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue: orientation mistakes are easy to see."""
    arr = np.zeros((height, width, 3), np.uint8)
    arr[:, : width // 2] = (255, 0, 0)
    arr[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(arr)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (the data is a few bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def test_jpeg_loads_as_rgb_uint8_with_its_colours() -> None:
    rgb = load_image(_encode(_halves(), "JPEG", quality=95))
    assert rgb.dtype == np.uint8 and rgb.shape == (20, 40, 3)
    assert np.allclose(rgb[10, 5], (255, 0, 0), atol=40)
    assert np.allclose(rgb[10, 35], (0, 0, 255), atol=40)


def test_loads_from_a_path_too(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    _halves().save(path)
    assert np.array_equal(load_image(path), np.asarray(_halves()))


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display", as phones write
    data = _encode(_halves(), "JPEG", quality=95, exif=exif)
    rgb = load_image(data)
    assert rgb.shape == (40, 20, 3)  # portrait once rotated
    assert np.allclose(rgb[5, 10], (255, 0, 0), atol=40)  # the left (red) half is now on top
    assert np.allclose(rgb[35, 10], (0, 0, 255), atol=40)
    info = inspect_image(data)
    assert (info.width, info.height) == (20, 40)


def test_transparent_png_is_composited_on_white() -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:, :4] = (255, 0, 0, 255)  # opaque red on the left, fully transparent on the right
    rgb = load_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(rgb[4, 1]) == (255, 0, 0)
    assert tuple(rgb[4, 6]) == (255, 255, 255)


def test_palette_png_with_transparency_is_composited_on_white() -> None:
    im = Image.new("P", (6, 6), 0)
    im.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    im.paste(1, (0, 0, 3, 6))
    data = _encode(im, "PNG", transparency=0)
    rgb = load_image(data)
    assert tuple(rgb[3, 1]) == (0, 200, 0)
    assert tuple(rgb[3, 5]) == (255, 255, 255)


def test_grey_png_becomes_rgb() -> None:
    rgb = load_image(_encode(Image.new("L", (4, 4), 77), "PNG"))
    assert rgb.shape == (4, 4, 3) and np.all(rgb == 77)


def test_16_bit_grey_png_keeps_its_tones() -> None:
    # Naive 8-bit conversion clips everything above 255 to white; mid-grey must stay mid-grey.
    grey16 = Image.fromarray(np.full((4, 4), 32768, np.uint16))
    rgb = load_image(_encode(grey16, "PNG"))
    assert np.all(np.abs(rgb.astype(int) - 128) <= 1)


def test_cmyk_jpeg_becomes_rgb() -> None:
    rgb = load_image(_encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=95))
    assert np.allclose(rgb[4, 4], (255, 0, 0), atol=30)


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")],
)
def test_inspect_reports_allowed_formats(fmt: str, content_type: str) -> None:
    info = inspect_image(_encode(_halves(), fmt))
    assert info == ImageInfo(width=40, height=20, format=fmt, content_type=content_type)


@pytest.mark.parametrize("fmt", ["TIFF", "GIF", "BMP", "ICO"])
def test_other_formats_are_refused_with_the_allowed_list(fmt: str) -> None:
    """BMP too (issue 13 item 14: the README lists JPEG, PNG and WebP)."""
    with pytest.raises(InvalidImage, match="JPEG, PNG or WebP") as caught:
        inspect_image(_encode(_halves(), fmt))
    assert caught.value.code == "unsupported_image_type"
    assert fmt in caught.value.message


def test_svg_posing_as_an_image_is_an_unsupported_type() -> None:
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'
    with pytest.raises(InvalidImage) as caught:
        inspect_image(svg)
    assert caught.value.code == "unsupported_image_type" and "SVG" in caught.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 definitely not a picture" * 10, "not an image"),
        (b"<html><body>hello</body></html>", "not an image"),
    ],
)
def test_non_images_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidImage, match=message):
        load_image(data)
    with pytest.raises(InvalidImage, match=message):
        inspect_image(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files_are_refused(fmt: str) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    data = _encode(Image.fromarray(noise), fmt)
    truncated = data[: len(data) // 2]
    with pytest.raises(InvalidImage, match="truncated or corrupt"):
        inspect_image(truncated)
    with pytest.raises(InvalidImage, match="truncated or corrupt"):
        load_image(truncated)


def test_decompression_bomb_header_is_refused_before_decoding() -> None:
    bomb = _png_header_only(100_000, 100_000)  # 10 gigapixels claimed in ~100 bytes
    started = time.perf_counter()
    with pytest.raises(InvalidImage, match=r"too many pixels|limit"):
        load_image(bomb)
    with pytest.raises(InvalidImage, match=r"too many pixels|limit"):
        inspect_image(bomb)
    assert time.perf_counter() - started < 1.0


def test_pixel_limit_is_checked_from_the_header_before_decoding() -> None:
    # 7000x7000 = 49 MP: under Pillow's own bomb threshold, over ours. The data is broken, so
    # a "truncated" error would mean we decoded first; the limit message proves we did not.
    with pytest.raises(InvalidImage, match="limit is 40 MP"):
        load_image(_png_header_only(7000, 7000))
    with pytest.raises(InvalidImage, match="limit is 1 MP"):
        inspect_image(_encode(Image.new("RGB", (1200, 1000)), "PNG"), max_pixels=1_000_000)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidImage, match="not found"):
        load_image(tmp_path / "nope.jpg")


def test_poster_jpeg_round_trips_and_leaves_no_temp_files(tmp_path: Path) -> None:
    frame = np.zeros((36, 64, 3), np.uint8)
    frame[:, :32] = (250, 200, 20)
    path = save_jpeg(frame, tmp_path / "poster.jpg", quality=90)
    assert [p.name for p in tmp_path.iterdir()] == ["poster.jpg"]
    back = load_image(path)
    assert back.shape == frame.shape
    assert np.allclose(back[18, 10], (250, 200, 20), atol=12)
    assert inspect_image(path.read_bytes()).content_type == "image/jpeg"


def test_bundled_sample_photo_is_a_valid_upload() -> None:
    path = sample_image_path()
    info = inspect_image(path.read_bytes())
    assert info.format == "JPEG" and info.width >= 600
    assert path.stat().st_size < 300_000


def test_cover_resize_crops_the_centre_to_the_target_aspect() -> None:
    from reelforge.media.images import cover_resize

    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, 100:200] = 255  # a white centre band survives the centre crop to a square
    square = cover_resize(wide, 32, 32)
    assert square.shape == (32, 32, 3) and square.min() > 200
    tall = cover_resize(wide, 30, 60)  # portrait from landscape: a narrow centre strip
    assert tall.shape == (60, 30, 3) and tall.min() > 200
