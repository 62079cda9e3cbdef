"""Event-stream flood: does one tenant holding many `/events` streams slow another tenant?

    .venv/bin/python bench/event_streams.py [--streams 200] [--requests 200] [--src DIR]

Spawns `reelforge serve --no-worker` (embedded SQLite) and makes two keys. Tenant A submits
one job (no worker runs, so it stays queued and its streams never end, like a job held for
review) and opens --streams event streams on it, each on its own connection. Tenant B then
times --requests sequential `GET /v1/videos`. Reported per scenario: B's p50/p95, the API
process's CPU while B measures, and how many of A's streams were accepted (the rest: 429
`too_many_streams`). Scenarios: no streams; the flood with the default per-key cap; the
flood with the cap lifted (RF_EVENT_STREAMS_PER_KEY=100000: what the streams cost).
`--src DIR` runs the API from another checkout's `src` (e.g. the code before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Api:
    def __init__(self, src: str | None, extra_env: dict[str, str]):
        self.tmp = Path(tempfile.mkdtemp(prefix="rf-sse-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "RF_DATA_DIR": str(self.tmp / "data"),
            "RF_DEFAULT_PLAN": "internal",
            **extra_env,
        }
        if src:
            self.env["PYTHONPATH"] = src
        self.log = (self.tmp / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reelforge.cli",
                "--log-level",
                "warning",
                "serve",
                "--no-worker",
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=self.log,
            stderr=self.log,
        )

    def key(self, account: str) -> str:
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "reelforge.cli",
                "keys",
                "create",
                "--account",
                account,
                "--json",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return str(json.loads(made.stdout.strip().splitlines()[-1])["key"])

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError((self.tmp / "serve.log").read_text()[-3000:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _png_data_uri() -> str:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 40, 90)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


async def _hold_stream(
    url: str, key: str, job: str, opened: list[int], stop: asyncio.Event
) -> None:
    async with httpx.AsyncClient(
        base_url=url, timeout=None, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        try:
            async with client.stream("GET", f"/v1/videos/{job}/events") as r:
                opened.append(r.status_code)
                if r.status_code != 200:
                    return
                reader = asyncio.ensure_future(r.aread())
                await stop.wait()
                reader.cancel()
        except (httpx.HTTPError, asyncio.CancelledError):
            pass


async def _scenario(api: Api, streams: int, requests: int) -> dict[str, Any]:
    a, b = api.key("tenant-a"), api.key("tenant-b")
    body = {
        "prompt": "slow zoom in",
        "duration": 1,
        "resolution": "480p",
        "image_url": _png_data_uri(),
    }
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        r = await client.post("/v1/videos", json=body, headers={"Authorization": f"Bearer {a}"})
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        await client.post("/v1/videos", json=body, headers={"Authorization": f"Bearer {b}"})
        stop, opened = asyncio.Event(), []  # type: ignore[var-annotated]
        holders = [
            asyncio.ensure_future(_hold_stream(api.url, a, job, opened, stop))
            for _ in range(streams)
        ]
        deadline = time.monotonic() + 60
        while len(opened) < streams and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # settle: streams in their steady state
        latencies = []
        cpu0, wall0 = _cpu_seconds(api.proc.pid), time.monotonic()
        for _ in range(requests):
            t0 = time.perf_counter()
            got = await client.get("/v1/videos", headers={"Authorization": f"Bearer {b}"})
            latencies.append(time.perf_counter() - t0)
            assert got.status_code == 200, got.text
        cpu = (_cpu_seconds(api.proc.pid) - cpu0) / (time.monotonic() - wall0)
        stop.set()
        await asyncio.gather(*holders, return_exceptions=True)
    latencies.sort()
    return {
        "streams_asked": streams,
        "streams_open": opened.count(200),
        "refused_429": opened.count(429),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
        "api_cpu_pct": round(cpu * 100),
    }


def run(streams: int, requests: int, src: str | None) -> list[dict[str, Any]]:
    out = []
    for name, n, env in (
        ("no streams", 0, {}),
        ("flood, default cap", streams, {}),
        ("flood, cap lifted", streams, {"RF_EVENT_STREAMS_PER_KEY": "100000"}),
    ):
        api = Api(src, env)
        try:
            api.wait_ready()
            out.append({"scenario": name, **asyncio.run(_scenario(api, n, requests))})
        finally:
            api.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--src", default=None, help="run the API from this src directory")
    args = ap.parse_args()
    rows = run(args.streams, args.requests, args.src)
    print(f"{'scenario':<22}{'open':>6}{'429':>6}{'B p50 ms':>10}{'B p95 ms':>10}{'API CPU':>9}")
    for r in rows:
        print(
            f"{r['scenario']:<22}{r['streams_open']:>6}{r['refused_429']:>6}"
            f"{r['p50_ms']:>10}{r['p95_ms']:>10}{r['api_cpu_pct']:>8}%"
        )
    base = rows[0]["p95_ms"] or 1.0
    print(
        f"B p95 with the flood / without: {rows[1]['p95_ms'] / base:.2f}x (capped), "
        f"{rows[2]['p95_ms'] / base:.2f}x (uncapped)"
    )


if __name__ == "__main__":
    main()
