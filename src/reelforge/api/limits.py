"""Request-body limits, enforced before a route reads its body, and the verification slots.

`BodyLimit` is an ASGI middleware: a declared `Content-Length` over the route's limit is
answered 413 (`payload_too_large`) without reading a byte; a body sent without one (chunked)
is counted as it streams, and the request is answered 413 the moment the count passes the
limit — nothing past the limit is buffered or written anywhere. JSON routes get
`RF_MAX_BODY_BYTES` (1 MiB); routes that carry files get a limit from their own setting.
The 413 is the API's JSON error, or the response `page` gives for the request (the web's
error page on its pages' paths).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge.config import Settings
from reelforge.errors import PayloadTooLarge, RateLimited, ReelforgeError

MULTIPART_OVERHEAD = 64 * 1024  # part headers and boundaries around the file itself
LIKENESS_PHOTOS = 10  # POST /v1/admin/likeness takes up to this many photos


def _data_uri_bytes(raw: int) -> int:
    return math.ceil(raw / 3) * 4 + 64  # base64 plus the `data:image/...;base64,` prefix


_ROUTES: list[tuple[str, re.Pattern[str], Callable[[Settings], int]]] = [
    ("POST", re.compile(r"^/v1/uploads/?$"), lambda s: s.max_upload_bytes + MULTIPART_OVERHEAD),
    ("POST", re.compile(r"^/v1/verify/?$"), lambda s: s.max_verify_bytes + MULTIPART_OVERHEAD),
    (  # the API's enrolment and the console's form (reelforge.web.console.likeness)
        "POST",
        re.compile(r"^/(v1/admin|console)/likeness/?$"),
        lambda s: LIKENESS_PHOTOS * s.max_upload_bytes + MULTIPART_OVERHEAD,
    ),
    # the studio's create form carries an image and a last image (reelforge.web.studio)
    ("POST", re.compile(r"^/studio/?$"), lambda s: 2 * s.max_upload_bytes + MULTIPART_OVERHEAD),
    # the commerce form: a catalogue (32 MiB at most) and up to ten full-size images; the
    # planner form: a CSV of arrivals (900 KB) and a fleet (reelforge.web.commerce, .console)
    ("POST", re.compile(r"^/studio/commerce$"), lambda s: 2**25 + 10 * s.max_upload_bytes + 2**18),
    ("POST", re.compile(r"^/console/planner/?$"), lambda s: 2**21 + MULTIPART_OVERHEAD),
    # the OpenAI-compatible create carries input_reference: a file, or an image URL as data URI
    (
        "POST",
        re.compile(r"^/openai/v1/videos/?$"),
        lambda s: (
            s.max_body_bytes
            + max(s.max_upload_bytes + MULTIPART_OVERHEAD, _data_uri_bytes(s.max_upload_bytes))
        ),
    ),
    # POST /v1/videos (and its quote) may carry image_url and last_image_url as data URIs
    (
        "POST",
        re.compile(r"^/v1/(videos|quotes)/?$"),
        lambda s: s.max_body_bytes + 2 * _data_uri_bytes(s.max_upload_bytes),
    ),
]
"""Routes whose body may exceed the JSON default (`RF_MAX_BODY_BYTES`); the first match wins."""


def limit_for(settings: Settings) -> Callable[[str, str], int]:
    """The body limit of a request by method and path, from the settings as they are now."""

    def limit(method: str, path: str) -> int:
        for want, pattern, size in _ROUTES:
            if method == want and pattern.match(path):
                return size(settings)
        return settings.max_body_bytes

    return limit


class _BodyTooLarge(PayloadTooLarge):
    """Raised into the route that is reading the body; the middleware has already answered."""


def _too_large_message(limit: int) -> str:
    return f"the request body is larger than this route's {limit}-byte limit"


def _too_large_body(limit: int) -> bytes:
    return json.dumps(
        {"error": {"code": "payload_too_large", "message": _too_large_message(limit)}}
    ).encode()


class BodyLimit:
    """ASGI middleware: 413 for a body over the route's limit, checked before it is read;
    `page(scope, error)` may answer it instead of the JSON (None: the JSON)."""

    def __init__(
        self,
        app: ASGIApp,
        limit: Callable[[str, str], int],
        page: Callable[[Scope, ReelforgeError], Response | None] | None = None,
    ):
        self.app = app
        self.limit = limit
        self.page = page

    async def _answer(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        if self.page is not None:
            response = self.page(scope, PayloadTooLarge(_too_large_message(limit)))
            if response is not None:
                response.headers["connection"] = "close"  # the rest of the body is not read
                await response(scope, receive, send)
                return
        await _answer(send, limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._answer(scope, receive, send, limit)
            return
        received = 0
        started = answered = False

        async def counting_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started and not answered:
                        answered = True
                        await self._answer(scope, receive, send, limit)
                    raise _BodyTooLarge(_too_large_message(limit))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 went out; the route's own reply to the error is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            if not answered:
                raise


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return None


async def _answer(send: Send, limit: int) -> None:
    body = _too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Slots:
    """At most `n` of something at once in this process (an event loop's worth); the next
    one is refused at once with 429 and a Retry-After rather than queued in memory."""

    def __init__(self, n: int, code: str, what: str, retry_after: float = 5.0):
        self.n, self.code, self.what, self.retry_after = n, code, what, retry_after
        self.busy = 0  # one event loop: the check and the count change cannot interleave

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        if self.busy >= self.n:
            raise RateLimited(
                f"{self.n} {self.what} are running on this server; try again in a few seconds",
                code=self.code,
                retry_after=self.retry_after,
            )
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1


def verify_slots(request: Request) -> Slots:
    """POST /v1/verify's slots in this app (`RF_VERIFY_CONCURRENCY`)."""
    slots = getattr(request.app.state, "verify_slots", None)
    if slots is None:
        n = request.app.state.platform.settings.verify_concurrency
        slots = request.app.state.verify_slots = Slots(n, "verify_busy", "verifications")
    return slots
