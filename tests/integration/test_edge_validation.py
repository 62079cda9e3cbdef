"""The edge rule (issue 13 items 1, 3, 11): NUL and other control characters, lone
surrogates and invisible format characters are refused with 422 `invalid_characters` and the
error shape before any route runs — in JSON bodies, path and query parameters, the headers
the API reads and multipart file names — on SQLite and PostgreSQL (whose text refuses NUL).
Tabs and newlines stay allowed in free text (prompts, notes, messages)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.storage.billing_tables import LedgerEntry
from reelforge.storage.tables import Blob, Job, Upload

BODY = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}
NUL = "\u0000"


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    key = accounts.create_api_key(platform, "root", admin=True).key
    with TestClient(create_app(platform), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def _counts(p: Platform) -> tuple[int, ...]:
    with p.db.session(write=False) as s:
        return tuple(
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Job, Upload, Blob, LedgerEntry)
        )


def _refused(r: Any, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == 422, (r.status_code, r.text)
    error = r.json()["error"]
    assert error["code"] == "invalid_characters", error
    if field is not None:
        assert error["field"] == field, error
    return dict(error)


# (method, path, request keyword arguments, the field named in the error)
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "POST",
        "/v1/videos",
        {"json": {**BODY, "callback_url": "https://1.1.1.1/a\u0000b"}},
        "callback_url",
    ),
    ("POST", "/v1/videos", {"json": {**BODY, "prompt": "a\u0000b"}}, "prompt"),
    ("POST", "/v1/videos", {"json": {**BODY, "external_id": "x\u0000"}}, "external_id"),
    ("POST", "/v1/videos", {"json": {**BODY, "model": "gradient\u0007"}}, "model"),
    ("POST", "/v1/videos", {"json": {**BODY, "external_id": "a\tb"}}, "external_id"),
    ("POST", "/v1/videos", {"json": {**BODY, "external_id": "ab\u202egpj.exe"}}, "external_id"),
    ("POST", "/v1/quotes", {"json": {**BODY, "negative_prompt": "\u0000"}}, "negative_prompt"),
    ("GET", "/v1/videos", {"params": {"status": NUL}}, "status"),
    ("GET", "/v1/videos", {"params": {"cursor": NUL}}, "cursor"),
    ("GET", "/v1/videos", {"params": {"external_id": "a\u0000"}}, "external_id"),
    ("GET", "/v1/videos/vid_%00", {}, "video_id"),
    ("DELETE", "/v1/videos/vid_%00", {}, "video_id"),
    ("POST", "/v1/videos/vid_%00/cancel", {}, "video_id"),
    ("POST", "/v1/videos/vid_%00/promote", {}, "video_id"),
    ("POST", "/v1/videos/vid_x/appeal", {"json": {"message": "no\u0000"}}, "message"),
    ("GET", "/v1/videos/vid_%01/content", {}, "video_id"),
    ("GET", "/v1/videos/vid_%00/poster", {}, "video_id"),
    ("GET", "/v1/videos/vid_%00/events", {}, "video_id"),
    ("GET", "/v1/uploads/upl_%00", {}, "upload_id"),
    ("DELETE", "/v1/uploads/upl_%00", {}, "upload_id"),
    ("POST", "/v1/moderations", {"json": {"text": "hi\u0000"}}, "text"),
    (
        "POST",
        "/v1/moderations",
        {"content": '{"text": ["ok", "\\ud800"]}', "headers": {"Content-Type": "application/json"}},
        "text.1",
    ),
    ("POST", "/v1/moderations", {"json": {"image_upload_id": "upl_\u0000"}}, "image_upload_id"),
    ("GET", "/v1/admin/reviews", {"params": {"status": NUL}}, "status"),
    ("POST", "/v1/admin/reviews/rev_%00/approve", {}, "review_id"),
    ("POST", "/v1/admin/reviews/rev_x/reject", {"json": {"note": "\u0000"}}, "note"),
    ("GET", "/v1/admin/audit", {"params": {"subject": NUL}}, "subject"),
    ("POST", "/v1/admin/likeness/per_%00/grant", {"json": {}}, "person_id"),
    ("POST", "/v1/admin/likeness/per_x/revoke", {"json": {"account": "a\u0000"}}, "account"),
    (
        "POST",
        "/v1/admin/models",
        {"json": {"name": "m\u0000", "family": "wan", "path": "/tmp/x"}},
        "name",
    ),
    ("DELETE", "/v1/admin/models/m%00", {}, "name"),
    ("GET", "/v1/admin/kpis", {"params": {"since": NUL}}, "since"),
    ("GET", "/v1/files/vid_%00/video.mp4", {"params": {"expires": "1", "sig": "x"}}, "job_id"),
    ("GET", "/v1/files/vid_x/video.mp4", {"params": {"expires": "1", "sig": NUL}}, "sig"),
    ("POST", "/v1/billing/checkout", {"json": {"kind": "topup", "pack": "p\u0000"}}, "pack"),
    ("GET", "/v1/videos/vid_x/events", {"headers": {"Last-Event-ID": "1\x01"}}, "last-event-id"),
]


def test_control_characters_are_refused_at_the_edge(client: TestClient, platform: Platform) -> None:
    """One platform per stack for the whole table (a fresh one per case cost ~1 s each)."""
    before = _counts(platform)
    wrong = []
    for method, path, kwargs, field in CASES:
        r = client.request(method, path, **kwargs)
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        error = body.get("error") or {}
        if (r.status_code, error.get("code"), error.get("field")) != (
            422,
            "invalid_characters",
            field,
        ):
            wrong.append(f"{method} {path} {field}: {r.status_code} {r.text[:160]}")
    assert not wrong, "\n".join(wrong)
    assert _counts(platform) == before


def test_a_nul_in_a_header_value_or_a_json_key_is_refused(client: TestClient) -> None:
    _refused(
        client.post("/v1/videos", headers={"Idempotency-Key": "k\x7f"}, json=BODY),
        "idempotency-key",
    )
    body = json.dumps({**BODY, "x\u0000": 1})
    _refused(
        client.post("/v1/videos", content=body, headers={"Content-Type": "application/json"}),
        "x\u0000",
    )
    # a lone surrogate in a key: the error names it escaped (it cannot be sent as UTF-8)
    body = json.dumps({**BODY, "k\ud800": 1})
    _refused(
        client.post("/v1/videos", content=body, headers={"Content-Type": "application/json"}),
        "k\\ud800",
    )


def test_an_upload_whose_file_name_has_control_characters_is_refused(
    client: TestClient, platform: Platform
) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(buf, "PNG")
    before = _counts(platform)
    # raw bytes: httpx (like browsers) would percent-encode a control character
    for name in (b"a\x00.png", b"a\x01b.png", "\u202egnp.exe".encode()):
        r = client.post("/v1/uploads", **_multipart(name, buf.getvalue()))
        _refused(r, "file")
    for name in (b"../../etc/passwd.png", b"..\\..\\win.png", b"/abs/x.png", b".."):
        r = client.post("/v1/uploads", **_multipart(name, buf.getvalue()))
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_filename", r.text
    assert _counts(platform) == before


def test_an_openai_input_reference_whose_file_name_is_hostile_is_refused(
    client: TestClient, platform: Platform
) -> None:
    """The OpenAI-compatible create's multipart file (input_reference) under the same rule
    as /v1/uploads: before, its name was stored as the upload's filename as sent — a NUL
    answered 500 on PostgreSQL, control characters, bidi overrides and directory parts were
    kept."""
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(buf, "PNG")
    fields = b"".join(
        b'--hostileboundary7d1\r\nContent-Disposition: form-data; name="'
        + name
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
        for name, value in ((b"prompt", b"a cat"), (b"model", b"gradient"), (b"seconds", b"1"))
    )
    before = _counts(platform)
    cases = [
        (b"a\x00.png", "invalid_characters"),
        (b"a\x01b.png", "invalid_characters"),
        ("\u202egnp.exe".encode(), "invalid_characters"),
        (b"../../etc/passwd.png", "invalid_filename"),
        (b"..", "invalid_filename"),
    ]
    for name, code in cases:
        request = _multipart(name, buf.getvalue(), field=b"input_reference")
        request["content"] = fields + request["content"]
        r = client.post("/openai/v1/videos", **request)
        assert r.status_code == 400, (name, r.status_code, r.text[:200])  # OpenAI's 422
        error = r.json()["error"]  # OpenAI's error shape
        assert (error["code"], error["param"]) == (code, "input_reference"), (name, error)
    assert _counts(platform) == before


def _multipart(filename: bytes, data: bytes, field: bytes = b"file") -> dict[str, Any]:
    boundary = b"hostileboundary7d1"
    body = (
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="'
        + field
        + b'"; filename="'
        + filename
        + b'"\r\nContent-Type: image/png\r\n\r\n'
        + data
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )
    return {
        "content": body,
        "headers": {"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"},
    }


def test_free_text_keeps_tabs_newlines_and_unicode(client: TestClient) -> None:
    r = client.post("/v1/quotes", json={**BODY, "prompt": "line one\n\tline two — café 生成 👩‍💻"})
    assert r.status_code == 200, r.text


def test_the_audit_stream_is_refused_before_it_starts(client: TestClient) -> None:
    r = client.get("/v1/admin/audit", params={"subject": "\u0000"})
    _refused(r, "subject")  # before: 200, then an aborted chunked stream on PostgreSQL
