"""The web studio and operator console: server-rendered pages over the same services as the
API (no logic of their own), with their templates, catalogues and vendored static files
served from the package (no CDN, works offline)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from reelforge.errors import InvalidRequest, ReelforgeError
from reelforge.web import billing, commerce, console, pages, routes, studio, videos

STATIC = "/static/web"


def install_web(app: FastAPI) -> None:
    """Mount the studio at `/`, the console at `/console` and their files at /static/web."""
    static = resources.files("reelforge.web").joinpath("static")
    app.mount(STATIC, StaticFiles(directory=str(static)), name="web-static")
    for router in (routes.router, billing.router, console.router, studio.router, videos.router):
        app.include_router(router)
    app.include_router(commerce.router)  # /studio/commerce: catalogue batches (issue 18)
    api_error = app.exception_handlers[ReelforgeError]  # the API's one JSON error shape
    api_invalid = app.exception_handlers[RequestValidationError]

    async def page_error(request: Request, exc: Exception) -> Response:
        # an error met on a page (a refused CSRF token, control characters refused by the
        # app-wide edge check) answers with a page; elsewhere the API's JSON as before
        if pages.is_page(request.url.path) and isinstance(exc, ReelforgeError):
            return pages.error_page(request, exc.http_status, exc)
        response: Response = await api_error(request, exc)  # type: ignore[misc]
        return response

    async def page_invalid(request: Request, exc: Exception) -> Response:
        if pages.is_page(request.url.path):  # its field by the one mapping (invalid_from)
            invalid: InvalidRequest = pages.form_error(exc)
            return pages.error_page(request, 422, invalid)
        response: Response = await api_invalid(request, exc)  # type: ignore[misc]
        return response

    app.add_exception_handler(ReelforgeError, page_error)
    app.add_exception_handler(RequestValidationError, page_invalid)


def error_page_for(scope: Scope, exc: ReelforgeError) -> Response | None:
    """The error page for an error met before any route (a body over its limit, refused by
    api.limits.BodyLimit): a page with the error's status and text on the pages' paths,
    None elsewhere (the API's JSON)."""
    request = Request(scope)
    if not pages.is_page(request.url.path):
        return None
    return pages.error_page(request, exc.http_status, exc)
