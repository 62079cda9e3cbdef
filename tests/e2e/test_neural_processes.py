"""A neural model end to end with real processes: the API without a worker, a GPU-style
worker that serves only the wan queue, the model registered through the admin API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from reelforge.cli import sample_image
from reelforge.media.probe import probe_video
from tests.e2e.conftest import Deployment
from tests.e2e.test_processes import _follow_sse
from tests.neural.tiny import build_tiny_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.neural]


def test_wan_image_to_video_through_api_and_a_family_worker(
    deployment: Deployment, tmp_path: Path
) -> None:
    model_dir = build_tiny_pipeline("wan", "i2v", tmp_path / "wan-i2v")
    # tiny steps take milliseconds; real ones take seconds, far above the default throttle
    deployment.env["RF_PROGRESS_INTERVAL"] = "0"
    admin = json.loads(deployment.run("keys", "create", "--account", "ops", "--admin", "--json"))
    user = json.loads(deployment.run("keys", "create", "--account", "acme", "--json"))
    deployment.serve()
    deployment.start("worker", "--queue", "wan", "--device", "cpu", log="worker")
    ops = httpx.Client(
        base_url=deployment.base_url,
        timeout=30,
        headers={"Authorization": f"Bearer {admin['key']}"},
    )
    r = ops.post(
        "/v1/admin/models",
        json={"name": "wan-i2v", "family": "wan", "path": str(model_dir), "dtype": "fp32"},
    )
    assert r.status_code == 201, r.text  # registered for cuda; the worker runs it on cpu
    client = httpx.Client(
        base_url=deployment.base_url, timeout=30, headers={"Authorization": f"Bearer {user['key']}"}
    )
    upload = client.post(
        "/v1/uploads", files={"file": ("cup.jpg", sample_image().read_bytes(), "image/jpeg")}
    ).json()
    r = client.post(
        "/v1/videos",
        json={
            "model": "wan-i2v",
            "prompt": "the cup turns",
            "image_upload_id": upload["id"],
            "width": 48,
            "height": 32,
            "frames": 13,
            "steps": 4,
            "seed": 9,
        },
    )
    assert r.status_code == 202, r.text
    assert r.json()["parameters"] == {
        "width": 48,
        "height": 32,
        "frames": 13,
        "fps": 16,
        "steps": 4,
        "guidance": 5.0,
        "preset": "final",
        "step_cache": None,
    }
    events = _follow_sse(client, r.json()["id"])
    types = [e["type"] for e in events]
    assert types[-1] == "succeeded", (types, deployment.log("worker"))
    denoise = [e["done"] for e in events if e.get("stage") == "denoise"]
    assert denoise == [0, 1, 2, 3, 4]
    job = client.get(f"/v1/videos/{r.json()['id']}").json()
    assert job["device"] == "cpu" and job["compute"]["pipeline"] == "WanImageToVideoPipeline"
    path = deployment.tmp / "out.mp4"
    path.write_bytes(client.get(f"/v1/videos/{job['id']}/content").content)
    info = probe_video(path)
    assert (info.frames, info.width, info.height) == (13, 48, 32)
