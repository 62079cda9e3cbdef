"""The edge rule for outside strings (issue 13 items 1, 3): every string a request carries —
each field of a JSON body (keys too), each path and query parameter, the headers the API
reads, multipart text fields and file names — is refused with 422 `invalid_characters`
before any route runs if it holds

- a control character (C0, DEL, C1) — PostgreSQL text refuses NUL, and none is ever
  meaningful in an id, a URL or a name; free text (prompts, notes, messages) keeps tab,
  newline and carriage return;
- a lone surrogate (`"\\ud800"` in JSON): it cannot be encoded, stored or sent;
- outside free text, an invisible format character (bidi overrides such as U+202E, zero-width
  characters, BOM): they make an id or a file name read differently from what it is.

`check_request` runs as an app-wide dependency; multipart routes call `check_form` on the
form they parsed. The rule itself (`check_string`, `check_filename`) is
services/jobs/edge.py's, which the web's forms apply too."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile

from reelforge.errors import InvalidCharacters, InvalidRequest
from reelforge.services.jobs.edge import check_filename, check_string

# Fields whose value is prose a person wrote, or a file's text (demand_csv: the planner's
# CSV, and catalog: a commerce catalogue, both checked cell by cell where they are parsed): tab
# and newlines are allowed there.
FREE_TEXT_FIELDS = frozenset(
    {"prompt", "negative_prompt", "text", "message", "note", "description", "demand_csv", "catalog"}
)
# Headers the API reads (the others are not ours to judge).
CHECKED_HEADERS = ("authorization", "idempotency-key", "last-event-id", "stripe-signature", "range")

# Header values arrive as latin-1: bytes 0x80-0x9f are parts of UTF-8 characters, not C1.
_CONTROL_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MAX_DEPTH = 64


def check_json(value: Any, path: tuple[str, ...] = ()) -> None:
    """Walk a parsed JSON body; the first bad string (or key) raises InvalidCharacters."""
    if len(path) > _MAX_DEPTH:
        raise InvalidRequest(
            f"the body is nested deeper than {_MAX_DEPTH} levels", field=_name(path)
        )
    if isinstance(value, str):
        check_string(value, _name(path) or "body", free_text=_is_free_text(path))
    elif isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            check_string(key, _name((*path, key)))
            check_json(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_json(item, (*path, str(i)))


def check_form(form: FormData) -> None:
    """Multipart text fields under the edge rule, and file names: no control or format
    characters (`invalid_characters`), and a plain name — no directory part, not `.` or
    `..` (`invalid_filename`)."""
    for field, item in form.multi_items():
        check_string(field, field)
        if isinstance(item, UploadFile):
            if item.filename is not None:
                check_filename(item.filename, field)
        else:
            check_string(item, field)


async def check_request(request: Request) -> None:
    """App-wide dependency: path and query parameters, the headers we read and a JSON body
    the route has parsed, under the edge rule — before auth, before the route runs (and so
    before a streamed response has sent its 200)."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_string(value, name)
    _check_query_encoding(request.scope.get("query_string") or b"")
    for name, value in request.query_params.multi_items():
        check_string(name, name)
        check_string(value, name)
    for name in CHECKED_HEADERS:
        for value in request.headers.getlist(name):
            if _CONTROL_IN_HEADER.search(value):
                raise InvalidCharacters(
                    f"the {name} header must not contain control characters", field=name
                )
    # Only a JSON body FastAPI has already read and parsed for this route (both cached on
    # the request); a streamed or multipart body is the route's to read, with its limits.
    if _json_route(request) and await request.body():
        check_json(await request.json())


def _check_query_encoding(raw: bytes) -> None:
    """Percent-escapes that are not UTF-8 (`%ED%A0%80`, a lone surrogate; `%FF`) would be
    replaced by U+FFFD silently: refused instead, naming the parameter."""
    if b"%" not in raw and raw.isascii():
        return
    for pair in raw.split(b"&"):
        name, _, value = pair.partition(b"=")
        for part in (name, value):
            try:
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                field = unquote_to_bytes(name).decode("utf-8", "replace")[:40]
                raise InvalidCharacters(
                    f"query parameter {field} is not valid UTF-8", field=field
                ) from None


def _json_route(request: Request) -> bool:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return False
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _name(path: Iterable[str]) -> str:
    return ".".join(path)


def _is_free_text(path: tuple[str, ...]) -> bool:
    keys = [p for p in path if not p.isdigit()]
    return bool(keys) and keys[-1] in FREE_TEXT_FIELDS
