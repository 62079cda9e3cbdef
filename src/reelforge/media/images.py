"""Loading and validating user images, and writing poster JPEGs.

Every image a user hands us goes through `inspect_image` (at upload) or `load_image` (in a
worker). Both refuse anything that is not a complete still image in an allowed format, and
both check the pixel count from the header *before* decoding, so a small file that claims
100k x 100k pixels is refused without allocating anything.

Allowed formats: JPEG (including MPO, which some cameras write), PNG and WebP; animated
PNG/WebP are read as their first frame. Any other image (BMP, GIF, TIFF, SVG, HEIC, ...) is
refused with `unsupported_image_type` from its magic bytes, before any decoder sees it. BMP
is refused on purpose: uncompressed, so a big upload for a small picture, and no camera or
editor a creator uses exports it by default. TIFF is refused on purpose: it carries many exotic
codecs (a large decoder attack surface) and nobody exports one for a video studio. GIF is
refused too: it is usually an animation, and a still one is better uploaded as PNG.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from reelforge.atomic import replacing
from reelforge.errors import InvalidImage, RateLimited

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest accepted image (width x height); a 40 MP photo decodes to 120 MB of RGB."""

DEFAULT_DECODE_BUDGET = 1024 * 1024 * 1024
"""Bytes of decoded pixels this process holds at once (estimated per decode, see below)."""
DECODE_WAIT = 30.0  # seconds a decode waits for budget before answering busy (429)

# Pillow allocates pixels in blocks (16 MB by default). glibc serves blocks under 32 MB from
# per-thread arenas that keep the memory after it is freed, so large decodes on N threads
# kept N images' worth resident; blocks over 32 MB are mapped and unmapped on free.
Image.core.set_block_size(64 * 1024 * 1024)  # type: ignore[attr-defined]

ALLOWED_FORMATS: dict[str, str] = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # multi-picture JPEG from cameras/phones; the first picture is used
    "PNG": "image/png",
    "WEBP": "image/webp",
}
# Plugins Pillow may even try: restricting them keeps other decoders off untrusted bytes.
_OPEN_FORMATS = ["JPEG", "PNG", "WEBP"]
# Images we recognise but do not accept, by their first bytes: refused as
# `unsupported_image_type` (rather than "not an image") with the format named.
_OTHER_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)
UNSUPPORTED_IMAGE_TYPE = "unsupported_image_type"

# What decoders raise on malformed input (Pillow does not wrap all of them).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
)

_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}  # these swap width and height when applied
_ALPHA_BACKGROUND = (255, 255, 255)  # transparent product cut-outs sit on white, as in a shop


class DecodeBudget:
    """A process-wide budget of decoded-pixel bytes: a small compressed file can decode to
    hundreds of MB (a lossless WebP of flat colour is ~1 KB for 36 MP), so decodes reserve
    their estimated memory first. One estimate over the whole budget is refused
    (`image_too_large`); others wait for room, then answer busy (429 `decode_busy`)."""

    def __init__(self, total: int = DEFAULT_DECODE_BUDGET):
        self.total = total
        self.used = 0
        self.peak = 0  # largest reservation total seen (tests, tuning)
        self._room = threading.Condition()

    def resize(self, total: int) -> None:
        with self._room:
            self.total = total
            self._room.notify_all()

    @contextmanager
    def reserve(
        self, nbytes: int, what: str = "the image", wait: float = DECODE_WAIT
    ) -> Iterator[None]:
        if nbytes > self.total:
            raise InvalidImage(
                f"{what} would need about {nbytes // 2**20} MB to decode; this server decodes "
                f"at most {self.total // 2**20} MB at once, please downscale it",
                code="image_too_large",
            )
        with self._room:
            if not self._room.wait_for(lambda: self.used + nbytes <= self.total, wait):
                raise RateLimited(
                    "the server is busy decoding other images; try again shortly",
                    code="decode_busy",
                    retry_after=5,
                )
            self.used += nbytes
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            with self._room:
                self.used -= nbytes
                self._room.notify_all()


DECODE_BUDGET = DecodeBudget()


def set_decode_budget(total: int) -> None:
    """Set this process's decode budget (RF_DECODE_BUDGET_BYTES)."""
    DECODE_BUDGET.resize(total)


