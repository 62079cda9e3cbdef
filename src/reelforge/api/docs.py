"""/docs (Swagger UI) and /redoc from assets inside the package: they work offline.

FastAPI's defaults load both from a CDN (and ReDoc's fonts from Google), which leaves the pages
blank on a machine without internet access. The files under `static/` are copied unchanged from
the npm packages `swagger-ui-dist` and `redoc` (see static/README.md), licences alongside.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
# ReDoc draws a "Redocly" logo from its CDN in the menu (and hides it when it fails to load):
# the page's policy keeps every fetch on this server, so nothing leaves the machine. Its
# styles are injected at run time (styled-components), its search runs in a blob: worker.
REDOC_CSP = (
    "default-src 'self'; script-src 'self' blob:; worker-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def install_docs(app: FastAPI) -> None:
    """Serve the vendored assets under /docs/assets and the two pages that use them."""
    static = resources.files("reelforge.api").joinpath("static")
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")
    title = app.title

    def prefix(request: Request) -> str:  # behind a proxy that mounts the API under a path
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = prefix(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} — API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/swagger-ui/favicon-32x32.png",
            # no badge that asks validator.swagger.io about the document
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = prefix(request)
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} — API reference",
            redoc_js_url=f"{root}{ASSETS}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page
