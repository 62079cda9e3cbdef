"""Run one request against a fresh app in this process and print what it cost, as JSON:
status, error code, RSS growth (peak over the start, sampled every 2 ms), bytes written by
the process (/proc/self/io wchar), request-body bytes the app pulled, seconds.

Used by tests/integration/test_resource_limits.py in a subprocess, so the memory figures
are this request's alone. `python -m tests.integration.limits_probe SPEC.json`.

The app is driven through ASGI directly (not TestClient, which reads the whole body into
memory first), so a chunked body is produced lazily and we can see where reading stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


def written() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("wchar:"))


class PeakRss:
    def __init__(self) -> None:
        self.start = rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        return self.peak - self.start


def body_chunks(spec: dict[str, Any]) -> Iterator[bytes]:
    """The request body: a file's bytes (multipart around them when `field` is given), or
    `size` bytes of a JSON string, cut in `chunk`-byte pieces."""
    chunk = int(spec.get("chunk", 64 * 1024))
    boundary = b"probeboundary"
    if "file" in spec or "fill" in spec:
        head = (
            b"--"
            + boundary
            + b'\r\nContent-Disposition: form-data; name="'
            + spec["field"].encode()
            + b'"; filename="f.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n"
        )
        yield head
        if "file" in spec:
            data = Path(spec["file"]).read_bytes()
            for i in range(0, len(data), chunk):
                yield data[i : i + chunk]
        else:
            piece = b"\x00" * chunk
            for _ in range(int(spec["fill"]) // chunk):
                yield piece
        yield b"\r\n--" + boundary + b"--\r\n"
        return
    size = int(spec["size"])
    yield b'{"text": "'
    piece = b"a" * chunk
    for _ in range(size // chunk):
        yield piece
    yield b'"}'


def body_length(spec: dict[str, Any]) -> int:
    return sum(len(c) for c in body_chunks(spec))


async def call(app: Any, spec: dict[str, Any], key: str) -> dict[str, Any]:
    headers = [(b"authorization", f"Bearer {key}".encode()), (b"host", b"testserver")]
    if "field" in spec:
        headers.append((b"content-type", b"multipart/form-data; boundary=probeboundary"))
    else:
        headers.append((b"content-type", b"application/json"))
    if not spec.get("chunked"):
        headers.append((b"content-length", str(body_length(spec)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": spec["path"],
        "raw_path": spec["path"].encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
        "state": {},
    }
    chunks = body_chunks(spec)
    pulled = 0
    finished = asyncio.Event()
    status: list[int] = []
    body = bytearray()
    exhausted = False

    async def receive() -> dict[str, Any]:
        nonlocal pulled, exhausted
        if exhausted:
            await finished.wait()
            return {"type": "http.disconnect"}
        piece = next(chunks, None)
        if piece is None:
            exhausted = True
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                finished.set()

    await app(scope, receive, send)
    try:
        parsed = json.loads(bytes(body))
    except ValueError:
        parsed = {}
    code = parsed.get("error", {}).get("code") if isinstance(parsed, dict) else None
    return {
        "status": status[0] if status else None,
        "code": code,
        "pulled": pulled,
        "sent": body_length(spec),
    }


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    from reelforge.api.app import create_app
    from reelforge.app.bootstrap import bootstrap
    from reelforge.config import Settings
    from reelforge.services.accounts import accounts

    settings = Settings(
        data_dir=Path(spec["data_dir"]),
        worker_queues=[],
        default_plan="internal",
        **spec.get("settings", {}),
    )
    p = bootstrap(settings)
    key = accounts.create_api_key(p, "acme").key
    app = create_app(p)
    parallel = int(spec.get("parallel", 1))

    async def run() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(call(app, spec, key) for _ in range(parallel))))

    # what a verification imports lazily (OpenCV, the C2PA reader) is loaded outside the measure
    import reelforge.provenance.c2pa_manifest
    import reelforge.provenance.watermark  # noqa: F401

    meter = PeakRss()
    wrote, t0 = written(), time.perf_counter()
    results = asyncio.run(run())
    seconds = time.perf_counter() - t0
    growth = meter.stop()
    p.close()
    print(
        json.dumps(
            {
                "results": results,
                "rss_growth_mb": round(growth / 2**20, 1),
                "written_mb": round((written() - wrote) / 2**20, 2),
                "seconds": round(seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