class _DecodedImages:
    """Decoded images kept by content (SHA-256 of the file and the pixel limit), off unless
    `keep_decoded()` turns it on. `reelforge generate` reads one upload three times in one
    process (the upload check, moderation, the render): a 12 MP PNG decodes in ~0.3 s of CPU
    each time. A server does not keep them: it would hold up to 120 MB per image."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self.limit = 0  # entries kept; 0 = off
        self.hits = 0

    def get(self, key: tuple[str, int]) -> np.ndarray | None:
        with self._lock:
            rgb = self._entries.get(key)
            if rgb is None:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        return rgb.copy()  # the caller may draw on it

    def put(self, key: tuple[str, int], rgb: np.ndarray) -> None:
        with self._lock:
            if self.limit <= 0:
                return
            kept = rgb.copy()
            kept.flags.writeable = False
            self._entries[key] = kept
            self._entries.move_to_end(key)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def set_limit(self, entries: int) -> None:
        with self._lock:
            self.limit = entries
            while len(self._entries) > max(0, entries):
                self._entries.popitem(last=False)


DECODED = _DecodedImages()


def keep_decoded(entries: int = 2) -> None:
    """Keep the last `entries` decoded images in this process (0: keep none, the default)."""
    DECODED.set_limit(entries)


def _decode_cost(im: Image.Image, *, full: bool) -> int:
    """Estimated peak bytes to decode `im`: `full` keeps every pixel as RGB (load_image), else
    the pixels are only validated (inspect_image, JPEG at 1/8 scale by draft mode)."""
    width, height = im.size
    pixels = width * height
    fmt = (im.format or "").upper()
    if fmt in ("JPEG", "MPO"):
        # a progressive JPEG keeps every DCT coefficient (2 bytes each) whatever the scale
        coefficients = pixels * 3 * 2 if im.info.get("progressive") else 0
        return coefficients + (pixels * 3 * 3 if full else pixels * 3 // 64 + 2**20)
    bands = max(len(im.getbands()), 3)
    if fmt == "WEBP":  # libwebp's two canvases, their copy as bytes, then Pillow's image
        return pixels * 4 * 4 + (pixels * 3 * 2 if full else 0)
    return pixels * bands * (3 if full else 1)


@dataclass(frozen=True)
class ImageInfo:
    """What an upload is, once fully decoded: size as displayed (EXIF orientation applied)."""

    width: int
    height: int
    format: str
    content_type: str


ImageSource = str | os.PathLike[str] | bytes | bytearray | memoryview


def inspect_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Validate an uploaded image completely (decode every pixel) without keeping the pixels.

    Raises `InvalidImage` for non-images, disallowed formats, truncated or corrupt files,
    zero-size images and images over `max_pixels`.
    """
    if DECODED.limit > 0:  # decode it all once now; moderation and the render reuse it
        with _open_checked(bytes(data), max_pixels) as im:
            fmt = _format_of(im)
        height, width = load_image(data, max_pixels=max_pixels).shape[:2]  # oriented
        return ImageInfo(width=width, height=height, format=fmt, content_type=ALLOWED_FORMATS[fmt])
    # the reservation ends after the image is closed and dropped (its pixels freed)
    with ExitStack() as reservation:
        with _open_checked(bytes(data), max_pixels) as im:
            fmt = _format_of(im)
            width, height = im.size
            orientation = _orientation(im)
            reservation.enter_context(DECODE_BUDGET.reserve(_decode_cost(im, full=False)))
            if fmt in ("JPEG", "MPO"):  # every byte still decodes, at 1/8 of the pixels
                im.draft(im.mode, (max(1, width // 8), max(1, height // 8)))
            _decode(im)
        del im
    if orientation in _TRANSPOSED_ORIENTATIONS:
        width, height = height, width
    return ImageInfo(width=width, height=height, format=fmt, content_type=ALLOWED_FORMATS[fmt])


def load_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image to an RGB uint8 array of shape (height, width, 3).

    EXIF orientation is applied; palette, grey, 16-bit and CMYK images become RGB; images
    with transparency are composited onto white; an embedded ICC profile (e.g. Display P3
    from phones) is converted to sRGB. Raises `InvalidImage` with a message a user can act on.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        payload: bytes | Path = bytes(source)
    else:
        payload = Path(source)
        if not payload.is_file():
            raise InvalidImage(f"image file not found: {payload}")
    key: tuple[str, int] | None = None
    if DECODED.limit > 0:
        if isinstance(payload, Path):
            payload = payload.read_bytes()
        key = (hashlib.sha256(payload).hexdigest(), max_pixels)
        kept = DECODED.get(key)
        if kept is not None:
            return kept
    with ExitStack() as reservation:  # held until the decoder's copies are freed
        with _open_checked(payload, max_pixels) as im:
            reservation.enter_context(DECODE_BUDGET.reserve(_decode_cost(im, full=True)))
            _decode(im)
            oriented = _apply_orientation(im)
            rgb = np.ascontiguousarray(_to_rgb(oriented))
        del im, oriented
    if key is not None:
        DECODED.put(key, rgb)
    return rgb


def cover_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Crop the centre of `image` to the aspect ratio of width x height, then resize to it
    (Lanczos): what a start or end frame of a neural model needs."""
    h, w = image.shape[:2]
    target = width / height
    if w / h > target:
        crop_w = max(1, round(h * target))
        x0 = (w - crop_w) // 2
        image = image[:, x0 : x0 + crop_w]
    else:
        crop_h = max(1, round(w / target))
        y0 = (h - crop_h) // 2
        image = image[y0 : y0 + crop_h]
    if image.shape[1] == width and image.shape[0] == height:
        return np.ascontiguousarray(image)
    resized = Image.fromarray(np.ascontiguousarray(image), "RGB").resize(
        (width, height), Image.Resampling.LANCZOS
    )
    return np.asarray(resized, dtype=np.uint8)


def encode_png(frame: np.ndarray) -> bytes:
    """An RGB uint8 frame as PNG bytes (lossless: a frame that a new clip starts from)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame), "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def sample_image_path() -> Path:
    """The bundled CC0 sample photo (an espresso cup, 600x400) the demo animates offline."""
    return Path(str(resources.files("reelforge").joinpath("assets", "sample.jpg")))


def save_jpeg(frame: np.ndarray, path: str | os.PathLike[str], quality: int = 90) -> Path:
    """Write an RGB uint8 frame as a JPEG (posters, thumbnails); atomic: temp file + rename."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 frame, got {frame.dtype} {frame.shape}")
    if not 1 <= quality <= 95:
        raise ValueError("JPEG quality must be within 1..95")
    dest = Path(path)
    with replacing(dest) as tmp:
        Image.fromarray(frame, "RGB").save(tmp, "JPEG", quality=quality, optimize=True)
    return dest


@contextmanager
def _open_checked(payload: bytes | Path, max_pixels: int) -> Iterator[Image.Image]:
    """Open lazily (header only), refuse bad formats and oversize images before decoding."""
    size = len(payload) if isinstance(payload, bytes) else payload.stat().st_size
    if size == 0:
        raise InvalidImage("the image is empty (0 bytes)")
    fp = io.BytesIO(payload) if isinstance(payload, bytes) else payload
    try:
        im = Image.open(fp, formats=_OPEN_FORMATS)
    except Image.DecompressionBombError as exc:
        raise _too_large_error(exc) from exc
    except UnidentifiedImageError as exc:
        other = _other_image_type(payload)
        if other is not None:
            raise InvalidImage(
                f"{other} images are not accepted; upload a JPEG, PNG or WebP",
                code=UNSUPPORTED_IMAGE_TYPE,
            ) from exc
        raise InvalidImage(
            "the file is not an image we can read; upload a JPEG, PNG or WebP"
        ) from exc
    except _DECODE_ERRORS as exc:
        raise InvalidImage(f"the image header is corrupt: {exc}") from exc
    with im:
        _format_of(im)
        width, height = im.size
        if width <= 0 or height <= 0:
            raise InvalidImage(f"the image has no pixels ({width}x{height})")
        if width * height > max_pixels:
            raise InvalidImage(
                f"the image is {width}x{height} ({width * height / 1e6:.0f} MP); the limit is "
                f"{max_pixels / 1e6:.0f} MP, please downscale it"
            )
        yield im


def _other_image_type(payload: bytes | Path) -> str | None:
    """The name of an image format we recognise but refuse (BMP, GIF, SVG, HEIC, ...)."""
    if isinstance(payload, bytes):
        head = payload[:512]
    else:
        with open(payload, "rb") as fh:
            head = fh.read(512)
    for magic, name in _OTHER_IMAGES:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"avif", b"heim"):
        return "AVIF" if head[8:12] == b"avif" else "HEIC"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml")) and b"<svg" in head.lower():
        return "SVG"
    return None


def _too_large_error(exc: Exception) -> InvalidImage:
    return InvalidImage(f"the image has too many pixels to be decoded safely ({exc})")


def _format_of(im: Image.Image) -> str:
    fmt = (im.format or "").upper()
    if fmt not in ALLOWED_FORMATS:
        raise InvalidImage(
            f"{fmt or 'this'} images are not accepted; use JPEG, PNG or WebP",
            code=UNSUPPORTED_IMAGE_TYPE,
        )
    return fmt


def _decode(im: Image.Image) -> None:
    """Decode every pixel now, so truncation and corruption surface as InvalidImage."""
    try:
        im.load()
    except Image.DecompressionBombError as exc:
        raise _too_large_error(exc) from exc
    except _DECODE_ERRORS as exc:
        raise InvalidImage(f"the image is truncated or corrupt: {exc}") from exc


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except _DECODE_ERRORS:
        return 1  # unreadable EXIF is not worth refusing a photo over


def _apply_orientation(im: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(im)
    except _DECODE_ERRORS:
        return im


def _to_rgb(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey (PNG): Pillow's own conversion to 8 bits clips at 255, turning most of
        # the picture white, so rescale the full 16-bit range instead.
        grey16 = np.asarray(im).astype(np.float32)
        grey8 = np.clip(np.rint(grey16 / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(grey8[:, :, None], 3, axis=2)
    if mode == "F":
        grey = np.clip(np.rint(np.asarray(im)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_ALPHA_BACKGROUND, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    if mode in ("RGB", "CMYK"):
        converted = _to_srgb(im)
        if converted is not None:
            return np.asarray(converted)
    return np.asarray(im.convert("RGB"))


def _to_srgb(im: Image.Image) -> Image.Image | None:
    """Colour-manage an image with an embedded ICC profile into sRGB; None when not needed."""
    icc = im.info.get("icc_profile")
    if not icc:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode == "RGB" and "srgb" in ImageCms.getProfileDescription(profile).lower():
            return None  # already sRGB: converting would only cost time
        converted = ImageCms.profileToProfile(
            im, profile, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None  # a broken profile falls back to the plain conversion
    return converted
