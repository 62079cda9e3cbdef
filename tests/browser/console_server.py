"""A served app for the operator console's browser tests: the EU policy (political content
waits for a person), an in-process worker (an approved job runs), an operator signed in
with cheap password hashes, and the platform itself so a test can prepare data."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from argon2 import PasswordHasher
from PIL import Image
from playwright.sync_api import Page, expect

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import signin
from tests.conftest import make_settings

PASSWORD = "correct horse battery"
OPERATOR = "ops@example.com"


@dataclass
class Site:
    url: str
    platform: Platform


@pytest.fixture
def console_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setattr(
        signin, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    signin._dummy_hash.cache_clear()
    p = bootstrap(make_settings(tmp_path, default_plan="free", policy_profile="eu"))
    signin.create_with_login(p, "ops", OPERATOR, PASSWORD, operator=True)
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
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        assert thread.is_alive(), "server thread ended"
        time.sleep(0.02)
    yield Site(f"http://127.0.0.1:{port}", p)
    server.should_exit = True
    thread.join(15)
    p.close()
    signin._dummy_hash.cache_clear()


def sign_in_operator(page: Page, url: str) -> None:
    page.goto(url + "/signin")
    page.get_by_label("E-mail").fill(OPERATOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Console")).to_be_visible()


def picture(width: int = 320, height: int = 240) -> bytes:
    """A small JPEG with some structure (a gradient and a square)."""
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
    rgb = np.broadcast_to(x, (height, width, 3)).copy()
    rgb[60:180, 100:220] = (200, 40, 40)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=90)
    return out.getvalue()


def collect_problems(page: Page) -> list[str]:
    """Console errors, page errors and failed responses (a CSP violation is a console
    error)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return problems
