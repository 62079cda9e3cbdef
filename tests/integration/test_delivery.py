"""Delivery (issue 12, item 7): signed expiring output URLs (local and S3), DELETE of videos
and uploads, retention, images by URL or data URI, idempotent retries by content hash,
GET /v1/videos?external_id=, and `reelforge jobs download`."""

from __future__ import annotations

import base64
import http.server
import io
import json
import os
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.config import Settings
from reelforge.net.callbacks import _is_public
from reelforge.services.accounts import accounts
from reelforge.services.jobs import delivery
from reelforge.services.jobs.retention import sweep_expired
from reelforge.services.notify.deliveries import deliver_due
from reelforge.storage import repositories as repo
from reelforge.storage.billing_tables import LedgerEntry
from reelforge.storage.tables import AuditEntry
from reelforge.worker.loop import Worker
from tests.conftest import make_settings
from tests.fakes import GradientBackend
from tests.helpers import wait_for
from tests.receiver import webhook_receiver

BODY = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}
PUBLIC = "https://videos.example.test"


def png_bytes(w: int = 64, h: int = 48, colour: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


def data_uri(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _platform(tmp_path: Path, **overrides: Any) -> Platform:
    backend = GradientBackend()
    settings = make_settings(
        tmp_path, public_url=PUBLIC, worker_queues=[backend.queue], **overrides
    )
    return bootstrap(settings, backends=[backend])


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = _platform(tmp_path)
    yield p
    p.close()


def _client(p: Platform, name: str = "alice") -> TestClient:
    key = accounts.create_api_key(p, name).key
    c = TestClient(create_app(p))
    c.headers["Authorization"] = f"Bearer {key}"
    return c


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with _client(platform) as c:
        yield c


def _run(p: Platform, client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    """Submit and run to the end with a real worker; the final job object."""
    r = client.post("/v1/videos", json=body)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    w = Worker(p).start()
    try:
        return wait_for(
            lambda: (
                (j := client.get(f"/v1/videos/{job_id}").json())["status"]
                in ("succeeded", "failed")
                and j
            )
        )  # type: ignore[no-any-return]
    finally:
        w.stop()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _count(p: Platform, table: type) -> int:
    with p.db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


# --- (a) signed, expiring URLs --------------------------------------------------------------


def test_output_urls_are_absolute_signed_and_work_without_the_api_key(
    platform: Platform, client: TestClient
) -> None:
    with webhook_receiver() as (hook_url, received):
        done = _run(platform, client, {**BODY, "callback_url": hook_url})
        deliver_due(platform)  # whatever the worker's dispatcher has not sent yet
        assert received.requests
    out = done["output"]
    assert out["url"].startswith(f"{PUBLIC}/v1/files/{done['id']}/video.mp4?expires=")
    assert out["poster_url"].startswith(f"{PUBLIC}/v1/files/{done['id']}/poster.jpg?")
    assert out["url_expires_at"] and out["expires_at"] is None  # no retention configured
    whole = client.get(f"/v1/videos/{done['id']}/content").content

    bare = TestClient(client.app)  # no Authorization header at all
    r = bare.get(_path(out["url"]))
    assert r.status_code == 200 and r.content == whole
    assert r.headers["content-type"] == "video/mp4"
    part = bare.get(_path(out["url"]), headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == whole[10:20]
    assert bare.get(_path(out["poster_url"])).content[:2] == b"\xff\xd8"

    # the webhook body carries the same kind of URL (signed when sent), fetchable keyless
    hooked = json.loads(received.requests[0][1])["output"]["url"]
    assert hooked.startswith(f"{PUBLIC}/v1/files/")
    assert bare.get(_path(hooked)).content == whole


def test_tampered_expired_and_unsigned_urls_are_refused(
    platform: Platform, client: TestClient
) -> None:
    done = _run(platform, client, BODY)
    url = done["output"]["url"]
    query = parse_qs(urlsplit(url).query)
    expires, sig = query["expires"][0], query["sig"][0]
    bare = TestClient(client.app)
    base = f"/v1/files/{done['id']}/video.mp4"
    bad = bare.get(f"{base}?expires={expires}&sig={'A' * len(sig)}")
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "invalid_url_signature"
    # the poster's name with the video's signature
    swapped = bare.get(f"/v1/files/{done['id']}/poster.jpg?expires={expires}&sig={sig}")
    assert swapped.status_code == 403
    longer = bare.get(f"{base}?expires={int(expires) + 1}&sig={sig}")
    assert longer.status_code == 403  # moving the expiry breaks the signature
    non_ascii = bare.get(f"{base}?expires={expires}&sig=%C3%A9%C3%A9")
    assert non_ascii.status_code == 403  # compared as bytes, not a 500
    assert bare.get(base).json()["error"]["code"] == "invalid_url_signature"
    past = int(platform.clock().timestamp()) - 1
    old_sig = delivery._signature(delivery.url_key(platform), done["id"], "video.mp4", past)
    r = bare.get(f"{base}?expires={past}&sig={old_sig}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "url_expired"
    assert bare.get(f"/v1/files/{done['id']}/x.exe?expires={expires}&sig={sig}").status_code == 404


def test_a_node_with_the_shared_secret_accepts_another_nodes_urls(tmp_path: Path) -> None:
    a = _platform(tmp_path / "a", url_signing_secret="fleet-secret")
    b = _platform(tmp_path / "b", url_signing_secret="fleet-secret")
    c = _platform(tmp_path / "c")
    try:
        assert delivery.url_key(a) == delivery.url_key(b) != delivery.url_key(c)
    finally:
        for p in (a, b, c):
            p.close()


def test_on_s3_the_signed_url_redirects_to_a_presigned_object_url(
    s3_endpoint: str, tmp_path: Path
) -> None:
    import boto3

    bucket = f"rf-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    p = _platform(tmp_path, blob_url=f"s3://{bucket}/out", s3_endpoint_url=s3_endpoint)
    try:
        with _client(p) as client:
            done = _run(p, client, BODY)
            whole = client.get(f"/v1/videos/{done['id']}/content").content
            r = TestClient(client.app).get(_path(done["output"]["url"]), follow_redirects=False)
            assert r.status_code == 302
            target = r.headers["location"]
            assert target.startswith(f"{s3_endpoint}/{bucket}/out/")
            assert "Signature" in target or "X-Amz-Signature" in target
            fetched = httpx.get(target)  # S3 itself serves it, no reelforge credentials
            assert fetched.status_code == 200 and fetched.content == whole
            ranged = httpx.get(target, headers={"Range": "bytes=0-9"})
            assert ranged.status_code == 206 and ranged.content == whole[:10]
            # DELETE removes the object from the bucket
            assert client.delete(f"/v1/videos/{done['id']}").status_code == 200
            assert not p.blobs.exists(done["output"]["sha256"])
    finally:
        p.close()


# --- (b) DELETE ---------------------------------------------------------------------------


def test_delete_video_removes_files_keeps_row_ledger_and_audit(
    platform: Platform, client: TestClient
) -> None:
    done = _run(platform, client, BODY)
    key, url = done["output"]["sha256"], done["output"]["url"]
    assert platform.blobs.exists(key)
    ledger_before = _count(platform, LedgerEntry)
    r = client.delete(f"/v1/videos/{done['id']}")
    assert r.status_code == 200, r.text
    gone = r.json()
    assert gone["deleted"] is True and gone["deleted_at"] and gone["status"] == "succeeded"
    assert gone["output"]["url"] is None and gone["output"]["removed_at"]
    assert gone["credits_charged"] == done["credits_charged"]  # history and billing intact
    assert not platform.blobs.exists(key)
    assert _count(platform, LedgerEntry) == ledger_before
    with platform.db.session(write=False) as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.subject == done["id"]))
        assert "video.delete" in list(actions)
    r = client.get(f"/v1/videos/{done['id']}/content")
    assert r.status_code == 404 and r.json()["error"]["code"] == "content_deleted"
    r = TestClient(client.app).get(_path(url))  # a URL handed out before
    assert r.status_code == 404 and r.json()["error"]["code"] == "content_deleted"
    listed = client.get("/v1/videos").json()["data"]
    assert [j["id"] for j in listed] == [done["id"]] and listed[0]["deleted"]
    again = client.delete(f"/v1/videos/{done['id']}")
    assert again.status_code == 200 and again.json()["deleted_at"] == gone["deleted_at"]
    other = _client(platform, "bob")
    assert other.delete(f"/v1/videos/{done['id']}").status_code == 404


def test_delete_keeps_a_blob_another_job_still_shows(tmp_path: Path) -> None:
    p = _platform(tmp_path, result_cache="account")
    try:
        with _client(p) as client:
            first = _run(p, client, {**BODY, "seed": 7})
            hit = client.post("/v1/videos", json={**BODY, "seed": 7}).json()
            assert hit["cache_hit"] and hit["output"]["sha256"] == first["output"]["sha256"]
            assert hit["output"]["url"].startswith(PUBLIC)  # signed on the submit answer too
            key = first["output"]["sha256"]
            client.delete(f"/v1/videos/{first['id']}")
            assert p.blobs.exists(key)  # the cache hit still shows it
            assert client.get(f"/v1/videos/{hit['id']}/content").status_code == 200
            client.delete(f"/v1/videos/{hit['id']}")
            assert not p.blobs.exists(key)
            # a deleted job is no longer a cache source
            again = client.post("/v1/videos", json={**BODY, "seed": 7}).json()
            assert not again["cache_hit"]
    finally:
        p.close()


def test_delete_cancels_a_queued_job_and_refuses_a_running_one(
    platform: Platform, client: TestClient
) -> None:
    queued = client.post("/v1/videos", json=BODY).json()
    r = client.delete(f"/v1/videos/{queued['id']}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["deleted"]
    assert r.json()["billing"] == "released"

    running = client.post("/v1/videos", json=BODY).json()
    with platform.db.session() as s:
        assert repo.claim_job(s, running["id"], "w-test", platform.clock()) is not None
    r = client.delete(f"/v1/videos/{running['id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "job_running"
    assert client.get(f"/v1/videos/{running['id']}").json()["deleted"] is False


def test_delete_upload_removes_the_image_unless_it_is_in_use(
    platform: Platform, client: TestClient
) -> None:
    data = png_bytes()
    upload = client.post("/v1/uploads", files={"file": ("a.png", data, "image/png")}).json()
    job = client.post("/v1/videos", json={**BODY, "image_upload_id": upload["id"]}).json()
    r = client.delete(f"/v1/uploads/{upload['id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "upload_in_use"
    client.post(f"/v1/videos/{job['id']}/cancel")

    bob = _client(platform, "bob")  # the same bytes in another account share the blob
    bobs = bob.post("/v1/uploads", files={"file": ("b.png", data, "image/png")}).json()
    r = client.delete(f"/v1/uploads/{upload['id']}")
    assert r.status_code == 200 and r.json()["deleted"] is True
    with platform.db.session(write=False) as s:  # the deletion is in the audit log
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.subject == upload["id"]))
        assert list(actions) == ["upload.delete"]
    assert platform.blobs.exists(upload["sha256"])  # bob's upload still needs it
    assert client.get(f"/v1/uploads/{upload['id']}").json()["deleted"] is True
    r = client.post("/v1/videos", json={**BODY, "image_upload_id": upload["id"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "upload_not_found"
    assert bob.delete(f"/v1/uploads/{bobs['id']}").status_code == 200
    assert not platform.blobs.exists(upload["sha256"])
    assert client.delete(f"/v1/uploads/{upload['id']}").status_code == 200  # idempotent
    assert client.delete("/v1/uploads/upl_%00x").status_code == 422


# --- (c) retention ------------------------------------------------------------------------


def test_retention_sets_expires_at_and_the_sweep_removes_expired_outputs(tmp_path: Path) -> None:
    p = _platform(tmp_path, output_retention_days=2)
    try:
        with _client(p) as client:
            done = _run(p, client, BODY)
            out = done["output"]
            from datetime import datetime

            expires = datetime.fromisoformat(out["expires_at"])
            finished = datetime.fromisoformat(done["finished_at"])
            assert expires - finished == timedelta(days=2)
            assert datetime.fromisoformat(out["url_expires_at"]) <= expires
            assert sweep_expired(p) == []  # nothing due yet
            assert p.blobs.exists(out["sha256"])

            later = expires + timedelta(seconds=1)
            p.clock = lambda: later
            assert sweep_expired(p) == [done["id"]]
            assert not p.blobs.exists(out["sha256"])
            after = client.get(f"/v1/videos/{done['id']}").json()
            assert after["output"]["url"] is None and after["output"]["removed_at"]
            assert after["deleted"] is False and after["status"] == "succeeded"
            r = client.get(f"/v1/videos/{done['id']}/content")
            assert r.status_code == 404 and r.json()["error"]["code"] == "content_deleted"
            assert sweep_expired(p) == []
    finally:
        p.close()


# --- (d) images in the request, (e) idempotent retries ------------------------------------


def test_image_as_data_uri_becomes_an_upload(platform: Platform, client: TestClient) -> None:
    data = png_bytes()
    r = client.post("/v1/videos", json={**BODY, "image_url": data_uri(data)})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["mode"] == "image2video" and job["image_upload_id"].startswith("upl_")
    upload = client.get(f"/v1/uploads/{job['image_upload_id']}").json()
    assert (upload["width"], upload["height"]) == (64, 48)


@pytest.mark.parametrize(
    "value,code",
    [
        ("data:image/png;base64,@@@not-base64", "invalid_image"),
        ("data:text/html;base64,PGh0bWw+", "invalid_image"),
        (data_uri(b"GIF89a not really"), "unsupported_image_type"),
        ("data:image/png;base64,AAAA\x00", "invalid_characters"),
        ("http://127.0.0.1:9/x.png", "unsafe_image_url"),
        ("ftp://example.com/x.png", "unsafe_image_url"),
        ("http://user:pw@example.com/x.png", "unsafe_image_url"),
    ],
)
def test_bad_image_values_are_refused_at_the_edge(
    client: TestClient, value: str, code: str
) -> None:
    r = client.post("/v1/videos", json={**BODY, "image_url": value})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code


def test_data_uri_over_the_upload_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    p = _platform(tmp_path, max_upload_bytes=1000)
    try:
        with _client(p) as client:
            r = client.post("/v1/videos", json={**BODY, "image_url": data_uri(os.urandom(5000))})
            assert r.status_code == 413 and r.json()["error"]["field"] == "image_url"
    finally:
        p.close()


def test_a_retry_with_the_same_image_and_external_id_returns_the_same_job(
    client: TestClient,
) -> None:
    data = png_bytes()
    # The client uploads again on retry: the same bytes are the same upload...
    first = client.post("/v1/uploads", files={"file": ("a.png", data, "image/png")}).json()
    second = client.post("/v1/uploads", files={"file": ("a.png", data, "image/png")}).json()
    assert second["id"] == first["id"]
    a = client.post(
        "/v1/videos", json={**BODY, "external_id": "order-1", "image_upload_id": first["id"]}
    )
    # ...so the retried request is the same request, not 409 external_id_conflict
    b = client.post(
        "/v1/videos", json={**BODY, "external_id": "order-1", "image_upload_id": second["id"]}
    )
    assert a.status_code == b.status_code == 202, b.text
    assert b.json()["id"] == a.json()["id"] and b.headers["idempotent-replayed"] == "true"
    # the image inline, twice: also one job
    c = client.post(
        "/v1/videos", json={**BODY, "external_id": "order-2", "image_url": data_uri(data)}
    )
    d = client.post(
        "/v1/videos", json={**BODY, "external_id": "order-2", "image_url": data_uri(data)}
    )
    assert c.status_code == d.status_code == 202 and c.json()["id"] == d.json()["id"]
    assert c.json()["image_upload_id"] == first["id"]
    # a different request under the same external_id still conflicts
    e = client.post(
        "/v1/videos",
        json={**BODY, "external_id": "order-2", "image_url": data_uri(png_bytes(colour=(1, 2, 3)))},
    )
    assert e.status_code == 409 and e.json()["error"]["code"] == "external_id_conflict"
    f = client.post(
        "/v1/videos",
        json={**BODY, "prompt": "other", "external_id": "order-1", "image_upload_id": first["id"]},
    )
    assert f.status_code == 409


class _ImageServer:
    """A tiny HTTP server on 127.0.0.1 that records the Host header it was sent."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]):
        self.hosts: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hosts.append(self.headers.get("Host", ""))
                status, headers, body = routes.get(self.path, (404, {}, b""))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_image_url_is_fetched_from_the_checked_address_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = png_bytes()
    server = _ImageServer(
        {
            "/cat.png": (200, {"Content-Type": "image/png"}, data),
            "/moved": (302, {"Location": "/cat.png"}, b""),
            "/page": (200, {"Content-Type": "text/html"}, b"<html></html>"),
            "/huge": (200, {"Content-Type": "image/png", "Content-Length": "99999999"}, b""),
        }
    )
    lookups: list[str] = []
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(str(host))
        if host == "images.example.test":  # a name; answered once, then it would "rebind"
            return real("127.0.0.1", *args, **kwargs) if lookups.count(host) == 1 else []
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    p = _platform(tmp_path, image_url_allow_hosts=["images.example.test"])
    try:
        with _client(p) as client:
            url = f"http://images.example.test:{server.port}"
            r = client.post("/v1/videos", json={**BODY, "image_url": f"{url}/cat.png"})
            assert r.status_code == 202, r.text
            assert lookups.count("images.example.test") == 1  # resolved once, not again
            assert server.hosts == [f"images.example.test:{server.port}"]
            upload = client.get(f"/v1/uploads/{r.json()['image_upload_id']}").json()
            assert upload["sha256"] and upload["filename"] == "cat.png"

            lookups.clear()
            monkeypatch.setattr(
                socket,
                "getaddrinfo",
                lambda h, *a, **k: real("127.0.0.1" if h == "images.example.test" else h, *a, **k),
            )
            r = client.post("/v1/videos", json={**BODY, "image_url": f"{url}/moved"})
            assert r.status_code == 202 and r.json()["image_upload_id"] == upload["id"]
            r = client.post("/v1/videos", json={**BODY, "image_url": f"{url}/page"})
            assert r.json()["error"]["code"] == "invalid_image"
            r = client.post("/v1/videos", json={**BODY, "image_url": f"{url}/huge"})
            assert r.status_code == 413
            r = client.post("/v1/videos", json={**BODY, "image_url": f"{url}/missing"})
            assert r.json()["error"]["code"] == "image_url_unreachable"
            # not allowlisted: loopback is refused before any connection
            before = len(server.hosts)
            r = client.post(
                "/v1/videos", json={**BODY, "image_url": f"http://127.0.0.1:{server.port}/cat.png"}
            )
            assert r.json()["error"]["code"] == "unsafe_image_url"
            assert len(server.hosts) == before
    finally:
        server.close()
        p.close()


def test_an_image_url_redirect_is_checked_again_before_it_is_followed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 13 item 7, "re-check on every redirect": an allowlisted host that redirects to
    an address the check refuses (loopback here, as metadata or an internal service would
    be) is refused as unsafe_image_url, and the redirect's target is never requested."""
    from reelforge.errors import ReelforgeError
    from reelforge.services.jobs.image_input import fetch_image

    server = _ImageServer({"/cat.png": (200, {"Content-Type": "image/png"}, png_bytes())})
    inner = f"http://127.0.0.1:{server.port}/cat.png"
    server_routes = {"/away": (302, {"Location": inner}, b"")}
    outer = _ImageServer(server_routes)
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda h, *a, **k: real("127.0.0.1" if h == "images.example.test" else h, *a, **k),
    )
    try:
        with pytest.raises(ReelforgeError) as refused:
            fetch_image(
                f"http://images.example.test:{outer.port}/away",
                allow=["images.example.test"],
                max_bytes=10**6,
                timeout=5,
                field="image_url",
            )
        assert refused.value.code == "unsafe_image_url"
        assert outer.hosts == [f"images.example.test:{outer.port}"]  # the redirect, once
        assert server.hosts == []  # its target never requested
    finally:
        outer.close()
        server.close()


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "::127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",
        # the local-use NAT64 prefix (RFC 8215: not globally reachable; a site's translator
        # may embed IPv4 at any of RFC 6052's offsets) and SIIT's IPv4-translated form
        # (::ffff:0:a.b.c.d) — both "global" to Python 3.11's ipaddress
        "64:ff9b:1::a9fe:a9fe",
        "64:ff9b:1:a9fe:a9:fe00::",
        "::ffff:0:7f00:1",
        "::ffff:0:a9fe:a9fe",
    ],
)
def test_ipv6_forms_of_private_ipv4_are_not_public(address: str) -> None:
    import ipaddress

    assert not _is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "::ffff:0:808:808", "2606:4700::1111"])
def test_ipv6_forms_of_public_addresses_stay_public(address: str) -> None:
    import ipaddress

    assert _is_public(ipaddress.ip_address(address))


# --- (f) lookup by external_id ------------------------------------------------------------


def test_list_by_external_id(client: TestClient) -> None:
    a = client.post("/v1/videos", json={**BODY, "external_id": "sku-1"}).json()
    client.post("/v1/videos", json={**BODY, "external_id": "sku-2"})
    found = client.get("/v1/videos", params={"external_id": "sku-1"}).json()["data"]
    assert [j["id"] for j in found] == [a["id"]]
    assert client.get("/v1/videos", params={"external_id": "nope"}).json()["data"] == []
    r = client.get("/v1/videos", params={"external_id": "a\x00b"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "external_id"
    assert client.get("/v1/videos", params={"external_id": "x" * 129}).status_code == 422
    assert _client_of_other_account_sees_nothing(client)


def _client_of_other_account_sees_nothing(client: TestClient) -> bool:
    p: Platform = client.app.state.platform  # type: ignore[attr-defined]
    bob = _client(p, "bob")
    return bob.get("/v1/videos", params={"external_id": "sku-1"}).json()["data"] == []


# --- (g) `reelforge jobs download` --------------------------------------------------------


def test_cli_jobs_download_writes_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from reelforge.cli import app

    for key in list(os.environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    p = bootstrap(
        Settings(data_dir=tmp_path / "data", default_plan="internal"), backends=[GradientBackend()]
    )
    try:
        local = accounts.ensure_account(p, accounts.LOCAL_ACCOUNT)
        from reelforge.services.jobs.queries import get_job
        from reelforge.services.jobs.submit import SubmitRequest, submit_job

        job_id = submit_job(p, local, SubmitRequest.parse(BODY)).job["id"]
        w = Worker(p, queues=["gradient"]).start()
        try:
            wait_for(lambda: get_job(p, local, job_id)["status"] == "succeeded")
        finally:
            w.stop()
        expected = b"".join(
            p.blobs.iter_range(get_job(p, local, job_id)["output"]["sha256"], 0, 10**9)
        )
    finally:
        p.close()
    cli = CliRunner()
    dest = tmp_path / "out" / "clip.mp4"
    r = cli.invoke(app, ["jobs", "download", job_id, "--out", str(dest), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["size_bytes"] == len(expected)
    assert dest.read_bytes() == expected
    assert [x.name for x in dest.parent.iterdir()] == ["clip.mp4"]  # no partial files
    r = cli.invoke(app, ["jobs", "download", "vid_missing", "--out", str(tmp_path / "m.mp4")])
    assert r.exit_code == 2 and "not_found" in r.output
    assert not (tmp_path / "m.mp4").exists()
    r = cli.invoke(app, ["jobs", "delete", job_id])
    assert r.exit_code == 0 and "deleted" in r.output
    r = cli.invoke(app, ["jobs", "download", job_id, "--out", str(tmp_path / "d.mp4")])
    assert r.exit_code == 2 and "content_deleted" in r.output


# --- the queries behind deletion and retention, on both databases -------------------------


def test_deletion_queries_on_both_databases(settings: Settings, tmp_path: Path) -> None:
    """upload_in_use / blob_in_use read the JSON inputs as text, which PostgreSQL and SQLite
    spell differently; expired_outputs drives the sweep."""
    settings.public_url = PUBLIC
    settings.worker_queues.append("gradient")
    p = bootstrap(settings, backends=[GradientBackend()])
    try:
        with _client(p) as client:
            upload = client.post(
                "/v1/uploads", files={"file": ("a.png", png_bytes(), "image/png")}
            ).json()
            job = client.post("/v1/videos", json={**BODY, "image_upload_id": upload["id"]}).json()
            with p.db.session(write=False) as s:
                assert repo.upload_in_use(s, upload["id"]) == job["id"]
                assert repo.blob_in_use(s, upload["sha256"])
                assert list(repo.expired_outputs(s, p.clock() + timedelta(days=999))) == []
            r = client.delete(f"/v1/uploads/{upload['id']}")
            assert r.json()["error"]["code"] == "upload_in_use"
            assert client.delete(f"/v1/videos/{job['id']}").json()["status"] == "cancelled"
            assert client.delete(f"/v1/uploads/{upload['id']}").status_code == 200
            with p.db.session(write=False) as s:
                assert repo.upload_in_use(s, upload["id"]) is None
                assert not repo.blob_in_use(s, upload["sha256"])
            assert not p.blobs.exists(upload["sha256"])
            found = client.get("/v1/videos", params={"external_id": "none"}).json()
            assert found["data"] == []
            # a NUL in an id is refused at the edge (422 invalid_characters), never a
            # database error (PostgreSQL refuses NUL)
            for method in ("get", "delete"):
                r = client.request(method.upper(), "/v1/videos/vid_%00x")
                assert r.status_code == 422, r.text
                assert r.json()["error"]["code"] == "invalid_characters"
            assert client.get("/v1/uploads/upl_%00x").status_code == 422
            assert client.get("/v1/videos/vid_%00x/content").status_code == 422
    finally:
        p.close()


def _tls_pair(tmp_path: Path, host: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for `host` signed by it: (ca.pem, cert.pem, key.pem)."""
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("test ca"))
        .issuer_name(name("test ca"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_https_image_url_is_verified_against_its_name_on_the_checked_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    from reelforge.services.jobs.image_input import fetch_image

    data = png_bytes()
    ca, cert, key = _tls_pair(tmp_path, "images.example.test")
    server = _ImageServer({"/cat.png": (200, {"Content-Type": "image/png"}, data)})
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.httpd.socket = tls.wrap_socket(server.httpd.socket, server_side=True)
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda h, *a, **k: real(
            "127.0.0.1" if h in ("images.example.test", "other.example.test") else h, *a, **k
        ),
    )
    trust = ssl.create_default_context(cafile=str(ca))
    allow = ["images.example.test", "other.example.test"]
    try:
        got = fetch_image(
            f"https://images.example.test:{server.port}/cat.png",
            allow=allow,
            max_bytes=10**6,
            timeout=5,
            field="image_url",
            verify=trust,
        )
        assert got == data
        # the same address under another name: the certificate does not match → refused
        from reelforge.errors import InvalidRequest

        with pytest.raises(InvalidRequest) as refused:
            fetch_image(
                f"https://other.example.test:{server.port}/cat.png",
                allow=allow,
                max_bytes=10**6,
                timeout=5,
                field="image_url",
                verify=trust,
            )
        assert refused.value.code == "image_url_unreachable"
    finally:
        server.close()
