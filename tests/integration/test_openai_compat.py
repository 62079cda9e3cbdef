"""The OpenAI-compatible surface in process (the SDK itself runs against a real server in
test_openai_sdk.py): how OpenAI's fields map onto a job, refusals in OpenAI's error shape
with reelforge's codes, another account's video not found, statuses mapped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    key = accounts.create_api_key(platform, "alice").key
    with TestClient(create_app(platform)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def _error(r: object, status: int, code: str, param: str | None) -> dict:
    body = r.json()  # type: ignore[attr-defined]
    assert r.status_code == status, body  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert (body["error"]["code"], body["error"]["param"]) == (code, param), body
    return body["error"]


def test_fields_map_onto_the_job(client: TestClient) -> None:
    form = {"prompt": "a gradient", "model": "gradient", "seconds": "2", "size": "1280x720"}
    parts = {name: (None, value) for name, value in {**form, "seed": "7"}.items()}
    r = client.post("/openai/v1/videos", files=parts)  # multipart, as the SDK sends it
    video = r.json()
    assert r.status_code == 200, video
    assert (video["object"], video["status"], video["size"], video["seconds"]) == (
        "video",
        "queued",
        "1280x720",
        "2",
    )
    job = client.get(f"/v1/videos/{video['id']}").json()
    # a named size travels as aspect ratio and resolution; reelforge fields ride along
    assert (job["aspect_ratio"], job["resolution"], job["width"], job["seed"]) == (
        "16:9",
        "720p",
        None,
        7,
    )
    r = client.post(
        "/openai/v1/videos", json={"prompt": "a gradient", "model": "gradient", "size": "640x360"}
    )
    job = client.get(f"/v1/videos/{r.json()['id']}").json()
    assert (job["width"], job["height"], job["duration"]) == (640, 360, 4)  # OpenAI's 4 s


def test_refusals_come_in_openai_shape(client: TestClient) -> None:
    url = "/openai/v1/videos"
    _error(
        client.post(url, json={"model": "gradient"}), 400, "missing_required_parameter", "prompt"
    )
    _error(
        client.post(url, json={"prompt": "a", "duration": 3}), 400, "unknown_parameter", "duration"
    )
    _error(client.post(url, json={"prompt": "a", "size": "1281x720"}), 400, "invalid_size", "size")
    _error(
        client.post(url, json={"prompt": "a", "seconds": "-1"}), 400, "invalid_seconds", "seconds"
    )
    _error(client.post(url, json={"prompt": "a", "fps": 900}), 400, "invalid_request", "fps")
    _error(
        client.post(url, json={"prompt": "a", "input_reference": {"video_url": "x"}}),
        400,
        "invalid_request",
        "input_reference.video_url",
    )
    _error(
        client.post(url, files={"prompt": (None, "a\x00b")}),
        400,
        "invalid_characters",
        "prompt",
    )
    _error(
        client.post(url, content=b"prompt=a", headers={"content-type": "text/plain"}),
        400,
        "unsupported_media_type",
        None,
    )
    error = _error(TestClient(client.app).get(url), 401, "unauthorized", None)
    assert error["type"] == "authentication_error"


def test_another_accounts_video_is_not_found_and_statuses_map(
    client: TestClient, platform: Platform
) -> None:
    video = client.post("/openai/v1/videos", json={"prompt": "a", "model": "gradient"}).json()
    bob = TestClient(client.app)
    bob.headers["Authorization"] = f"Bearer {accounts.create_api_key(platform, 'bob').key}"
    for method, path in [
        ("GET", f"/openai/v1/videos/{video['id']}"),
        ("GET", f"/openai/v1/videos/{video['id']}/content"),
        ("DELETE", f"/openai/v1/videos/{video['id']}"),
    ]:
        error = _error(bob.request(method, path), 404, "not_found", None)
        assert error["type"] == "not_found_error"
    assert bob.get("/openai/v1/videos").json()["data"] == []
    assert bob.get("/openai/v1/videos", params={"after": video["id"]}).json()["data"] == []
    # cancelled natively: a failed video whose error says why
    client.post(f"/v1/videos/{video['id']}/cancel")
    seen = client.get(f"/openai/v1/videos/{video['id']}").json()
    assert seen["status"] == "failed" and seen["error"]["code"] == "cancelled"
    assert seen["completed_at"] is not None
    gone = client.delete(f"/openai/v1/videos/{video['id']}").json()
    assert gone == {"id": video["id"], "object": "video.deleted", "deleted": True}


def test_an_idempotency_key_returns_the_same_video(client: TestClient) -> None:
    body = {"prompt": "a gradient", "model": "gradient", "seconds": "1", "size": "854x480"}
    key = {"Idempotency-Key": "order-1234"}
    first = client.post("/openai/v1/videos", json=body, headers=key).json()
    again = client.post("/openai/v1/videos", json=body, headers=key)
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert client.get(f"/v1/videos/{first['id']}").json()["external_id"] == "order-1234"
    other = client.post("/openai/v1/videos", json={**body, "seconds": "2"}, headers=key)
    _error(other, 409, "external_id_conflict", "external_id")
    assert len(client.get("/openai/v1/videos").json()["data"]) == 1
    both = {**body, "external_id": "x"}
    _error(
        client.post("/openai/v1/videos", json=both, headers=key),
        400,
        "invalid_request",
        "external_id",
    )


def test_input_reference_as_an_upload_id_and_as_a_file_over_the_json_limit(
    client: TestClient, platform: Platform
) -> None:
    import io

    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(3).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "PNG")
    png = buf.getvalue()
    assert len(png) > platform.settings.max_body_bytes  # only the create's own limit lets it in
    r = client.post(
        "/openai/v1/videos",
        files={
            "prompt": (None, "a gradient"),
            "model": (None, "gradient"),
            "input_reference": ("noise.png", png, "image/png"),
        },
    )
    assert r.status_code == 200, r.text
    job = client.get(f"/v1/videos/{r.json()['id']}").json()
    assert job["mode"] == "image2video" and job["image_upload_id"].startswith("upl_")
    # the same image named by its upload id (OpenAI's file_id)
    r = client.post(
        "/openai/v1/videos",
        json={
            "prompt": "a gradient",
            "model": "gradient",
            "input_reference": {"file_id": job["image_upload_id"]},
        },
    )
    assert r.status_code == 200, r.text
    again = client.get(f"/v1/videos/{r.json()['id']}").json()
    assert again["image_upload_id"] == job["image_upload_id"]
