"""A guard worker killed mid-check (SIGKILL, real processes): the moderating job's claim is
given back by the reaper of the next worker, which asks the guard again and lets the job run
— exactly once, nothing generated before the guard answered."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Deployment
from tests.neural.tiny_guards import build_tiny_guard, teach

pytestmark = [pytest.mark.e2e, pytest.mark.neural, pytest.mark.slow]
PROMPT = "a cat on the sofa"


def claimed_by(db: Path, job_id: str) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT worker_id FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return row[0] if row else None


def test_a_guard_worker_killed_mid_check_is_recovered(deployment: Deployment) -> None:
    guard = build_tiny_guard("llama-guard", deployment.tmp / "lg")
    teach(guard, {PROMPT: "safe"})
    policies = deployment.tmp / "policies"
    policies.mkdir()
    (policies / "guarded.yaml").write_text(
        "extends: default\nversion: 'g1'\nguard: {prompts: all, name: lg}\n"
    )
    deployment.env.update({"RF_POLICY_DIR": str(policies), "RF_POLICY_PROFILE": "guarded"})
    deployment.run("guards", "add", "lg", "--family", "llama-guard", "--path", str(guard))
    key = json.loads(deployment.run("keys", "create", "--account", "acme", "--json"))
    deployment.serve()
    client = httpx.Client(
        base_url=deployment.base_url, headers={"Authorization": f"Bearer {key['key']}"}, timeout=30
    )
    from reelforge.cli import sample_image

    photo = sample_image().read_bytes()
    upload = client.post("/v1/uploads", files={"file": ("cup.jpg", photo, "image/jpeg")}).json()
    body = {"prompt": PROMPT, "image_upload_id": upload["id"], "duration": 1, "resolution": "480p"}
    job = client.post("/v1/videos", json=body).json()
    assert job.get("status") == "moderating", job
    # the first worker claims the check and loads torch and the guard (seconds): kill it then
    first = deployment.start("worker", "--queue", "moderation", log="worker1")
    db = deployment.tmp / "data" / "reelforge.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not claimed_by(db, job["id"]):
        time.sleep(0.02)
    assert claimed_by(db, job["id"]), deployment.log("worker1")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert client.get(f"/v1/videos/{job['id']}").json()["status"] == "moderating"

    deployment.start("worker", log="worker2")  # motion + moderation (the policy routes)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = client.get(f"/v1/videos/{job['id']}").json()
        if done["status"] in ("succeeded", "failed", "blocked", "review"):
            break
        time.sleep(0.2)
    assert done["status"] == "succeeded", (done, deployment.log("worker2"))
    assert done["moderation"]["guard"]["decision"] == "allow"
    with sqlite3.connect(db) as conn:
        events = conn.execute(
            "SELECT type, data FROM job_events WHERE job_id = ? ORDER BY seq", (job["id"],)
        ).fetchall()
    types = [e[0] for e in events]
    assert types[:3] == ["submitted", "requeued", "moderated"], types
    assert types.count("started") == 1 and types.count("succeeded") == 1
    assert json.loads(next(d for t, d in events if t == "requeued"))["reason"] == (
        "heartbeat_timeout"
    )
