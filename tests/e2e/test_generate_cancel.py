"""Ctrl-C during a real `reelforge generate` process: the job ends `cancelled`, its credits
go back, and the exit code is the one the README documents (130)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import REELFORGE, Deployment
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

INTERRUPTED = 130  # the README's exit code for Ctrl-C


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_ctrl_c_cancels_the_job_and_releases_its_credits(deployment: Deployment) -> None:
    from reelforge.cli import sample_image

    env = {**deployment.env}
    env.pop("RF_DEFAULT_PLAN")  # the `local` account's own plan: credits are reserved
    db = deployment.tmp / "data" / "reelforge.db"
    proc = subprocess.Popen(
        [
            *REELFORGE,
            "generate",
            "--image",
            str(sample_image()),
            "--prompt",
            "pan",
            "--camera",
            "pan_left",
            "--duration",
            "20",
            "--resolution",
            "1080p",
            "--out",
            str(deployment.tmp / "never.mp4"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        def running() -> bool:
            if proc.poll() is not None:
                raise AssertionError(proc.communicate()[1].decode())
            try:
                rows = _rows(db, "SELECT status, progress FROM jobs")
            except sqlite3.OperationalError:  # not created yet
                return False
            return bool(rows) and rows[0][0] == "running" and rows[0][1] > 0.06

        wait_for(running, timeout=90, interval=0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = stderr.decode()
    assert proc.returncode == INTERRUPTED, text
    [(job_id, status, billing, cancel_requested)] = _rows(
        db, "SELECT id, status, billing, cancel_requested FROM jobs"
    )
    assert f"cancelled {job_id}" in text
    assert (status, billing) == ("cancelled", "released"), (status, billing, cancel_requested)
    kinds = [
        k
        for (k,) in _rows(
            db,
            f"SELECT kind FROM ledger_transactions WHERE job_id = '{job_id}' ORDER BY created_at",
        )
    ]
    assert kinds == ["reserve", "release"]
    [(held,)] = _rows(db, "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE book = 'hold'")
    assert held == 0
    assert not (deployment.tmp / "never.mp4").exists()


def test_sigterm_racing_a_cancel_ends_the_job_cancelled_once(deployment: Deployment) -> None:
    """A `reelforge worker` told to stop (SIGTERM, no grace) as the cancel arrives: the job is
    cancelled, not handed back to the queue, and its credits are released exactly once."""
    from reelforge.cli import sample_image

    # no grace; heartbeats far apart, so the shutdown (not a heartbeat) meets the cancel
    deployment.env.update(
        {"RF_STOP_GRACE": "0", "RF_HEARTBEAT_INTERVAL": "30", "RF_HEARTBEAT_TIMEOUT": "120"}
    )
    key = json.loads(deployment.run("keys", "create", "--account", "acme", "--json"))
    deployment.serve()
    worker = deployment.start("--log-level", "info", "worker", log="w")
    client = httpx.Client(
        base_url=deployment.base_url, headers={"Authorization": f"Bearer {key['key']}"}, timeout=30
    )
    upload = client.post(
        "/v1/uploads", files={"file": ("cup.jpg", sample_image().read_bytes(), "image/jpeg")}
    ).json()
    job_id = client.post(
        "/v1/videos",
        json={
            "prompt": "pan",
            "image_upload_id": upload["id"],
            "camera": "pan_left",
            "duration": 20,
            "resolution": "1080p",
        },
    ).json()["id"]

    def running() -> bool:
        job = client.get(f"/v1/videos/{job_id}").json()
        return job["status"] == "running" and job["progress"] > 0.06

    wait_for(running, timeout=90, interval=0.05)
    assert client.post(f"/v1/videos/{job_id}/cancel").json()["status"] == "running"
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0, deployment.log("w")
    job = client.get(f"/v1/videos/{job_id}").json()
    assert (job["status"], job["billing"]) == ("cancelled", "released"), job
    db = deployment.tmp / "data" / "reelforge.db"
    kinds = [
        k
        for (k,) in _rows(
            db,
            f"SELECT kind FROM ledger_transactions WHERE job_id = '{job_id}' ORDER BY created_at",
        )
    ]
    assert kinds == ["reserve", "release"]
    [(held,)] = _rows(db, "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE book = 'hold'")
    assert held == 0
    assert f"job.end job={job_id} status=cancelled" in deployment.log("w")
