"""Load on loopback: many concurrent clients submitting and polling against a real
`reelforge serve --no-worker` and a `reelforge worker`, on PostgreSQL + Redis, both spawned here.

    .venv/bin/python bench/load.py [--clients 200] [--seconds 60] [--tiny] [--json]

Each client (asyncio + httpx, one connection each) loops until the time is up: submit a 1 s
480p motion clip from an uploaded image (POST /v1/videos), then poll it (GET /v1/videos/{id})
every --poll seconds until it is final or it was polled --polls times. Every request is timed
and its status counted. A fresh PostgreSQL database and Redis namespace are made for the run
and removed after; the account is on the `internal` plan (metered, never limited), so every
4xx or 5xx is the platform's, not a plan limit. Reported: requests and submits per second,
p50/p99 latency per route, responses by status (target: zero 5xx), and what /metrics says at
the end (jobs finished, queue depth). `--tiny` (CI): 5 clients for 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG = os.environ.get("RF_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("RF_BENCH_REDIS", "redis://127.0.0.1:6379/0")
FINAL = {"succeeded", "failed", "cancelled", "blocked"}
SUBMIT, POLL = "POST /v1/videos", "GET /v1/videos/{id}"


class Unavailable(Exception):
    """PostgreSQL or Redis is not reachable: the bench cannot run here."""


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    submitted: int = 0
    seen_final: int = 0

    def record(self, route: str, status: str, seconds: float) -> None:
        self.latencies[route].append(seconds)
        self.statuses[route][status] += 1


# -- the deployment ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fresh_database() -> str:
    try:
        import psycopg

        name = f"rf_load_{secrets.token_hex(3)}"
        with psycopg.connect(PG, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        raise Unavailable(f"PostgreSQL at {PG}: {exc}") from exc
    return PG.rsplit("/", 1)[0] + "/" + name


def _drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _check_redis() -> None:
    try:
        import redis

        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except Exception as exc:
        raise Unavailable(f"Redis at {REDIS}: {exc}") from exc


def _clear_namespace(namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(f"*{namespace}*"))
    if keys:
        client.delete(*keys)


class Deployment:
    """An API process and a worker process on a fresh database; stopped and removed on exit."""

    def __init__(self) -> None:
        _check_redis()
        self.tmp = Path(tempfile.mkdtemp(prefix="rf-load-"))
        self.database = _fresh_database()
        self.namespace = f"load{secrets.token_hex(3)}"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "RF_DATA_DIR": str(self.tmp / "data"),
            "RF_DATABASE_URL": self.database,
            "RF_QUEUE_URL": REDIS,
            "RF_QUEUE_NAMESPACE": self.namespace,
            "RF_DEFAULT_PLAN": "internal",
            "RF_WORKER_QUEUES": "motion",
            "RF_STOP_GRACE": "2",
            "RF_MODEL_CACHE_DIR": os.environ.get(
                "RF_MODEL_CACHE_DIR", str(Path.home() / ".cache" / "reelforge-models")
            ),
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def _cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reelforge.cli", *args]

    def start(self) -> str:
        """Start both processes and create the key meanwhile (each migrates the new database;
        migrations are safe from many processes at once); returns the API key."""
        for name, args in (
            ("serve", ("serve", "--no-worker", "--port", str(self.port))),
            ("worker", ("worker",)),
        ):
            log = (self.tmp / f"{name}.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    self._cli("--log-level", "warning", *args), env=self.env, stdout=log, stderr=log
                )
            )
        made = subprocess.run(
            self._cli("keys", "create", "--account", "load", "--json"),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if made.returncode != 0:
            raise RuntimeError(f"keys create failed: {made.stderr[-2000:]}")
        return str(json.loads(made.stdout.strip().splitlines()[-1])["key"])

    def wait_ready(self, timeout: float = 120.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"a reelforge process exited ({proc.returncode}):\n" + self.logs()
                    )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the API did not answer /healthz in time:\n" + self.logs())

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.tmp.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        try:
            _drop_database(self.database)
            _clear_namespace(self.namespace)
        finally:
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)


# -- the clients ------------------------------------------------------------------------------


async def _timed(tally: Tally, route: str, call: Any) -> Any:
    import httpx

    started = time.perf_counter()
    try:
        response = await call
    except httpx.HTTPError as exc:
        tally.record(route, f"error:{type(exc).__name__}", time.perf_counter() - started)
        return None
    tally.record(route, str(response.status_code), time.perf_counter() - started)
    return response


async def _client(
    n: int, base: str, key: str, upload: str, deadline: float, tally: Tally, poll: float, polls: int
) -> None:
    import httpx

    async with httpx.AsyncClient(
        base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}
    ) as http:
        i = 0
        while time.monotonic() < deadline:
            body = {
                "model": "motion",
                "prompt": f"slow zoom on the cup, client {n} clip {i}",
                "image_upload_id": upload,
                "duration": 1,
                "resolution": "480p",
            }
            i += 1
            r = await _timed(tally, SUBMIT, http.post("/v1/videos", json=body))
            if r is None or r.status_code != 202:
                await asyncio.sleep(poll)
                continue
            tally.submitted += 1
            job_id = r.json()["id"]
            for _ in range(polls):
                await asyncio.sleep(poll)
                if time.monotonic() >= deadline:
                    return
                r = await _timed(tally, POLL, http.get(f"/v1/videos/{job_id}"))
                if r is not None and r.status_code == 200 and r.json()["status"] in FINAL:
                    tally.seen_final += 1
                    break


async def _drive(
    base: str, key: str, clients: int, seconds: float, poll: float, polls: int
) -> tuple[Tally, float]:
    import httpx

    from reelforge.media.images import sample_image_path

    async with httpx.AsyncClient(
        base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}
    ) as http:
        image = sample_image_path().read_bytes()
        r = await http.post("/v1/uploads", files={"file": ("cup.jpg", image, "image/jpeg")})
        r.raise_for_status()
        upload = r.json()["id"]
    tally = Tally()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(_client(n, base, key, upload, deadline, tally, poll, polls) for n in range(clients))
    )
    return tally, time.monotonic() - started


def _metrics(base: str) -> dict[str, float]:
    """The figures /metrics gives at the end (summed over labels)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {
        "reelforge_jobs_finished_total": "jobs_finished",
        "reelforge_queue_depth": "queue_depth",
        "reelforge_job_failures_total": "job_failures",
    }
    out = dict.fromkeys(wanted.values(), 0.0)
    text = httpx.get(f"{base}/metrics", timeout=30).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                out[wanted[sample.name]] += sample.value
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def measure(clients: int, seconds: float, poll: float = 1.0, polls: int = 3) -> dict[str, Any]:
    """Run the load once; the figures as a dict (also what --json prints)."""
    deployment = Deployment()
    try:
        key = deployment.start()
        deployment.wait_ready()
        tally, elapsed = asyncio.run(_drive(deployment.url, key, clients, seconds, poll, polls))
        metrics = _metrics(deployment.url)
    except BaseException:
        print(deployment.logs(), file=sys.stderr)
        raise
    finally:
        deployment.stop()
    requests = sum(len(v) for v in tally.latencies.values())
    statuses: Counter[str] = Counter()
    for counts in tally.statuses.values():
        statuses.update(counts)
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": requests,
        "requests_per_s": requests / elapsed,
        "submits_per_s": tally.submitted / elapsed,
        "seen_final": tally.seen_final,
        "routes": {
            route: {
                "count": len(v),
                "p50_ms": _pct(v, 0.5) * 1000,
                "p99_ms": _pct(v, 0.99) * 1000,
                "mean_ms": statistics.fmean(v) * 1000 if v else 0.0,
                "statuses": dict(tally.statuses[route]),
            }
            for route, v in tally.latencies.items()
        },
        "statuses": dict(statuses),
        "errors_5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        "errors_other": sum(n for s, n in statuses.items() if not s.startswith(("2", "5"))),
        "metrics": metrics,
    }


