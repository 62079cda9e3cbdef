"""The web studio and operator console: server-rendered pages over the same services as the
API (no logic of their own), with their templates, catalogues and vendored static files
served from the package (no CDN, works offline)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from reelforge.errors import Forbidden, ReelforgeError
from reelforge.web import routes

STATIC = "/static/web"


def install_web(app: FastAPI) -> None:
    """Mount the studio at `/`, the console at `/console` and their files at /static/web."""
    static = resources.files("reelforge.web").joinpath("static")
    app.mount(STATIC, StaticFiles(directory=str(static)), name="web-static")
    app.include_router(routes.router)
    as_json = app.exception_handlers[ReelforgeError]  # the API's one error shape

    async def forbidden(request: Request, exc: Exception) -> Response:
        # a refused CSRF check on a page answers with a page; anything else as before
        if isinstance(exc, Forbidden) and exc.code == "csrf_failed":
            return routes.error_page(request, 403, exc)
        return await as_json(request, exc)  # type: ignore[misc]

    app.add_exception_handler(Forbidden, forbidden)
