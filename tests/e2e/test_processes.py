"""End to end with real processes: `reelforge serve --no-worker` + `reelforge worker`."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest

from reelforge.media.probe import probe_video
from reelforge.webhooks.signing import verify
from tests.e2e.conftest import Deployment
from tests.helpers import wait_for
from tests.receiver import webhook_receiver

pytestmark = pytest.mark.e2e


def _sample_jpeg() -> bytes:
    from reelforge.cli import sample_image

    return sample_image().read_bytes()


def _follow_sse(client: httpx.Client, job_id: str) -> list[dict]:
    events = []
    with client.stream("GET", f"/v1/videos/{job_id}/events", timeout=120) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def test_http_submit_to_a_separate_worker_process(deployment: Deployment) -> None:
    key = json.loads(deployment.run("keys", "create", "--account", "acme", "--json"))
    deployment.serve()
    deployment.start("worker", log="worker")
    client = httpx.Client(
        base_url=deployment.base_url, headers={"Authorization": f"Bearer {key['key']}"}, timeout=30
    )
    with webhook_receiver() as (hook_url, received):
        upload = client.post(
            "/v1/uploads", files={"file": ("cup.jpg", _sample_jpeg(), "image/jpeg")}
        ).json()
        r = client.post(
            "/v1/videos",
            json={
                "prompt": "slow zoom in on the cup",
                "image_upload_id": upload["id"],
                "camera": "zoom_in",
                "duration": 2,
                "aspect_ratio": "9:16",
                "resolution": "480p",
                "seed": 1,
                "external_id": "e2e-1",
                "callback_url": hook_url,
            },
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        events = _follow_sse(client, job_id)
        deadline = time.monotonic() + 20
        while not received.requests and time.monotonic() < deadline:
            time.sleep(0.1)
    types = [e["type"] for e in events]
    assert types[0] == "submitted" and types[-1] == "succeeded", types
    assert "started" in types and "progress" in types
    job = client.get(f"/v1/videos/{job_id}").json()
    video = client.get(f"/v1/videos/{job_id}/content")
    assert video.status_code == 200
    path = deployment.tmp / "out.mp4"
    path.write_bytes(video.content)
    info = probe_video(path)
    assert (info.width, info.height) == (480, 854)
    assert info.frames == 2 * 24 == job["output"]["frames"]
    assert info.codec == "h264" and info.pix_fmt == "yuv420p"
    headers, body = received.requests[0]
    assert verify(key["webhook_secret"], headers["reelforge-signature"], body)
    assert json.loads(body)["status"] == "succeeded"


def test_killed_worker_job_completes_exactly_once(deployment: Deployment) -> None:
    key = json.loads(deployment.run("keys", "create", "--account", "acme", "--json"))
    deployment.serve()
    # A short 480p clip at a paced worker (40 ms a frame, ~4 s of render) so the kill lands
    # mid-render, as a long 1080p clip would, without rendering 1080p twice.
    deployment.env["RF_MOTION_FRAME_DELAY"] = "0.04"
    first = deployment.start("worker", log="worker1")
    client = httpx.Client(
        base_url=deployment.base_url, headers={"Authorization": f"Bearer {key['key']}"}, timeout=30
    )
    upload = client.post(
        "/v1/uploads", files={"file": ("cup.jpg", _sample_jpeg(), "image/jpeg")}
    ).json()
    job_id = client.post(
        "/v1/videos",
        json={
            "prompt": "pan",
            "image_upload_id": upload["id"],
            "camera": "pan_left",
            "duration": 4,
            "resolution": "480p",
            "seed": 3,
        },
    ).json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/v1/videos/{job_id}").json()
        if job["status"] == "running" and job["progress"] > 0.06:
            break
        time.sleep(0.05)
    assert job["status"] == "running", job
    first.send_signal(signal.SIGKILL)  # no chance to clean up or hand back
    first.wait(10)
    assert client.get(f"/v1/videos/{job_id}").json()["status"] == "running"

    deployment.start("worker", log="worker2")
    events = _follow_sse(client, job_id)
    types = [e["type"] for e in events]
    job = client.get(f"/v1/videos/{job_id}").json()
    assert job["status"] == "succeeded", (job, deployment.log("worker2"))
    assert job["attempt"] == 2
    assert types.count("succeeded") == 1 and types.count("started") == 2
    requeued = [e for e in events if e["type"] == "requeued"]
    assert len(requeued) == 1 and requeued[0]["reason"] == "heartbeat_timeout"
    path = deployment.tmp / "recovered.mp4"
    path.write_bytes(client.get(f"/v1/videos/{job_id}/content").content)
    assert probe_video(path).frames == 4 * 24


def test_sigterm_stops_a_worker_cleanly(deployment: Deployment) -> None:
    deployment.run("keys", "create", "--account", "acme", "--json")
    proc = deployment.start("--log-level", "info", "worker", log="w")
    wait_for(lambda: "worker ready" in deployment.log("w"), timeout=60, interval=0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0, deployment.log("w")
