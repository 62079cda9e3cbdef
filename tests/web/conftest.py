"""Fixtures of the web tests: an app over a platform, and a browser-like client that keeps
cookies and reads the CSRF token from the page it is on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import signin
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


class Browser:
    """A TestClient that posts forms the way a browser does: with the page's token."""

    def __init__(self, client: TestClient):
        self.client = client
        self.page = ""

    def get(self, path: str, **kw: object):  # type: ignore[no-untyped-def]
        response = self.client.get(path, **kw)  # type: ignore[arg-type]
        self.page = response.text
        return response

    def submit(self, page_path: str, action: str, data: dict[str, str], **kw: object):  # type: ignore[no-untyped-def]
        token = csrf_of(self.get(page_path).text)
        response = self.client.post(action, data={**data, "csrf_token": token}, **kw)  # type: ignore[arg-type]
        self.page = response.text
        return response

    def sign_up(self, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        return self.submit("/signup", "/signup", {"email": email, "password": password})

    def sign_in(self, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        return self.submit("/signin", "/signin", {"email": email, "password": password})


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with small costs, so the many sign-ins here stay fast on 2 cores; the
    production parameters have their own test (test_password_hashes_are_argon2id)."""
    monkeypatch.setattr(
        signin, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    signin._dummy_hash.cache_clear()


@pytest.fixture
def web_platform(tmp_path: Path) -> Iterator[Platform]:
    """SQLite only: the pages are the same on both stacks (the sign-up flow runs on both)."""
    p = bootstrap(make_settings(tmp_path))
    yield p
    p.close()


@pytest.fixture
def app_client(web_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(web_platform), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def visitor(app_client: TestClient) -> Browser:
    return Browser(app_client)


@pytest.fixture
def new_browser(app_client: TestClient):  # type: ignore[no-untyped-def]
    """Another browser on the same app (its own cookies)."""
    made: list[TestClient] = []

    def make() -> Browser:
        c = TestClient(app_client.app, base_url="http://testserver")
        made.append(c)
        return Browser(c)

    yield make
    for c in made:
        c.close()
