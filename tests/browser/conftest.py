"""Browser tests: Playwright for Python (pytest-playwright's fixtures) driving Debian's
`chromium` (Playwright's own browser download does not work on these machines; .ci/run
installs the package). Skipped, with the reason, only where `chromium` is not on PATH.
The app runs in a real uvicorn server on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from tests.conftest import make_settings

CHROMIUM = shutil.which("chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is in the `browser` tier; without chromium each is skipped."""
    skip = pytest.mark.skip(
        reason="Debian's chromium is not on PATH (apt-get install -y chromium; .ci/run installs it)"
    )
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-dev-shm-usage"],
    }


@pytest.fixture
def studio_url(tmp_path: Path) -> Iterator[str]:
    """A served app (the API, the studio, the console) on its own SQLite platform."""
    p = bootstrap(make_settings(tmp_path, default_plan="free"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(p), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        assert thread.is_alive(), "server thread ended"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    p.close()
