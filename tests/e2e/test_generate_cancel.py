"""Ctrl-C during a real `reelforge generate` process: the job ends `cancelled`, its credits
go back, and the exit code is the one the README documents (130)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path

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
        [*REELFORGE, "generate", "--image", str(sample_image()), "--prompt", "pan",
         "--camera", "pan_left", "--duration", "20", "--resolution", "1080p",
         "--out", str(deployment.tmp / "never.mp4")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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
        db, "SELECT id, status, billing, cancel_requested FROM jobs")
    assert f"cancelled {job_id}" in text
    assert (status, billing) == ("cancelled", "released"), (status, billing, cancel_requested)
    kinds = [k for (k,) in _rows(db, "SELECT kind FROM ledger_transactions WHERE job_id = "
                                     f"'{job_id}' ORDER BY created_at")]
    assert kinds == ["reserve", "release"]
    [(held,)] = _rows(db, "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries "
                          "WHERE book = 'hold'")
    assert held == 0
    assert not (deployment.tmp / "never.mp4").exists()
