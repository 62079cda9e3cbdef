"""Neural modes over HTTP (TestClient + an embedded worker): text-to-video, first + last
frame, extend and promote, and the errors a client gets for what a model cannot do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.cli import sample_image
from reelforge.domain.job import FINAL_STATUSES
from reelforge.services.accounts import accounts
from reelforge.services.jobs import model_registry
from tests.conftest import make_settings
from tests.helpers import wait_for

FINAL = tuple(str(s) for s in FINAL_STATUSES)  # nothing more happens by itself


@pytest.fixture
def api(tmp_path: Path, tiny_dirs: dict) -> Iterator[TestClient]:
    p: Platform = bootstrap(make_settings(tmp_path, worker_queues=["wan", "ltx", "cogvideox"]))
    for name, family, task in (
        ("wan-t2v", "wan", "t2v"),
        ("wan-i2v", "wan", "i2v"),
        ("ltx", "ltx", "flf2v"),
        ("cog", "cogvideox", "t2v"),
    ):
        model_registry.add_model(
            p,
            model_registry.parse_model_request(
                {
                    "name": name,
                    "family": family,
                    "task": task,
                    "path": str(tiny_dirs[family, task]),
                    "dtype": "fp32",
                    "device": "cpu",
                }
            ),
        )
    key = accounts.create_api_key(p, "acme").key
    with TestClient(create_app(p, embedded_worker=True)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client
    p.close()


def final(client: TestClient, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = client.get(f"/v1/videos/{job_id}").json()
        return job if job["status"] in FINAL else None

    return wait_for(done, timeout=60)  # type: ignore[no-any-return]


def upload(client: TestClient) -> str:
    r = client.post(
        "/v1/uploads", files={"file": ("cup.jpg", sample_image().read_bytes(), "image/jpeg")}
    )
    return str(r.json()["id"])


def test_text_to_video_with_sse_progress_per_step(api: TestClient) -> None:
    r = api.post(
        "/v1/videos",
        json={
            "model": "cog",
            "prompt": "a cup of coffee",
            "width": 32,
            "height": 32,
            "frames": 9,
            "steps": 3,
        },
    )
    assert r.status_code == 202, r.text
    job = final(api, r.json()["id"])
    assert job["status"] == "succeeded" and job["output"]["frames"] == 9
    with api.stream("GET", f"/v1/videos/{job['id']}/events") as stream:
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert [e["done"] for e in events if e.get("stage") == "denoise"] == [0, 1, 2, 3]
    assert api.get(f"/v1/videos/{job['id']}/content").content[4:8] == b"ftyp"


def test_first_and_last_frame(api: TestClient) -> None:
    first, last = upload(api), upload(api)
    r = api.post(
        "/v1/videos",
        json={
            "model": "ltx",
            "prompt": "the cup",
            "width": 64,
            "height": 64,
            "frames": 17,
            "steps": 2,
            "image_upload_id": first,
            "last_image_upload_id": last,
        },
    )
    assert r.status_code == 202, r.text
    assert r.json()["mode"] == "first_last_frame" and r.json()["last_image_upload_id"] == last
    job = final(api, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["compute"]["pipeline"] == "LTXConditionPipeline"
    assert (job["output"]["frames"], job["output"]["width"]) == (17, 64)


def test_extend_and_promote(api: TestClient) -> None:
    r = api.post(
        "/v1/videos",
        json={
            "model": "wan-t2v",
            "prompt": "a boat",
            "width": 32,
            "height": 32,
            "frames": 9,
            "preset": "draft",
            "seed": 11,
        },
    )
    draft = final(api, r.json()["id"])
    assert draft["parameters"]["steps"] == 12
    r = api.post(f"/v1/videos/{draft['id']}/promote")
    assert r.status_code == 202, r.text
    promoted = final(api, r.json()["id"])
    assert promoted["status"] == "succeeded" and promoted["seed"] == 11
    assert promoted["parameters"]["steps"] == 50 and promoted["promoted_from"] == draft["id"]
    r = api.post(f"/v1/videos/{promoted['id']}/promote")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_a_draft"

    r = api.post(
        "/v1/videos",
        json={
            "model": "wan-i2v",
            "prompt": "it sails on",
            "extend_from": promoted["id"],
            "width": 32,
            "height": 32,
            "frames": 9,
            "steps": 2,
        },
    )
    assert r.status_code == 202, r.text
    extended = final(api, r.json()["id"])
    assert extended["status"] == "succeeded" and extended["mode"] == "extend"
    assert extended["extend_from"] == promoted["id"]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"model": "wan-t2v", "frames": 10}, 422, "unsupported_frames", "frames"),
        ({"model": "ltx", "width": 48, "height": 48}, 422, "unsupported_size", "width"),
        ({"model": "wan-t2v", "width": 32}, 422, "invalid_request", None),
        ({"model": "wan-t2v", "preset": "cheap"}, 422, "invalid_request", "preset"),
        ({"model": "wan-i2v"}, 422, "unsupported_mode", "mode"),
        ({"model": "wan-i2v", "extend_from": "vid_missing"}, 404, "not_found", "extend_from"),
        ({}, 422, "model_required", "model"),
    ],
)
def test_what_a_model_cannot_do_is_refused_before_anything_is_queued(
    api: TestClient, body: dict[str, Any], status: int, code: str, field: str | None
) -> None:
    r = api.post("/v1/videos", json={"prompt": "a cat", **body})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error.get("field") == field
    assert api.get("/v1/videos").json()["data"] == []
