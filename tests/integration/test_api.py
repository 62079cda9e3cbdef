"""HTTP API v1 through a real ASGI app (TestClient), on both deployment shapes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from PIL import Image

from reelforge.api.app import create_app
from reelforge.api.deps import AdminAccount
from reelforge.app.platform import Platform
from reelforge.errors import NotFound
from reelforge.services.accounts import accounts
from reelforge.storage.tables import Blob, Job, JobEvent, Upload
from reelforge.worker.loop import Worker
from tests.helpers import wait_for


def png_bytes(w: int = 64, h: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 40, 90)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    key = accounts.create_api_key(platform, "alice").key
    with TestClient(create_app(platform)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


@pytest.fixture
def other_client(platform: Platform, client: TestClient) -> TestClient:
    key = accounts.create_api_key(platform, "bob").key
    c = TestClient(client.app)
    c.headers["Authorization"] = f"Bearer {key}"
    return c


BODY = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}


def _count(p: Platform, table: type) -> int:
    from sqlalchemy import func, select

    with p.db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_requests_without_a_valid_key_get_401(client: TestClient) -> None:
    bare = TestClient(client.app)
    r = bare.get("/v1/videos")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = bare.get("/v1/videos", headers={"Authorization": "Bearer rf_nothing_here"})
    assert r.status_code == 401
    r = bare.get("/v1/videos", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_revoked_key_is_refused(platform: Platform, client: TestClient) -> None:
    new = accounts.create_api_key(platform, "carol")
    headers = {"Authorization": f"Bearer {new.key}"}
    assert client.get("/v1/videos", headers=headers).status_code == 200
    accounts.revoke_api_key(platform, new.key_id)
    assert client.get("/v1/videos", headers=headers).status_code == 401


def test_revoking_an_unknown_key_is_not_found(platform: Platform) -> None:
    with pytest.raises(NotFound) as caught:
        accounts.revoke_api_key(platform, "key_nothing_here")
    assert caught.value.http_status == 404 and caught.value.code == "not_found"


def test_upload_then_submit_then_download_with_ranges(
    platform: Platform, client: TestClient
) -> None:
    r = client.post("/v1/uploads", files={"file": ("red.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    upload = r.json()
    assert upload["width"] == 64 and upload["content_type"] == "image/png"
    r = client.post("/v1/videos", json={**BODY, "image_upload_id": upload["id"]})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and job["image_upload_id"] == upload["id"]
    assert job["mode"] == "image2video"
    r = client.get(f"/v1/videos/{job['id']}/content")
    assert r.status_code == 404 and r.json()["error"]["code"] == "content_not_ready"

    w = Worker(platform).start()
    try:
        done = wait_for(
            lambda: (
                (j := client.get(f"/v1/videos/{job['id']}").json())["status"] == "succeeded" and j
            )
        )
    finally:
        w.stop()
    whole = client.get(done["output"]["url"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert len(whole.content) == done["output"]["size_bytes"]
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(done["output"]["url"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    tail = client.get(done["output"]["url"], headers={"Range": "bytes=-10"})
    assert tail.content == whole.content[-10:]
    bad = client.get(done["output"]["url"], headers={"Range": f"bytes={10**9}-"})
    assert bad.status_code == 416
    poster = client.get(done["output"]["poster_url"])
    assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"


def test_events_stream_replays_history_and_ends_at_final_status(
    platform: Platform, client: TestClient
) -> None:
    job = client.post("/v1/videos", json=BODY).json()
    w = Worker(platform).start()
    try:
        with client.stream("GET", f"/v1/videos/{job['id']}/events") as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            text = "".join(r.iter_text())
    finally:
        w.stop()
    blocks = [b for b in text.split("\n\n") if b.startswith("id:")]
    events = [json.loads(b.split("data: ", 1)[1]) for b in blocks]
    types = [e["type"] for e in events]
    assert types[0] == "submitted" and types[-1] == "succeeded" and "progress" in types
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    progress = [e["progress"] for e in events if e["type"] == "progress"]
    assert progress == sorted(progress)
    # resuming with Last-Event-ID skips what the client already has
    with client.stream(
        "GET", f"/v1/videos/{job['id']}/events", headers={"Last-Event-ID": str(events[-2]["seq"])}
    ) as r:
        resumed = [b for b in "".join(r.iter_text()).split("\n\n") if b.startswith("id:")]
    assert len(resumed) == 1 and "succeeded" in resumed[0]


def test_cancel_and_list_over_http(client: TestClient) -> None:
    a = client.post("/v1/videos", json=BODY).json()
    b = client.post("/v1/videos", json=BODY).json()
    r = client.post(f"/v1/videos/{a['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    listed = client.get("/v1/videos", params={"status": "cancelled"}).json()
    assert [j["id"] for j in listed["data"]] == [a["id"]]
    page = client.get("/v1/videos", params={"limit": 1}).json()
    assert page["data"][0]["id"] == b["id"] and page["next_cursor"]
    page2 = client.get("/v1/videos", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert page2["data"][0]["id"] == a["id"]
    assert client.get("/v1/videos", params={"limit": 0}).status_code == 422


def test_external_id_returns_the_same_job_over_http(client: TestClient) -> None:
    first = client.post("/v1/videos", json={**BODY, "external_id": "abc"})
    again = client.post("/v1/videos", json={**BODY, "external_id": "abc"})
    assert first.json()["id"] == again.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    clash = client.post("/v1/videos", json={**BODY, "external_id": "abc", "duration": 2})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "external_id_conflict"


def test_other_accounts_ids_are_not_found(client: TestClient, other_client: TestClient) -> None:
    job = client.post("/v1/videos", json=BODY).json()
    upload = client.post("/v1/uploads", files={"file": ("a.png", png_bytes(), "image/png")}).json()
    for method, path in (
        ("GET", f"/v1/videos/{job['id']}"),
        ("POST", f"/v1/videos/{job['id']}/cancel"),
        ("GET", f"/v1/videos/{job['id']}/events"),
        ("GET", f"/v1/videos/{job['id']}/content"),
    ):
        r = other_client.request(method, path)
        assert r.status_code == 404, (path, r.text)
    r = other_client.post("/v1/videos", json={**BODY, "image_upload_id": upload["id"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "upload_not_found"
    assert other_client.get("/v1/videos").json()["data"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**BODY, "duration": 0}, 422, "invalid_request"),
        ({**BODY, "duration": -3}, 422, "invalid_request"),
        ({**BODY, "duration": 10_000}, 422, "invalid_request"),
        ({**BODY, "camera": "barrel_roll"}, 422, "invalid_request"),
        ({**BODY, "aspect_ratio": "21:9"}, 422, "invalid_request"),
        ({**BODY, "resolution": "8k"}, 422, "invalid_request"),
        ({**BODY, "prompt": "x" * 2501}, 422, "invalid_request"),
        ({**BODY, "prompt": "bad\x00byte"}, 422, "invalid_characters"),
        ({**BODY, "surprise": 1}, 422, "unknown_field"),
        ({**BODY, "model": "no-such-model"}, 422, "unknown_model"),
        ({**BODY, "image_upload_id": "upl_missing"}, 404, "upload_not_found"),
        ({**BODY, "callback_url": "http://169.254.169.254/"}, 422, "unsafe_callback_url"),
    ],
)
def test_bad_submissions_get_a_code_and_write_nothing(
    platform: Platform, client: TestClient, body: dict, status: int, code: str
) -> None:
    platform.settings.webhook_allow_hosts = []
    r = client.post("/v1/videos", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert _count(platform, Job) == 0 and _count(platform, JobEvent) == 0


def test_malformed_json_is_400(client: TestClient) -> None:
    r = client.post(
        "/v1/videos", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


def _bomb_png() -> bytes:
    """A valid PNG header that claims 100000 x 100000 pixels."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"this is not an image", 422, "invalid_image"),
        (png_bytes()[:60], 422, "invalid_image"),
        (_bomb_png(), 422, "invalid_image"),
        (b"", 422, "invalid_image"),
    ],
)
def test_bad_uploads_get_a_code_and_store_nothing(
    platform: Platform, client: TestClient, payload: bytes, status: int, code: str
) -> None:
    r = client.post("/v1/uploads", files={"file": ("x.png", payload, "image/png")})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert _count(platform, Upload) == 0 and _count(platform, Blob) == 0
    blob_dir = platform.settings.data_dir / "blobs"
    assert not [f for f in blob_dir.rglob("*") if f.is_file()]


