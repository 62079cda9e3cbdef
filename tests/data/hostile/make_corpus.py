"""Regenerate the hostile corpus beside this script: `python tests/data/hostile/make_corpus.py`.

Files under files/ are inputs every file route must refuse with a clear 4xx (truncated and
polyglot files, SVG/HTML posing as images, decompression bombs: tiny files with huge
dimensions, formats we do not accept); strings.json holds hostile strings by class (control
characters, lone surrogates, invisible format characters, Unicode confusables, path traversal,
huge numbers). Deterministic: the same bytes every run. Everything stays well under 1 MB."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

from PIL import Image

HERE = Path(__file__).parent
FILES = HERE / "files"


def _image(fmt: str, size: tuple[int, int] = (24, 16), **kw: object) -> bytes:
    im = Image.new("RGB", size)
    for x in range(size[0]):
        for y in range(size[1]):
            im.putpixel((x, y), (x * 10 % 256, y * 15 % 256, (x + y) * 7 % 256))
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height pixels, with a few bytes of image data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def jpeg_bomb(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims width x height."""
    data = bytearray(_image("JPEG", quality=50))
    at = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def webp_bomb(width: int, height: int) -> bytes:
    """A lossless WebP (VP8L) whose header claims width x height (at most 16384 a side)."""
    data = bytearray(_image("WEBP", lossless=True))
    at = data.find(b"VP8L") + 8
    assert data[at] == 0x2F
    bits = struct.unpack_from("<I", data, at + 1)[0]
    bits = (bits & ~0x0FFFFFFF) | (width - 1) | ((height - 1) << 14)
    struct.pack_into("<I", data, at + 1, bits)
    return bytes(data)


def files() -> dict[str, bytes]:
    png, jpeg, webp = _image("PNG"), _image("JPEG", quality=80), _image("WEBP", quality=80)
    html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    svg = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
        b'height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>'
    )
    return {
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.webp": webp[: len(webp) // 2],
        "header_only.png": png[:33],
        "empty.png": b"",
        "png_signature_then_html.png": b"\x89PNG\r\n\x1a\n" + html,
        "gif_js_polyglot.gif": b"GIF89a/*\x00\x00\x00\x00*/=1;alert(1);//" + b"\x00" * 16,
        "pdf_posing_as_jpeg.jpg": b"%PDF-1.7\n" + jpeg,
        "zip_posing_as_jpeg.jpg": b"PK\x03\x04" + b"\x00" * 26 + jpeg,
        "svg_posing_as_png.png": svg,
        "svg_with_bom.png": b"\xef\xbb\xbf" + svg,
        "html_posing_as_jpeg.jpg": html,
        "bomb_100000x100000.png": png_bomb(100_000, 100_000),
        "bomb_65500x65500.jpg": jpeg_bomb(65_500, 65_500),
        "bomb_16384x16384.webp": webp_bomb(16_384, 16_384),
        "bomb_1x2147483647.png": png_bomb(1, 2_147_483_647),
        "zero_width.png": png_bomb(0, 10),
        "picture.bmp": _image("BMP"),
        "picture.gif": _image("GIF"),
        "picture.tiff": _image("TIFF"),
        "picture.ico": _image("ICO"),
        "random_bytes.png": bytes((i * 97 + 13) % 256 for i in range(2048)),
    }


# Strings every route refuses wherever they appear (422 invalid_characters).
REFUSED = [
    "nul\x00inside",
    "\x00",
    "bell\x07",
    "escape\x1b[31mred",
    "del\x7f",
    "c1\x85next",
    "cr\rlf\nin an id",
    "tab\there",
    "\ud800",
    "tail\udfff",
    "rlo\u202egnp.exe",
    "zero\u200bwidth",
    "bom\ufeff",
    "isolate\u2066x\u2069",
]
# Characters that read like others; in ids, names and enum values they name nothing.
CONFUSABLES = [
    "gradi\u0435nt",  # Cyrillic ie for e
    "\u0430dmin",  # Cyrillic a
    "vid_01\u041c94",  # Cyrillic EM
    "16\u22369",  # RATIO instead of colon
    "720\u0440",  # Cyrillic er for p
    "\uff47radient",  # fullwidth g
    "zoom\u2010in",  # hyphen for underscore
]
TRAVERSAL = [
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "..",
    "%2e%2e%2fetc%2fpasswd",
    "....//....//etc/passwd",
]
HUGE_NUMBERS = [
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775809",
    "1" * 400,
    "1e309",
    "-1",
    "NaN",
    "Infinity",
]


def strings() -> str:
    # json.dumps writes lone surrogates as \ud800 escapes: the file stays valid UTF-8
    return (
        json.dumps(
            {
                "refused": REFUSED,
                "confusables": CONFUSABLES,
                "traversal": TRAVERSAL,
                "huge_numbers": HUGE_NUMBERS,
            },
            indent=1,
            ensure_ascii=True,
        )
        + "\n"
    )


def main() -> None:
    FILES.mkdir(exist_ok=True)
    for old in FILES.iterdir():
        old.unlink()
    total = 0
    for name, data in files().items():
        (FILES / name).write_bytes(data)
        total += len(data)
    text = strings()
    (HERE / "strings.json").write_text(text, encoding="ascii")
    print(f"{len(files())} files, {total + len(text)} bytes")


if __name__ == "__main__":
    main()
