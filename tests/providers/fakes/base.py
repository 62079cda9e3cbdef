"""A fake provider API on loopback: a real HTTP server (http.server, one thread per request)
that the real backend code talks to. Each provider's fake implements the documented request
and response shapes; this base keeps the request log, the scripted faults (throttling, 5xx
bursts, slow tasks, failures, bad results) and serves a real MP4 made by the media module.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from reelforge.media.encode import encode_mp4


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float = 0.0  # time.perf_counter() when the request arrived


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON-able, or bytes
    headers: dict[str, str] = field(default_factory=dict)


def make_mp4(
    path: Path, *, frames: int = 12, fps: int = 12, size: tuple[int, int] = (320, 180)
) -> Path:
    """A real small H.264 MP4 (a moving gradient), made by reelforge's own encoder."""
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)

    def frame(i: int) -> np.ndarray:
        row = (x + i * 12) % 256
        rgb = np.stack([np.tile(row, (height, 1))] * 3, axis=-1)
        rgb[..., 1] = 255 - rgb[..., 1]
        return rgb.astype(np.uint8)

    encode_mp4((frame(i) for i in range(frames)), path, fps=fps)
    return path


class FakeProvider:
    """Subclasses implement `route(method, path, query, headers, body) -> Answer`."""

    def __init__(self, video: Path):
        self.video = video.read_bytes()
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.tasks: dict[str, dict[str, Any]] = {}
        # scripted behaviour
        self.polls_to_finish = 1  # status reads before a task succeeds
        self.throttle_creates = 0  # the next N creates answer "too many" / concurrency
        self.server_errors = 0  # the next N requests (any) answer 500
        self.file_errors = 0  # the next N result downloads answer 503
        self.fail_tasks = False  # tasks end failed on the provider's side
        self.result = "video"  # video | garbage | truncated
        self.status_delay = 0.0  # seconds each status read takes
        self.echo_auth = False  # refuse creates with an error that quotes the credentials
        # 2xx answers quote the request's credentials: a failed task's message (with
        # fail_tasks) and, where the provider reports errors in 2xx bodies, the create's answer
        self.quote_key = False
        self.local = threading.local()  # the request being answered (its headers)
        self.active = 0  # tasks created and not yet finished
        self.max_active = 0
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeProvider:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                headers = {k.lower(): v for k, v in self.headers.items()}
                record = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    headers,
                    body,
                    time.perf_counter(),
                )
                with fake.lock:
                    fake.requests.append(record)
                    faulty = fake.server_errors > 0
                    if faulty:
                        fake.server_errors -= 1
                fake.local.headers = headers
                if faulty:
                    answer = Answer(500, {"error": "internal"})
                elif parts.path.startswith("/files/"):
                    answer = fake.file(parts.path.removeprefix("/files/"))
                else:
                    answer = fake.route(self.command, parts.path, record.query, headers, body)
                payload = answer.body
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                if payload is None:
                    data = b""
                self.send_response(answer.status)
                content_type = "video/mp4" if isinstance(payload, bytes) else "application/json"
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- shared behaviour -----------------------------------------------------------------

    def file(self, name: str) -> Answer:
        with self.lock:
            if self.file_errors > 0:
                self.file_errors -= 1
                return Answer(503, {"error": "storage unavailable"})
        if self.result == "garbage":
            return Answer(200, b"<html>this is not a video</html>" * 10)
        if self.result == "truncated":
            return Answer(200, self.video[: len(self.video) // 3])
        return Answer(200, self.video)

    def take_throttle(self) -> bool:
        with self.lock:
            if self.throttle_creates > 0:
                self.throttle_creates -= 1
                return True
            return False

    def register(self, task_id: str, task: dict[str, Any]) -> None:
        with self.lock:
            self.tasks[task_id] = task
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def echo(self, headers: dict[str, str]) -> str | None:
        """With `echo_auth`: an error text quoting the request's credentials (a careless API)."""
        if not self.echo_auth:
            return None
        quoted = f"{headers.get('authorization', '')} {headers.get('x-api-key', '')}"
        return f"invalid credentials: {quoted}"

    def quoted(self, text: str) -> str:
        """With `quote_key`: `text` and the credentials of the request being answered."""
        if not self.quote_key:
            return text
        headers: dict[str, str] = getattr(self.local, "headers", {})
        sent = " ".join(
            headers[k] for k in ("authorization", "x-api-key", "x-goog-api-key") if k in headers
        )
        return f"{text} (request sent with {sent})"

    def advance(self, task: dict[str, Any]) -> str:
        """One status read of `task`: queued → running → succeeded (or failed)."""
        if self.status_delay:
            time.sleep(self.status_delay)
        with self.lock:
            task["polls"] = task.get("polls", 0) + 1
            if task.get("cancelled"):
                return "cancelled"
            if task["polls"] >= self.polls_to_finish:
                state = "failed" if self.fail_tasks else "succeeded"
                if not task.get("done"):
                    task["done"] = True
                    self.active -= 1
            else:
                state = "running" if task["polls"] > 1 else "queued"
            task["state"] = state
            return state

    def creates(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> Answer:
        raise NotImplementedError
