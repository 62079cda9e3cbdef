"""What every multipart route needs: the content type checked, a file field found, and
bytes read with a limit (so an oversized upload is refused before it is all in memory)."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from reelforge.errors import InvalidRequest, PayloadTooLarge


def require_multipart(request: Request, what: str) -> None:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest(f"send multipart/form-data with {what}", code="invalid_upload")


def form_file(form: FormData, field: str) -> UploadFile:
    item = form.get(field)
    if not isinstance(item, UploadFile):
        raise InvalidRequest(f"multipart field `{field}` is missing", code="invalid_upload",
                             field=field)
    return item


async def read_limited(file: UploadFile, limit: int, what: str = "upload") -> bytes:
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"{what} is larger than the {limit}-byte limit")
    return data
