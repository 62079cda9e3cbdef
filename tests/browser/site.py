"""A served app with people and a video in it, for the tests that walk every page
(accessibility, screenshots): a creator with a finished clip (made by a real worker with
the built-in motion model from an uploaded picture), and an operator. Page discovery reads
the app's own route table, so pages added later are walked without changing these tests."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute
from PIL import Image, ImageDraw
from starlette.routing import compile_path

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import signin
from reelforge.services.jobs.request import SubmitRequest
from reelforge.services.jobs.submit import submit_job
from reelforge.services.jobs.uploads import create_upload
from reelforge.web import security
from reelforge.worker.loop import Worker
from tests.conftest import make_settings
from tests.helpers import wait_final

PASSWORD = "correct horse battery"
BLOCKED_PROMPT = "a graphic video of a man being beheaded, blood everywhere"
# held for review; its markup is what an operator's page must show as text
POLITICAL = (
    "a campaign ad asking people to vote for a candidate in the presidential election"
    ' <img src=x onerror="alert(2)">'
)
XSS_PROMPT = 'a red boat <script>alert("x")</script> at dusk'
AXE = Path(__file__).parents[2] / "src/reelforge/web/static/vendor/axe.min.js"

# Paths that are not pages of the studio or console: the APIs (ours at /v1, the
# OpenAI-compatible one under /openai/v1), their docs, static files, probes.
NOT_PAGES = re.compile(
    r"^/(v\d+|openai|docs|redoc|openapi|static|health\w*|ready\w*|live\w*|metrics)(/|\.|$)"
)


@dataclass
class Site:
    url: str
    app: FastAPI
    platform: Platform
    creator_token: str
    operator_token: str
    video_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    def cookies(self, who: str | None, lang: str = "en") -> list[dict[str, Any]]:
        """Cookies of a browser signed in as `who` (creator, operator or None)."""
        jar: list[dict[str, Any]] = [{"name": security.LANG_COOKIE, "value": lang, "url": self.url}]
        token = {"creator": self.creator_token, "operator": self.operator_token}.get(who or "")
        if token:
            jar.append({"name": security.SESSION_COOKIE, "value": token, "url": self.url})
        return jar


@dataclass(frozen=True)
class WebRoute:
    path: str
    methods: frozenset[str]
    regex: re.Pattern[str]


def routes(app: FastAPI) -> list[WebRoute]:
    """Every HTTP route of the app, with the prefixes of the routers that hold it (FastAPI
    keeps included routers as branches of the route table)."""
    out: list[WebRoute] = []

    def flat(table: list[Any], prefix: str) -> None:
        for r in table:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                context = getattr(r, "include_context", None)
                flat(inner.routes, prefix + str(getattr(context, "prefix", "") or ""))
            elif isinstance(r, APIRoute):
                path = prefix + r.path
                out.append(WebRoute(path, frozenset(r.methods), compile_path(path)[0]))

    flat(list(app.routes), "")
    return out


def page_routes(app: FastAPI) -> list[WebRoute]:
    """Every GET route of the web pages (the API, its docs and static files left out);
    some answer with a file or a stream: the walkers keep only what answers HTML."""
    return [
        r
        for r in routes(app)
        if "GET" in r.methods and not NOT_PAGES.match(r.path) and r.path != "/"
    ]


def post_routes(app: FastAPI) -> list[WebRoute]:
    """Every state-changing route of the web pages."""
    return [
        r
        for r in routes(app)
        if r.methods & {"POST", "PUT", "PATCH", "DELETE"} and not NOT_PAGES.match(r.path)
    ]


def concrete(route: WebRoute, links: set[str], most: int = 3) -> list[str]:
    """The route's path itself, or (for a path with parameters) up to `most` links seen on
    the pages that it matches (ids come from the pages, never guessed; several, so that a
    page is seen in several states: a finished, a blocked and a held video)."""
    if "{" not in route.path:
        return [route.path]
    return [link for link in sorted(links) if route.regex.fullmatch(link)][:most]


def picture() -> bytes:
    img = Image.new("RGB", (640, 480), (40, 90, 160))
    draw = ImageDraw.Draw(img)
    draw.ellipse((220, 140, 420, 340), fill=(230, 180, 60))
    draw.rectangle((0, 360, 640, 480), fill=(30, 120, 60))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@contextmanager
def serve(p: Platform) -> Iterator[tuple[str, FastAPI]]:
    app = create_app(p)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        assert thread.is_alive(), "server thread ended"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def populated_site(tmp: Path, **settings: Any) -> Iterator[Site]:
    """The served app with a creator who has one finished clip (its prompt is markup, shown
    as text), one blocked and one held for review (the EU policy: political content waits
    for a person), and an operator."""
    settings.setdefault("policy_profile", "eu")
    p = bootstrap(make_settings(tmp, default_plan="free", **settings))
    try:
        saved = signin._hasher  # cheap hashes for these two sign-ups only
        signin._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        try:
            creator = signin.sign_up(p, "creator@example.com", PASSWORD)
            signin.add_login(p, "ops", "ops@example.com", PASSWORD, operator=True)
            operator = signin.sign_in(p, "ops@example.com", PASSWORD, ip="127.0.0.1")
        finally:
            signin._hasher = saved
        user = signin.session_user(p, creator.token)
        assert user is not None
        up = create_upload(p, user.account, picture(), "garden.png")
        job = submit_job(
            p,
            user.account,
            SubmitRequest(
                prompt=XSS_PROMPT, image_upload_id=up.id, duration=1, resolution="480p", seed=7
            ),
        ).job
        worker = Worker(p, name="pages").start()
        try:
            assert wait_final(p, user.account, job["id"], timeout=60)["status"] == "succeeded"
        finally:
            worker.stop()
        for prompt, status in ((BLOCKED_PROMPT, "blocked"), (POLITICAL, "review")):
            other = submit_job(
                p,
                user.account,
                SubmitRequest(prompt=prompt, image_upload_id=up.id, duration=1, resolution="480p"),
            ).job
            assert other["status"] == status, other
        with serve(p) as (url, app):
            yield Site(url, app, p, creator.token, operator.token, job["id"])
    finally:
        p.close()


_SHARED: dict[str, Site] = {}


def shared_site(request: pytest.FixtureRequest) -> Site:
    """One populated site for every module of the session that walks pages (it is only
    read): made on first use, closed when the session ends."""
    if "site" not in _SHARED:
        stack = ExitStack()
        tmp = request.getfixturevalue("tmp_path_factory").mktemp("site")
        # Stripe keys set (nothing calls Stripe unless a test clicks Buy): the billing page
        # shows its plans and packs, so their forms are walked too
        _SHARED["site"] = stack.enter_context(
            populated_site(
                tmp, stripe_secret_key="sk_test_pages", stripe_webhook_secret="whsec_test_pages"
            )
        )
        request.config.add_cleanup(stack.close)
        request.config.add_cleanup(_SHARED.clear)
    return _SHARED["site"]


def same_site_links(hrefs: list[str]) -> set[str]:
    """Paths of links on a page that stay on this site."""
    out = set()
    for href in hrefs:
        if href.startswith("/") and not href.startswith("//"):
            out.add(re.split(r"[?#]", href)[0])
    return out


def answer(site: Site, who: str | None, path: str) -> tuple[int, str, str]:
    """Status, content type and (for HTML only) body of a GET as `who`, without following
    redirects and without reading a file or an event stream."""
    cookies = {c["name"]: c["value"] for c in site.cookies(who)}
    with (
        httpx.Client(base_url=site.url, cookies=cookies, timeout=30) as client,
        client.stream("GET", path) as r,
    ):
        kind = r.headers.get("content-type", "")
        body = r.read().decode() if r.status_code == 200 and "text/html" in kind else ""
        return r.status_code, kind, body


def walk(site: Site) -> list[tuple[str | None, str]]:
    """(who, path) of every HTML page of the app: GET routes of the web pages, console pages
    as the operator, others as the creator, or signed out where a signed-in browser is sent
    elsewhere (sign-in); a route with ids takes them from a link on a page walked earlier."""
    if "pages" in site.extra:
        return list(site.extra["pages"])
    found: list[tuple[str | None, str]] = []
    links: set[str] = set()
    pending = page_routes(site.app)
    progress = True
    while pending and progress:
        progress = False
        for route in list(pending):
            paths = concrete(route, links)
            if not paths:
                continue
            pending.remove(route)
            progress = True
            for path in paths:
                role = "operator" if path.startswith("/console") else "creator"
                for who in (role, None):
                    status, _kind, body = answer(site, who, path)
                    if 300 <= status < 400:
                        continue  # sent elsewhere: try signed out
                    if re.match(r"\s*<!doctype html", body, re.I):  # a page, not a fragment
                        found.append((who, path))
                        site.extra.setdefault("html", {})[path] = body
                        links |= same_site_links(re.findall(r'href="([^"]+)"', body))
                    break
    site.extra["unreached"] = [r.path for r in pending]
    site.extra["pages"] = found
    return list(found)
