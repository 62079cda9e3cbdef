"""Input images as provider APIs take them inline: base64, with the MIME type read from the
file's own bytes (uploads are JPEG, PNG or WebP, checked when they were stored)."""

from __future__ import annotations

import base64
from pathlib import Path

from reelforge.errors import InvalidImage


def mime_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidImage("an input image is not JPEG, PNG or WebP")


def inline_image(path: Path) -> tuple[str, str]:
    """(base64 of the file, its MIME type)."""
    data = path.read_bytes()
    return base64.b64encode(data).decode(), mime_type(data)


def data_url(path: Path) -> str:
    """The file as a `data:<mime>;base64,...` URL."""
    encoded, mime = inline_image(path)
    return f"data:{mime};base64,{encoded}"
