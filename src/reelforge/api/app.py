"""The FastAPI application: routers assembled in one place, OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from reelforge import __version__
from reelforge.api import provider_callbacks
from reelforge.api.docs import install_docs
from reelforge.api.errors import install_error_handlers
from reelforge.api.limits import BodyLimit, limit_for
from reelforge.api.metrics import install_metrics
from reelforge.api.openai_compat import router as openai_compat_router
from reelforge.api.ratelimit import RateLimitHeaders
from reelforge.api.routes import (
    account,
    billing,
    commerce,
    files,
    governance,
    health,
    kpis,
    models,
    planner,
    uploads,
    videos,
)
from reelforge.api.schemas import ERROR_RESPONSES
from reelforge.api.validation import check_request
from reelforge.app.platform import Platform
from reelforge.web import error_page_for, install_web
from reelforge.worker.loop import Worker


def create_app(p: Platform, *, embedded_worker: bool = False) -> FastAPI:
    """The API over a platform; with `embedded_worker`, jobs also run in this process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = Worker(p).start() if embedded_worker else None
        app.state.worker = worker
        try:
            yield
        finally:
            if worker is not None:
                worker.stop(hand_back=True)

    app = FastAPI(
        title="reelforge",
        version=__version__,
        lifespan=lifespan,
        description="Self-hostable AI video generation: submit a job, follow its "
        "progress, download a labelled MP4.",
        # served from the package by install_docs (the defaults use a CDN)
        docs_url=None,
        redoc_url=None,
        # every route can fail with the one error shape
        responses=ERROR_RESPONSES,
        # the edge rule for outside strings, before auth and every route
        dependencies=[Depends(check_request)],
    )
    app.state.platform = p
    install_error_handlers(app)
    app.add_middleware(RateLimitHeaders)
    # outermost: before any read; a page's 413 is its error page
    app.add_middleware(BodyLimit, limit=limit_for(p.settings), page=error_page_for)
    install_docs(app)
    app.include_router(health.router)
    app.include_router(uploads.router)
    app.include_router(videos.router)
    app.include_router(files.router)
    app.include_router(models.router)
    app.include_router(governance.router)
    app.include_router(billing.router)
    app.include_router(account.router)
    app.include_router(kpis.router)
    app.include_router(planner.router)  # POST /v1/admin/plan: the capacity planner
    app.include_router(commerce.router)  # /v1/commerce: catalogue batches, brand kit
    app.include_router(openai_compat_router)  # /openai/v1/videos: the OpenAI SDK's shapes
    app.include_router(provider_callbacks.router)  # hosted providers' task callbacks
    install_metrics(app)  # GET /metrics (Prometheus), open event streams
    install_web(app)  # the studio at /, the console at /console (reelforge.web)
    return app
