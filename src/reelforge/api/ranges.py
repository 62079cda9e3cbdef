"""A stored file as the API's response, with single byte ranges (the answer is
services/jobs/byte_ranges.py's, shared with the studio's video page)."""

from __future__ import annotations

from fastapi.responses import Response, StreamingResponse

from reelforge.app.platform import Platform
from reelforge.services.jobs import byte_ranges


def ranged_response(p: Platform, stored: byte_ranges.Stored, range_header: str | None) -> Response:
    """200 with the whole file, 206 with the range asked for, or 416 outside the file."""
    answer = byte_ranges.answer(p, stored, range_header)
    if answer.body is None:
        return Response(status_code=answer.status, headers=answer.headers)
    return StreamingResponse(
        answer.body, status_code=answer.status, media_type=answer.media_type, headers=answer.headers
    )
