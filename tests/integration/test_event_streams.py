"""Event streams that never end (a job held for review) cannot flood the server: a cap per
API key (429 `too_many_streams`), idle streams end with a `retry:` hint and resume with
Last-Event-ID, and quiet streams cost no database query each (one watcher per process)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import event

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from tests.conftest import make_settings
from tests.fakes import GradientBackend

BODY = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}


class _Server:
    """The real API on a loopback port (streams that never end need a real server)."""

    def __init__(self, p: Platform):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(
            create_app(p), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Platform, _Server]]:
    settings = make_settings(tmp_path, event_streams_per_key=3, event_stream_idle=30.0)
    p = bootstrap(settings, backends=[GradientBackend()])  # no worker: jobs stay queued
    server = _Server(p)
    yield p, server
    server.close()
    p.close()


def _key(p: Platform, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_key(p, name).key}"}


def _job(server: _Server, headers: dict[str, str]) -> str:
    r = httpx.post(f"{server.url}/v1/videos", json=BODY, headers=headers)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


class _Stream:
    """An open event stream read on its own thread (first bytes awaited)."""

    def __init__(self, client: httpx.Client, path: str, headers: dict[str, str] | None = None):
        self.text = ""
        self.status: int | None = None
        self.opened = threading.Event()
        self.ended = threading.Event()
        self._socket: socket.socket
        self._thread = threading.Thread(
            target=self._read, args=(client, path, headers or {}), daemon=True
        )
        self._thread.start()
        assert self.opened.wait(10)

    def _read(self, client: httpx.Client, path: str, headers: dict[str, str]) -> None:
        try:
            with client.stream("GET", path, headers=headers) as r:
                self._socket = r.extensions["network_stream"].get_extra_info("socket")
                self.status = r.status_code
                self.retry_after = r.headers.get("retry-after")
                for chunk in r.iter_text():
                    self.text += chunk
                    self.opened.set()
                if not self.text:
                    self.text = r.read().decode() if r.status_code != 200 else ""
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.ended.set()

    def close(self) -> None:
        """Hang up as a client that goes away does (the server sees the connection close)."""
        self._socket.shutdown(socket.SHUT_RDWR)
        assert self.ended.wait(10)


@pytest.mark.slow
def test_streams_per_key_are_capped_with_429_and_retry_after(api: tuple[Platform, _Server]) -> None:
    p, server = api
    alice, bob = _key(p, "alice"), _key(p, "bob")
    job = _job(server, alice)
    clients = [httpx.Client(base_url=server.url, headers=alice, timeout=30) for _ in range(4)]
    try:
        streams = [_Stream(c, f"/v1/videos/{job}/events") for c in clients[:3]]
        assert all(s.status == 200 for s in streams)
        r = httpx.get(f"{server.url}/v1/videos/{job}/events", headers=alice)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert r.json()["error"]["code"] == "too_many_streams"
        # another tenant is not affected by alice's streams
        other = _job(server, bob)
        with httpx.Client(base_url=server.url, headers=bob, timeout=30) as c:
            s = _Stream(c, f"/v1/videos/{other}/events")
            assert s.status == 200
            c.close()
        # a stream whose client hangs up gives its slot back
        streams[0].close()
        deadline = time.monotonic() + 10
        while True:
            r4 = _Stream(clients[3], f"/v1/videos/{job}/events")
            if r4.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert r4.status == 200
    finally:
        for c in clients:
            c.close()


def test_an_idle_stream_ends_with_a_retry_hint_and_resumes(api: tuple[Platform, _Server]) -> None:
    p, server = api
    p.settings.event_stream_idle = 0.6
    alice = _key(p, "alice")
    job = _job(server, alice)
    with httpx.Client(base_url=server.url, headers=alice, timeout=30) as c:
        started = time.monotonic()
        r = c.get(f"/v1/videos/{job}/events")  # returns once the stream has ended
        took = time.monotonic() - started
        assert r.status_code == 200 and 0.5 < took < 10
        assert r.text.rstrip().endswith("retry: 5000")
        last_id = [line for line in r.text.splitlines() if line.startswith("id: ")][-1][4:]
        assert c.post(f"/v1/videos/{job}/cancel").status_code == 200
        resumed = c.get(f"/v1/videos/{job}/events", headers={"Last-Event-ID": last_id})
    ids = [line for line in resumed.text.splitlines() if line.startswith("event: ")]
    assert ids == ["event: cancelled"]  # only what came after, then the end


@pytest.mark.slow
def test_quiet_streams_cost_no_query_each(api: tuple[Platform, _Server]) -> None:
    """30 streams on quiet jobs for a second and a half: the old per-stream polling made
    ~180 queries (30 x 4 a second); one watcher makes a handful."""
    p, server = api
    p.settings.event_streams_per_key = 100
    alice = _key(p, "alice")
    jobs_ = [_job(server, alice) for _ in range(3)]
    queries: list[str] = []

    def count(*args: Any) -> None:
        queries.append(str(args[2])[:60])

    clients = [httpx.Client(base_url=server.url, headers=alice, timeout=30) for _ in range(30)]
    try:
        streams = [_Stream(c, f"/v1/videos/{jobs_[i % 3]}/events") for i, c in enumerate(clients)]
        assert all(s.status == 200 for s in streams)
        event.listen(p.db.read_engine, "before_cursor_execute", count)
        time.sleep(1.5)  # the window measured: nothing happens to the jobs
        event.remove(p.db.read_engine, "before_cursor_execute", count)
        assert len(queries) < 15, queries  # ~6 polls of one query for all 30 streams
        # and they are live: a cancel reaches every stream of that job at once
        assert (
            httpx.post(f"{server.url}/v1/videos/{jobs_[0]}/cancel", headers=alice).status_code
            == 200
        )
        ended = [s for i, s in enumerate(streams) if i % 3 == 0]
        for s in ended:
            assert s.ended.wait(10)
            assert "event: cancelled" in s.text
        assert not any(s.ended.is_set() for i, s in enumerate(streams) if i % 3)
    finally:
        for c in clients:
            c.close()
