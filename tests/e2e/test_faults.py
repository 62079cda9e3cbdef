"""Fault injection with real processes (issue 13, keep-it-proven 3): a `reelforge worker`
SIGKILLed at random points across many jobs, the API (`reelforge serve`) killed and restarted
during submits, PostgreSQL connections dropped and Redis restarted mid-run, and a full blob
disk. After each: every job ends exactly once and is charged exactly once (a capture per
succeeded job, a release per failed one, nothing left on hold), no ledger entry without a
job, no output blob missing (`reelforge fsck`), and no manual step.

Seeded: RF_FAULT_SEED picks the kill points (default 1313; a failure prints it)."""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PG_URL, _postgres_reachable, service_missing
from tests.e2e.conftest import Deployment, free_port
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("RF_FAULT_SEED", "1313"))
FINAL = {"succeeded", "failed", "cancelled", "blocked"}
CLIP = {
    "prompt": "slow zoom on the cup",
    "camera": "zoom_in",
    "duration": 1,
    "resolution": "480p",
    "seed": 5,
}


# --- the stack: PostgreSQL (a database of its own) + a Redis this test starts ------------


class RedisServer:
    """A redis-server on a spare port, without persistence: a restart loses the queue."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(up, timeout=10, interval=0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class Stack:
    d: Deployment
    db_url: str
    redis: RedisServer

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            return list(conn.execute(query, args).fetchall())

    def drop_connections(self) -> int:
        """pg_terminate_backend on every connection the processes hold to this database."""
        import psycopg

        name = self.db_url.rsplit("/", 1)[1]
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
        return len(rows)


@pytest.fixture
def stack(deployment: Deployment, tmp_path: Path) -> Iterator[Stack]:
    reason = _postgres_reachable()
    if reason:
        service_missing(reason)
    if shutil.which("redis-server") is None:
        service_missing("redis-server is not installed (apt-get install redis-server)")
    import psycopg

    name = f"rf_faults_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    deployment.env.update(
        {
            "RF_DATABASE_URL": db_url,
            "RF_QUEUE_URL": redis_server.url,
            "RF_DEFAULT_PLAN": "premier",  # a paying plan: credits are reserved and captured
            "RF_REQUEUE_AFTER": "2",
            "RF_WORKERS": "2",
            "RF_MAX_ATTEMPTS": "8",
            "RF_HEARTBEAT_TIMEOUT": "2.5",
        }
    )
    try:
        yield Stack(deployment, db_url, redis_server)
    finally:
        deployment.stop_all()
        redis_server.kill()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _client(d: Deployment, key: str) -> httpx.Client:
    return httpx.Client(base_url=d.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _upload(client: httpx.Client) -> str:
    from reelforge.cli import sample_image

    r = client.post(
        "/v1/uploads", files={"file": ("cup.jpg", sample_image().read_bytes(), "image/jpeg")}
    )
    assert r.status_code == 201 or r.status_code == 200, r.text
    return str(r.json()["id"])


def _check_books(rows: Any, job_ids: set[str], d: Deployment) -> str:
    """Every job final once, charged once; no ledger row without a job; no blob missing.
    Returns a summary line for the suite's `-s` output."""
    jobs = {
        jid: (status, billing)
        for jid, status, billing in rows("SELECT id, status, billing FROM jobs")
    }
    assert set(jobs) == job_ids, (set(jobs) ^ job_ids, SEED)
    for jid, (status, billing) in jobs.items():
        finals = rows(
            "SELECT type FROM job_events WHERE job_id = %s AND type = ANY(%s)", jid, list(FINAL)
        )
        assert len(finals) == 1, (jid, finals, SEED)
        kinds = sorted(
            k for (k,) in rows("SELECT kind FROM ledger_transactions WHERE job_id = %s", jid)
        )
        want = ["capture", "reserve"] if status == "succeeded" else ["release", "reserve"]
        assert (kinds, billing) == (want, "captured" if status == "succeeded" else "released"), (
            jid,
            status,
            kinds,
            billing,
            SEED,
        )
    strays = rows(
        "SELECT DISTINCT t.job_id FROM ledger_transactions t LEFT JOIN jobs j "
        "ON j.id = t.job_id WHERE t.job_id IS NOT NULL AND j.id IS NULL"
    )
    assert strays == [], strays
    [(held,)] = rows("SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE book = 'hold'")
    assert held == 0
    report = json.loads(d.run("fsck", "--json"))  # exits 1 if an output blob is missing
    assert report["ok"] and report["counts"]["missing"] == 0, report
    captured = sum(1 for status, _ in jobs.values() if status == "succeeded")
    return (
        f"{len(jobs)} jobs each final once; {captured} captured once, "
        f"{len(jobs) - captured} released once; 0 on hold; 0 blobs missing"
    )


def _all_succeeded(stack: Stack) -> None:
    rows = stack.sql("SELECT id, status, attempt, error_code, error_message FROM jobs")
    assert all(r[1] == "succeeded" for r in rows), ([r for r in rows if r[1] != "succeeded"], SEED)


