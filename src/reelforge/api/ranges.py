"""HTTP Range support (single byte ranges) for streaming stored blobs."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi.responses import Response, StreamingResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


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


def ranged_response(
    *, size: int, content_type: str, filename: str, range_header: str | None, read: object
) -> Response:
    """`read(start, end)` yields the bytes start..end inclusive."""
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'inline; filename="{filename}"',
        "Cache-Control": "private, max-age=3600",
    }
    try:
        rng = parse_range(range_header, size)
    except ValueError:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = rng if rng else (0, size - 1)
    body: Iterator[bytes] = read(start, end) if size else iter(())  # type: ignore[operator]
    headers["Content-Length"] = str(end - start + 1 if size else 0)
    if rng:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(
        body, status_code=206 if rng else 200, media_type=content_type, headers=headers
    )
