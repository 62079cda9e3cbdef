"""Errors in the shape the OpenAI SDKs parse: `{"error": {"message", "type", "param", "code"}}`
(the SDK raises BadRequestError, AuthenticationError, NotFoundError, ... by status and reads
`code`, `param` and `type` from the body). reelforge's stable codes are kept as `code`."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from reelforge.errors import ReelforgeError

log = logging.getLogger(__name__)

# OpenAI's error types by HTTP status (its API reference and SDK error classes)
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    410: "not_found_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
}


def openai_error(
    status: int,
    code: str,
    message: str,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    # a refused field is 400 invalid_request_error there (reelforge answers 422 natively)
    status = 400 if status == 422 else status
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    if param is not None:
        param = param.encode("utf-8", "backslashreplace").decode("utf-8")
    body = {"message": message, "type": kind, "param": param, "code": code}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _from_reelforge(exc: ReelforgeError) -> JSONResponse:
    headers = None
    if exc.http_status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    if exc.http_status == 429:
        wait = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(max(1, math.ceil(wait if wait is not None else 60.0)))}
    if exc.http_status >= 500:
        log.error("internal error: %s", exc.message)
    return openai_error(exc.http_status, exc.code, exc.message, exc.field, headers)


def _from_validation(exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
    param = ".".join(loc) or None
    msg = str(first.get("msg", "invalid request"))
    return openai_error(400, "invalid_request", f"{param}: {msg}" if param else msg, param)


class OpenAIRoute(APIRoute):
    """A route whose every error (a service's, a dependency's such as the API key check, a
    parameter's) answers in OpenAI's error shape instead of the native one."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except ReelforgeError as exc:
                return _from_reelforge(exc)
            except RequestValidationError as exc:
                return _from_validation(exc)
            except HTTPException as exc:
                return openai_error(exc.status_code, "invalid_request", str(exc.detail))

        return answer