def _wait_all_final(
    client: httpx.Client, job_ids: set[str], timeout: float, why: Any = None
) -> dict[str, dict[str, Any]]:
    def final() -> dict[str, dict[str, Any]] | None:
        try:
            seen = {j: client.get(f"/v1/videos/{j}").json() for j in job_ids}
        except httpx.HTTPError:
            return None
        return seen if all(v.get("status") in FINAL for v in seen.values()) else None

    try:
        return wait_for(final, timeout=timeout, interval=0.2)
    except AssertionError:
        raise AssertionError(f"jobs not final (seed {SEED}): {why() if why else ''}") from None


# --- 1. SIGKILL the worker at random points ------------------------------------------------


def test_worker_sigkilled_at_random_points_every_job_ends_once_and_is_charged_once(
    stack: Stack,
) -> None:
    rng = random.Random(SEED)
    d = stack.d
    key = json.loads(d.run("keys", "create", "--account", "acme", "--json"))["key"]
    d.serve()
    client = _client(d, key)
    upload = _upload(client)
    job_ids = set()
    for i in range(10):
        r = client.post("/v1/videos", json={**CLIP, "image_upload_id": upload, "seed": i})
        assert r.status_code == 202, r.text
        job_ids.add(r.json()["id"])

    def running(pid: int) -> bool:  # a job this very worker is rendering
        return bool(
            stack.sql(
                "SELECT 1 FROM jobs WHERE status = 'running' AND progress > 0 "
                "AND worker_id LIKE %s",
                f"%:{pid}%",
            )
        )

    kills = 0
    for n in range(4):
        if not stack.sql("SELECT 1 FROM jobs WHERE status NOT IN ('succeeded', 'failed')"):
            break
        worker = d.start("worker", log=f"worker{n}")
        try:
            wait_for(partial(running, worker.pid), timeout=30, interval=0.02)
        except AssertionError:
            worker.kill()
            continue
        time.sleep(rng.uniform(0.0, 1.0))  # a random point inside the job (or the next)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        kills += 1
    d.start("worker", log="worker-last")
    _wait_all_final(
        client, job_ids, 90, lambda: stack.sql("SELECT id, status, attempt FROM jobs ORDER BY id")
    )
    assert kills >= 3
    retried = stack.sql("SELECT count(*) FROM jobs WHERE attempt > 1")[0][0]
    assert retried >= 1  # the kills did land inside jobs
    _all_succeeded(stack)
    books = _check_books(stack.sql, job_ids, d)
    print(f"\nfaults[worker SIGKILL]: {kills} kills, {retried} jobs re-run; {books}")


# --- 2. kill and restart the API during submits ------------------------------------------


def _serve_on(d: Deployment, port: int, log: str) -> subprocess.Popen[bytes]:
    proc = d.start("serve", "--no-worker", "--port", str(port), log=log)
    d.base_url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{d.base_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=60, interval=0.1)
    return proc


SUBMITS = 10


def test_api_killed_during_submits_every_accepted_job_exists_and_finishes(stack: Stack) -> None:
    rng = random.Random(SEED + 1)
    d = stack.d
    key = json.loads(d.run("keys", "create", "--account", "acme", "--json"))["key"]
    port = free_port()
    api = _serve_on(d, port, "serve0")
    client = _client(d, key)
    upload = _upload(client)
    d.start("worker", log="worker")
    accepted: dict[str, str] = {}  # external_id -> job id from a 202
    errors: list[str] = []
    dropped: Counter[str] = Counter()  # requests the API never answered, by error (retried)
    stop = threading.Event()

    def submitter() -> None:
        i = 0
        with httpx.Client(
            base_url=d.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
        ) as c:
            while not stop.is_set() and i < SUBMITS:
                ext = f"sub-{i}"
                try:  # a client retries with the same external_id until it has its 202
                    r = c.post(
                        "/v1/videos",
                        json={**CLIP, "image_upload_id": upload, "seed": i, "external_id": ext},
                    )
                except httpx.HTTPError as exc:
                    dropped[type(exc).__name__] += 1
                    time.sleep(0.05)
                    continue
                if r.status_code != 202:
                    errors.append(f"{r.status_code} {r.text[:200]}")
                    time.sleep(0.05)
                    continue
                accepted[ext] = r.json()["id"]
                i += 1

    thread = threading.Thread(target=submitter)
    thread.start()
    try:
        for n in range(2):
            wait_for(partial(lambda k: len(accepted) >= k, 2 + 4 * n), timeout=30, interval=0.01)
            time.sleep(rng.uniform(0.0, 0.2))
            api.send_signal(signal.SIGKILL)  # mid-request, likely mid-transaction
            api.wait(10)
            api = _serve_on(d, port, f"serve{n + 1}")
        thread.join(60)
    finally:
        stop.set()
        thread.join(10)
    assert len(accepted) == SUBMITS and not [e for e in errors if e.startswith("5")], errors
    job_ids = set(accepted.values())
    assert len(job_ids) == SUBMITS  # a retried submit returned the job it had created
    _wait_all_final(client, job_ids, 60)
    _all_succeeded(stack)
    books = _check_books(stack.sql, job_ids, d)
    print(
        f"\nfaults[API SIGKILL]: 2 kills during {SUBMITS} submits; unanswered and retried: "
        f"{dict(dropped)} (ConnectError: the API was down); {len(errors)} non-202 answers "
        f"(0 5xx); {books}"
    )


