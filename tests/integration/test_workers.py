"""The worker registry (a row per worker in the shared database, its heartbeat refreshed),
what /healthz and GET /v1/admin/workers show of it, and the worker's log: a start-up line,
one line per job start and end, and one line per change of a dependency's state."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.queue.jobqueue import Outage
from reelforge.services.accounts import accounts
from reelforge.services.jobs import workers
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage.tables import WorkerRecord
from reelforge.worker.loop import Worker
from tests.helpers import wait_final, wait_for


def _ids(rows: Sequence[dict]) -> list[str]:
    return [r["id"] for r in rows]


def test_a_worker_registers_beats_and_is_listed_until_it_stops(platform: Platform) -> None:
    w = Worker(platform, name="gpu-box:1", concurrency=2).start()
    try:
        [row] = workers.list_workers(platform)
        assert row["id"] == "gpu-box:1" and row["queues"] == ["gradient"]
        assert row["models"] == [{"name": "gradient", "queue": "gradient", "device": "cpu"}]
        assert (row["device"], row["slots"], row["live"]) == ("cpu", 2, True)
        first = row["heartbeat_at"]
        wait_for(lambda: workers.list_workers(platform)[0]["heartbeat_at"] > first)
    finally:
        w.stop()
    assert workers.list_workers(platform) == []
    [gone] = workers.list_workers(platform, live_only=False)
    assert gone["stopped_at"] is not None and gone["live"] is False


def test_a_worker_whose_heartbeat_stopped_is_not_live(platform: Platform) -> None:
    w = Worker(platform, name="w1").start()
    w2 = Worker(platform, name="w2").start()
    try:
        wait_for(lambda: len(workers.list_workers(platform)) == 2)
    finally:
        w.stop()
        w2.stop()
    with platform.db.session() as s:  # w2 died without a word: only its heartbeat is old
        s.execute(update(WorkerRecord).where(WorkerRecord.id == "w2").values(stopped_at=None))
    assert _ids(workers.list_workers(platform)) == ["w2"]
    platform.settings.heartbeat_timeout = 0.01
    wait_for(lambda: workers.list_workers(platform) == [])


def test_healthz_lists_live_workers_and_admins_see_all(platform: Platform) -> None:
    with TestClient(create_app(platform)) as client:
        body = client.get("/healthz").json()
        assert body["status"] == "ok" and body["workers"] == []
        assert "queues" in body and "database" in body  # the existing shape is kept
        w = Worker(platform, name="edge:7").start()
        try:
            [row] = client.get("/healthz").json()["workers"]
            assert row["id"] == "edge:7" and row["seconds_since_heartbeat"] < 5
        finally:
            w.stop()
        assert client.get("/healthz").json()["workers"] == []
        user = accounts.create_api_key(platform, "alice").key
        r = client.get("/v1/admin/workers", headers={"Authorization": f"Bearer {user}"})
        assert r.status_code == 403
        ops = accounts.create_api_key(platform, "ops", admin=True).key
        r = client.get("/v1/admin/workers", headers={"Authorization": f"Bearer {ops}"})
        assert r.status_code == 200
        assert [(x["id"], x["live"]) for x in r.json()["data"]] == [("edge:7", False)]


def test_the_worker_logs_its_start_and_each_job(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reelforge")
    acct = accounts.ensure_account(platform, "alice")
    job_id = submit_job(
        platform,
        acct,
        SubmitRequest.parse(
            {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}
        ),
    ).job["id"]
    w = Worker(platform, name="w").start()
    try:
        assert wait_final(platform, acct, job_id)["status"] == "succeeded"
        wait_for(lambda: f"job.end job={job_id}" in caplog.text)
    finally:
        w.stop()
    [start] = [r.getMessage() for r in caplog.records if "worker started" in r.getMessage()]
    assert "worker=w " in start and "queues=gradient" in start
    assert "models=gradient" in start and "device=cpu" in start and "slots=1" in start
    lines = [
        r.getMessage()
        for r in caplog.records
        if job_id in r.getMessage() and r.getMessage().startswith(("job.start", "job.end"))
    ]  # the worker's own
    assert lines == [
        f"job.start job={job_id} account={acct.id} status=running queue=gradient "
        f"model=gradient attempt=1 worker=w:0",
        next(x for x in lines if x.startswith(f"job.end job={job_id} status=succeeded ")),
    ]


def test_an_outage_is_one_line_down_and_one_line_up(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("reelforge.test_outage")
    caplog.set_level(logging.DEBUG, logger="reelforge.test_outage")
    outage = Outage("queue", log, cap=4.0)
    outage.ok()  # nothing was wrong: nothing said
    delays = [outage.failed(ConnectionError("Error 111 connecting\nmore"), n) for n in range(1, 7)]
    bounds = [0.5, 1, 2, 4, 4, 4]  # doubling to the cap, less up to 20 % jitter
    assert all(0.8 * b <= d <= b for d, b in zip(delays, bounds, strict=True)), delays
    outage.ok()
    outage.ok()
    said = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert said[0].getMessage() == (
        "queue unreachable (ConnectionError: Error 111 connecting); retrying with back-off "
        "up to 4 s"
    )
    assert len(said) == 2 and said[1].getMessage().startswith("queue reachable again after ")
    assert said[1].getMessage().endswith("(6 failed tries)")
    assert not any(r.exc_info for r in said)  # tracebacks only at DEBUG


def test_failing_heartbeats_are_one_line_not_a_traceback_each(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from reelforge.services.jobs import execution
    from reelforge.storage import repositories as repo

    caplog.set_level(logging.INFO, logger="reelforge")
    calls = []

    def down(*_args: object) -> tuple[bool, bool]:
        calls.append(1)
        if len(calls) <= 4:
            raise ConnectionError("the database went away")
        return True, False

    monkeypatch.setattr(repo, "heartbeat", down)
    with execution.Heartbeat(platform, "vid_x", 1):
        wait_for(lambda: len(calls) >= 6)
    said = [r.getMessage() for r in caplog.records if "heartbeat of vid_x" in r.getMessage()]
    assert len(said) == 2, said
    assert said[0].startswith("database (heartbeat of vid_x) unreachable (ConnectionError")
    assert said[1].startswith("database (heartbeat of vid_x) reachable again")
    assert "Traceback" not in caplog.text
