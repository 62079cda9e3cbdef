"""What every multipart route needs: the content type checked, a file field found, and
bytes read with a limit (so an oversized upload is refused before it is all in memory).

`read_file_field` and `save_file_field` parse the body as it streams and count the file's
bytes as they arrive: an upload over its limit is refused at the limit, having written nothing
past it (Starlette's form parser spools every file to a temporary file first)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import FormData, UploadFile

from reelforge.errors import InvalidRequest, PayloadTooLarge
from reelforge.services.jobs.edge import check_filename

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks


def require_multipart(request: Request, what: str) -> None:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest(f"send multipart/form-data with {what}", code="invalid_upload")


def form_file(form: FormData, field: str) -> UploadFile:
    item = form.get(field)
    if not isinstance(item, UploadFile):
        raise InvalidRequest(
            f"multipart field `{field}` is missing", code="invalid_upload", field=field
        )
    return item


async def read_limited(file: UploadFile, limit: int, what: str = "upload") -> bytes:
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"{what} is larger than the {limit}-byte limit")
    return data


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]]
    name: str = ""
    filename: str | None = None
    wanted: bool = False


class _FileFieldReader:
    """python-multipart callbacks that keep the bytes of one file field and drop the rest."""

    def __init__(self, field: str):
        self.field = field
        self.part = _Part([])
        self.header_name = self.header_value = b""
        self.pending: list[bytes] = []
        self.found = False
        self.filename: str | None = None
        self.finished = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def on_part_begin(self) -> None:
        self.part = _Part([])

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers.append((self.header_name.lower(), self.header_value))
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        disposition = next((v for k, v in self.part.headers if k == b"content-disposition"), b"")
        _, options = parse_options_header(disposition)
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_name = options.get(b"filename")
        if raw_name is not None and self.part.name == self.field and not self.found:
            self.found = self.part.wanted = True
            self.filename = raw_name.decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.wanted:
            self.pending.append(data[start:end])

    def on_part_end(self) -> None:
        if self.part.wanted:
            self.finished = True


async def _file_chunks(
    request: Request, field: str, limit: int, what: str, out: list[str | None]
) -> AsyncIterator[bytes]:
    """The bytes of multipart file field `field` as the request streams in, refused with
    `PayloadTooLarge` as soon as they pass `limit` (nothing past it is kept). The file's
    name is appended to `out` once the parts end."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidRequest("multipart/form-data without a boundary", code="invalid_upload")
    reader = _FileFieldReader(field)
    parser = MultipartParser(boundary, reader.callbacks())
    size = 0
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            for piece in reader.pending:
                size += len(piece)
                if size > limit:
                    raise PayloadTooLarge(f"{what} is larger than the {limit}-byte limit")
                yield piece
            reader.pending.clear()
        parser.finalize()
    except FormParserError as exc:
        raise InvalidRequest(
            f"the multipart body is malformed ({exc})", code="invalid_upload"
        ) from None
    if not reader.finished:
        raise InvalidRequest(
            f"multipart field `{field}` is missing", code="invalid_upload", field=field
        )
    if reader.filename is not None:  # the edge rule, and a plain name (no directory)
        check_filename(reader.filename, field)
    out.append(reader.filename)


async def read_file_field(
    request: Request, field: str, limit: int, what: str = "upload"
) -> tuple[bytes, str | None]:
    """The named file of a multipart request in memory, and its file name; counted as it
    streams (413 at `limit`), never spooled to disk."""
    require_multipart(request, f"a file in a field named `{field}`")
    data = bytearray()
    name: list[str | None] = []
    async for piece in _file_chunks(request, field, limit, what, name):
        data += piece
    return bytes(data), name[0]


async def save_file_field(
    request: Request, field: str, dest: Path, limit: int, what: str = "the file"
) -> str | None:
    """Write the named file of a multipart request to `dest` as it streams (written once,
    413 at `limit` with what was written removed); returns its file name."""
    require_multipart(request, f"a file in a field named `{field}`")
    name: list[str | None] = []
    try:
        with open(dest, "wb") as fh:
            async for piece in _file_chunks(request, field, limit, what, name):
                await run_in_threadpool(fh.write, piece)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return name[0]
