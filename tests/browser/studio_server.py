"""A served app with its own in-process worker, for the studio's browser tests: jobs submitted
in the page run, stream their progress and produce MP4s. `studio_server(**settings)` starts
one (settings such as `motion_frame_delay` slow the worker for the cancel test). Also the
helpers the studio's browser tests share."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from PIL import Image
from playwright.sync_api import Page, expect

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from tests.conftest import make_settings


class Served(str):
    """The served app's URL, with its platform (for what a test does behind the pages, such
    as a reviewer's decision)."""

    platform: Platform


@pytest.fixture
def studio_server(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    running: list[tuple[uvicorn.Server, threading.Thread, Platform]] = []

    def start(**settings: object) -> Served:
        p = bootstrap(make_settings(tmp_path, default_plan="free", **settings))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(p, embedded_worker=True),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="on",
                # a page's event stream may still be open when the test ends: do not wait it out
                timeout_graceful_shutdown=1,
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread, p))
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            assert thread.is_alive(), "server thread ended"
            time.sleep(0.02)
        url = Served(f"http://127.0.0.1:{port}")
        url.platform = p
        return url

    yield start
    for server, thread, p in running:
        server.should_exit = True
        thread.join(15)
        p.close()


PASSWORD = "correct horse battery"


def photo(path: Path) -> Path:
    """A 640x360 picture with structure (gradients and shapes) as a JPEG file."""
    y, x = np.mgrid[0:360, 0:640]
    rgb = np.stack([x * 255 // 640, y * 255 // 360, (x + y) * 255 // 1000], axis=-1)
    rgb[100:260, 200:440] = [230, 180, 40]
    rgb[150:210, 280:360] = [30, 60, 160]
    buf = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def watch_problems(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    return problems


def sign_up(page: Page, url: str, email: str) -> None:
    page.goto(url + "/signup")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/account$"))


def poll(page: Page, expression: str, timeout: float = 30.0) -> object:
    """The expression's first truthy value, asked every 20 ms (page.wait_for_function
    evaluates strings with eval, which the pages' Content-Security-Policy refuses)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.02)


def credits(page: Page) -> int:
    return int(page.locator("#quote-credits").inner_text().split()[0])
