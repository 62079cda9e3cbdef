"""GET /metrics in the Prometheus text format, and the count of open event streams.

Open by default, like /healthz: the figures name models, stages, error codes and moderation
categories, never an account, a prompt or a job. With RF_METRICS_TOKEN set the route asks for
`Authorization: Bearer <token>` (a deployment whose metrics port is reachable from outside).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge.errors import Unauthorized
from reelforge.services.ops import metrics
from reelforge.services.ops.metrics import FleetCollector

router = APIRouter()


class CountEventStreams:
    """Counts responses served as text/event-stream while they are open (pure ASGI, so the
    stream itself is untouched)."""

    def __init__(self, app: ASGIApp, collector: FleetCollector):
        self.app = app
        self.collector = collector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counted = False

        async def watch(message: Message) -> None:
            nonlocal counted
            if message["type"] == "http.response.start" and not counted:
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                    counted = True
                    self.collector.open_streams += 1
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if counted:
                self.collector.open_streams -= 1


def _check_token(request: Request) -> None:
    token = request.app.state.platform.settings.metrics_token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # bytes: compare_digest refuses non-ASCII str
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.get_secret_value().encode()
    ):
        raise Unauthorized("send `Authorization: Bearer <RF_METRICS_TOKEN>`")


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """Every reelforge metric (see services/ops/metrics.py); the database is read off the loop."""
    _check_token(request)
    body = await run_in_threadpool(generate_latest, request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI) -> None:
    """The /metrics route and the event-stream count, over the app's platform."""
    reg, collector = metrics.registry(app.state.platform)
    app.state.metrics_registry = reg
    app.add_middleware(CountEventStreams, collector=collector)
    app.include_router(router)
