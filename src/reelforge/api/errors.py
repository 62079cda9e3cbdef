"""Every error leaves as JSON `{"error": {"code", "message"[, "field"]}}`."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from reelforge.errors import ReelforgeError, invalid_from

log = logging.getLogger(__name__)


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, str] = {"code": code, "message": _sendable(message)}
    if field:
        body["field"] = _sendable(field)
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _sendable(text: str) -> str:
    """`text` as UTF-8 can carry it: a lone surrogate echoed from the request (a field name,
    say) is written as its escape, `\\ud800`, instead of failing the response."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


NOT_JSON = "the request body must be JSON, sent with the header `Content-Type: application/json`"


def _is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ReelforgeError)
    async def _domain(_: Request, exc: ReelforgeError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("internal error: %s", exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        retry_after = getattr(exc, "retry_after", None)
        if exc.http_status == 429:  # every 429 says when to try again (default: a minute)
            wait = retry_after if retry_after is not None else 60.0
            headers = {"Retry-After": str(max(1, math.ceil(wait)))}
        return error_response(exc.http_status, exc.code, exc.message, exc.field, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if tuple(first.get("loc", ()))[:1] == ("body",) and not _is_json(request):
            # FastAPI does not parse a body sent without a JSON content type
            return error_response(415, "unsupported_media_type", NOT_JSON)
        if first.get("type", "") == "json_invalid":
            return error_response(400, "invalid_json", "request body is not valid JSON")
        invalid = invalid_from(exc, located=True)  # the one mapping (CLI, web, services)
        return error_response(422, invalid.code, invalid.message, invalid.field)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and _is_json(request):
            # FastAPI's own 400 for a JSON body it cannot decode (not UTF-8)
            return error_response(
                400, "invalid_json", "request body is not valid JSON (UTF-8 text)"
            )
        code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(
            500, "internal_error", "internal error; the operator's logs have the details"
        )