def test_oversized_upload_is_413(platform: Platform, client: TestClient) -> None:
    platform.settings.max_upload_bytes = 1000
    r = client.post("/v1/uploads", files={"file": ("big.png", png_bytes(400, 400), "image/png")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    r = client.post("/v1/uploads", files={"picture": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"
    r = client.post("/v1/uploads", data={"file": "x"})  # not multipart at all
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_upload"
    assert _count(platform, Upload) == 0


def test_health_and_openapi(client: TestClient) -> None:
    r = TestClient(client.app).get("/healthz")
    assert r.status_code == 200 and r.json()["database"] == "ok"
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/uploads",
        "/v1/videos",
        "/v1/videos/{video_id}",
        "/v1/videos/{video_id}/content",
        "/v1/videos/{video_id}/events",
        "/v1/videos/{video_id}/cancel",
        "/healthz",
    ):
        assert path in spec["paths"], path
    assert client.get("/docs").status_code == 200


def test_admin_routes_need_an_admin_key(platform: Platform, client: TestClient) -> None:
    router = APIRouter()

    @router.get("/v1/admin/ping")
    def ping(account: AdminAccount) -> dict[str, str]:
        return {"admin": account.name}

    client.app.include_router(router)  # type: ignore[attr-defined]
    r = client.get("/v1/admin/ping")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    ops = accounts.create_api_key(platform, "ops", admin=True)
    r = client.get("/v1/admin/ping", headers={"Authorization": f"Bearer {ops.key}"})
    assert r.status_code == 200 and r.json() == {"admin": "ops"}
