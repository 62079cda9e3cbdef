"""Single byte ranges (RFC 9110) of a stored file, for seeking players: the whole file (200),
one range of it (206, `bytes=a-b`, `bytes=a-`, `bytes=-n`: the last n bytes) or 416 for a
range outside it. The API's content and signed-file routes and the studio's video page give
this one answer, each as its framework's response."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from reelforge.app.platform import Platform

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Stored(Protocol):
    """A stored file to answer with (queries.Content, delivery.SignedFile)."""

    @property
    def size(self) -> int: ...

    @property
    def content_type(self) -> str: ...

    @property
    def filename(self) -> str: ...

    def iter_range(self, p: Platform, start: int, end: int) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class Answer:
    """What to send: `body` is None for a 416 (no body)."""

    status: int
    headers: dict[str, str]
    media_type: str
    body: Iterator[bytes] | None


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive; None for "whole file"; ValueError if unsatisfiable."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m:
        return None  # multiple or malformed ranges: serve the whole file (RFC 9110 allows it)
    first, last = m.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        n = int(last)
        if n == 0:
            raise ValueError("empty suffix range")
        return max(0, size - n), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError("range outside the file")
    return start, end


def answer(
    p: Platform, stored: Stored, range_header: str | None, *, disposition: str = "inline"
) -> Answer:
    """The answer to a GET of `stored` with this Range header (`disposition`: inline, or
    attachment for a download)."""
    size = stored.size
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'{disposition}; filename="{stored.filename}"',
        "Cache-Control": "private, max-age=3600",
    }
    try:
        rng = parse_range(range_header, size)
    except ValueError:
        headers["Content-Range"] = f"bytes */{size}"
        return Answer(416, headers, stored.content_type, None)
    start, end = rng if rng else (0, size - 1)
    body: Iterator[bytes] = stored.iter_range(p, start, end) if size else iter(())
    headers["Content-Length"] = str(end - start + 1 if size else 0)
    if rng:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Answer(206 if rng else 200, headers, stored.content_type, body)