# --- 3. PostgreSQL connections dropped and Redis restarted mid-run --------------------------


def test_dropped_database_connections_and_a_redis_restart_recover_without_manual_steps(
    stack: Stack,
) -> None:
    d = stack.d
    key = json.loads(d.run("keys", "create", "--account", "acme", "--json"))["key"]
    d.serve()
    client = _client(d, key)
    upload = _upload(client)
    d.start("worker", log="worker")
    job_ids = set()
    for i in range(5):
        r = client.post("/v1/videos", json={**CLIP, "image_upload_id": upload, "seed": i})
        assert r.status_code == 202, r.text
        job_ids.add(r.json()["id"])
    wait_for(lambda: stack.sql("SELECT 1 FROM jobs WHERE status = 'succeeded'"), timeout=60)

    [(waiting,)] = stack.sql("SELECT count(*) FROM jobs WHERE status = 'queued'")
    assert waiting >= 1  # their queue messages die with Redis: the reaper must find them
    dropped = stack.drop_connections()
    assert dropped >= 2  # the API's and the worker's
    stack.redis.kill()
    stack.redis.start()
    dropped += stack.drop_connections()
    for i in range(5, 7):  # the API serves again at once (no 5xx after the faults)
        r = client.post("/v1/videos", json={**CLIP, "image_upload_id": upload, "seed": i})
        assert r.status_code == 202, r.text
        job_ids.add(r.json()["id"])
    _wait_all_final(
        client,
        job_ids,
        60,
        lambda: (
            stack.sql("SELECT id, status, attempt FROM jobs ORDER BY id"),
            d.log("worker")[-3000:],
        ),
    )
    _all_succeeded(stack)
    books = _check_books(stack.sql, job_ids, d)
    print(
        f"\nfaults[PostgreSQL drop + Redis restart]: {dropped} connections terminated, "
        f"{waiting} queued jobs' messages lost with Redis; {books}"
    )


# --- 4. a full blob disk -------------------------------------------------------------------


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, filled up: the blob store's disk (root and mount(8) needed)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full-disk test mounts a small tmpfs: needs root and mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(mnt: Path) -> None:
    with open(mnt / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass


def test_a_full_blob_disk_fails_the_job_with_a_clear_code_and_releases_its_credits(
    full_disk: Path, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from reelforge.app.bootstrap import bootstrap
    from reelforge.services.accounts import accounts
    from reelforge.services.jobs import queries as jobs
    from reelforge.services.jobs.fsck import fsck
    from reelforge.services.jobs.submit import SubmitRequest, submit_job
    from reelforge.storage.billing_tables import LedgerEntry, LedgerTransaction
    from reelforge.worker.loop import Worker
    from tests.conftest import make_settings
    from tests.fakes import GradientBackend
    from tests.helpers import wait_final

    backend = GradientBackend()
    p = bootstrap(
        make_settings(
            tmp_path,
            blob_url=f"file://{full_disk}/blobs",
            default_plan="premier",
            worker_queues=[backend.queue],
        ),
        backends=[backend],
    )
    try:
        acct = accounts.ensure_account(p, "alice")
        _fill(full_disk)
        job = submit_job(
            p,
            acct,
            SubmitRequest.parse(
                {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}
            ),
        ).job
        w = Worker(p).start()
        try:
            done = wait_final(p, acct, job["id"])
        finally:
            w.stop()
        assert done["status"] == "failed", done
        assert done["error"]["code"] == "blob_store_full", done["error"]
        assert "full" in done["error"]["message"]
        assert done["billing"] == "released"
        with p.db.session(write=False) as s:
            kinds = sorted(
                s.scalars(
                    select(LedgerTransaction.kind).where(LedgerTransaction.job_id == job["id"])
                )
            )
            held = sum(s.scalars(select(LedgerEntry.amount).where(LedgerEntry.book == "hold")))
        assert kinds == ["release", "reserve"] and held == 0
        # nothing half-written is visible: no temp file, no blob
        assert [q.name for q in full_disk.rglob("*") if q.is_file()] == ["filler"]
        report = fsck(p)
        assert report.ok and report.stored == 0 and not report.findings
        with pytest.raises(Exception) as exc:
            jobs.job_content(p, acct, job["id"])
        assert getattr(exc.value, "code", "") == "content_not_ready"
        print("\nfaults[full blob disk]: 1 job failed blob_store_full, released, no partial file")
    finally:
        p.close()