def run(tiny: bool) -> list[dict[str, Any]]:
    """Rows for `python -m bench` (see bench/__main__.py)."""
    r = measure(*((5, 5.0) if tiny else (200, 60.0)))
    report(r)
    rows = [
        {
            "bench": "load",
            "what": f"{r['clients']} clients, {r['seconds']:.0f} s: requests/s",
            "ours": r["requests_per_s"],
            "unit": "req/s",
        },
        {
            "bench": "load",
            "what": "5xx responses (target 0)",
            "ours": r["errors_5xx"],
            "unit": "count",
            "target": 0,
        },
    ]
    for route in (SUBMIT, POLL):
        if route in r["routes"]:
            stats = r["routes"][route]
            rows.append(
                {
                    "bench": "load",
                    "what": f"{route} p50",
                    "ours": stats["p50_ms"],
                    "unit": "ms",
                    "note": f"p99 {stats['p99_ms']:.0f} ms, {stats['count']} requests",
                }
            )
    if r["errors_other"]:
        rows.append(
            {
                "bench": "load",
                "what": "other non-2xx or client errors",
                "ours": r["errors_other"],
                "unit": "count",
                "note": json.dumps(r["statuses"]),
            }
        )
    return rows


def report(r: dict[str, Any]) -> None:
    print(
        f"{r['clients']} clients for {r['seconds']:.1f} s on loopback (PostgreSQL + Redis; "
        f"serve --no-worker + worker)"
    )
    print(
        f"requests {r['requests']} = {r['requests_per_s']:.1f}/s; submits "
        f"{r['submits_per_s']:.1f}/s; jobs seen final by their client {r['seen_final']}"
    )
    print(f"{'route':24} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}  statuses")
    for route, s in r["routes"].items():
        print(
            f"{route:24} {s['count']:7d} {s['p50_ms']:8.1f} {s['p99_ms']:8.1f} "
            f"{s['mean_ms']:8.1f}  "
            + ", ".join(f"{k}: {v}" for k, v in sorted(s["statuses"].items()))
        )
    print(f"5xx: {r['errors_5xx']} (target 0); other non-2xx or client errors: {r['errors_other']}")
    m = r["metrics"]
    print(
        f"/metrics at the end: jobs finished {m['jobs_finished']:.0f}, queue depth "
        f"{m['queue_depth']:.0f}, job failures {m['job_failures']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--polls", type=int, default=3, help="polls per job at most")
    parser.add_argument("--tiny", action="store_true", help="CI size: 5 clients for 5 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    clients, seconds = (5, 5.0) if args.tiny else (args.clients, args.seconds)
    try:
        result = measure(clients, seconds, args.poll, args.polls)
    except Unavailable as exc:
        sys.exit(f"load: {exc}")
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    if result["errors_5xx"]:
        sys.exit(1)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
