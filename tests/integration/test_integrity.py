"""Served outputs are the bytes the job stored (issue 13, fix 12): a truncated, overwritten or
deleted output blob answers 410 `output_damaged` / `output_missing` on every route that serves
it (content, signed /v1/files, `reelforge jobs download`), is never reused by the result cache
(a same-seed request renders anew), and `reelforge fsck [--repair] [--json]` finds it — on a
local store and on S3 (moto)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.errors import OutputUnavailable
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.fsck import fsck
from reelforge.storage.blobs import LocalBlobStore, S3BlobStore
from reelforge.worker.loop import Worker
from tests.conftest import make_settings
from tests.fakes import GradientBackend
from tests.helpers import wait_for

BODY = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient", "seed": 7}


@pytest.fixture(params=["local", "s3"])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    overrides: dict[str, Any] = {}
    if request.param == "s3":
        import boto3

        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"rf-{os.urandom(4).hex()}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket=bucket
        )
        overrides = {"blob_url": f"s3://{bucket}/out", "s3_endpoint_url": endpoint}
    backend = GradientBackend()
    p = bootstrap(
        make_settings(tmp_path, worker_queues=[backend.queue], result_cache="account", **overrides),
        backends=[backend],
    )
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    key = accounts.create_api_key(platform, "alice").key
    with TestClient(create_app(platform)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def _run(p: Platform, client: TestClient, body: dict[str, Any] = BODY) -> dict[str, Any]:
    r = client.post("/v1/videos", json=body)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    if r.json()["status"] == "succeeded":
        return client.get(f"/v1/videos/{job_id}").json()
    w = Worker(p).start()
    try:
        return wait_for(
            lambda: (
                (j := client.get(f"/v1/videos/{job_id}").json())["status"]
                in ("succeeded", "failed")
                and j
            )
        )
    finally:
        w.stop()


def _write(p: Platform, key: str, data: bytes | None) -> None:
    """Replace a stored blob's bytes behind the platform's back (None: delete it)."""
    store = p.blobs
    if isinstance(store, LocalBlobStore):
        path = store._path(key)
        if data is None:
            path.unlink()
        else:
            path.write_bytes(data)
        return
    assert isinstance(store, S3BlobStore)
    if data is None:
        store.client.delete_object(Bucket=store.bucket, Key=store._name(key))
    else:
        store.client.put_object(Bucket=store.bucket, Key=store._name(key), Body=data)


def _output_key(p: Platform, job_id: str) -> str:
    return queries.job_content(p, accounts.ensure_account(p, "alice"), job_id).key


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _refused(r: Any, code: str) -> None:
    assert r.status_code == 410, (r.status_code, r.content[:200])
    assert r.json()["error"]["code"] == code


def test_a_truncated_output_is_refused_on_every_route_never_served(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    done = _run(platform, client)
    key = _output_key(platform, done["id"])
    good = client.get(f"/v1/videos/{done['id']}/content").content
    assert hashlib.sha256(good).hexdigest() == key
    _write(platform, key, good[: len(good) // 2])

    _refused(client.get(f"/v1/videos/{done['id']}/content"), "output_damaged")
    _refused(
        client.get(f"/v1/videos/{done['id']}/content", headers={"Range": "bytes=0-9"}),
        "output_damaged",
    )
    bare = TestClient(client.app)  # the signed URL, no key (S3: refused before the redirect)
    _refused(bare.get(_path(done["output"]["url"]), follow_redirects=False), "output_damaged")
    dest = tmp_path / "dl" / "out.mp4"
    with pytest.raises(OutputUnavailable) as exc:
        queries.save_content(platform, accounts.ensure_account(platform, "alice"), done["id"], dest)
    assert exc.value.code == "output_damaged" and not dest.exists()
    assert not list(dest.parent.glob("*"))  # no partial file either


def test_a_same_size_overwrite_is_never_written_by_download_and_not_reused_by_the_cache(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    done = _run(platform, client)
    key = _output_key(platform, done["id"])
    size = len(client.get(f"/v1/videos/{done['id']}/content").content)
    _write(platform, key, b"\0" * size)  # same size: only the hash tells
    dest = tmp_path / "out.mp4"
    with pytest.raises(OutputUnavailable) as exc:
        queries.save_content(platform, accounts.ensure_account(platform, "alice"), done["id"], dest)
    assert exc.value.code == "output_damaged" and not dest.exists()

    backend = platform.backends.get("gradient")
    before = backend.generations  # type: ignore[union-attr]
    again = _run(platform, client)  # same request, same seed: renders anew
    assert again["id"] != done["id"] and again["status"] == "succeeded"
    assert backend.generations == before + 1  # type: ignore[union-attr]
    body = client.get(f"/v1/videos/{again['id']}/content")
    assert body.status_code == 200
    assert hashlib.sha256(body.content).hexdigest() == _output_key(platform, again["id"])
    # the damaged job was marked when the cache found it: it answers the clear code
    _refused(client.get(f"/v1/videos/{done['id']}/content"), "output_damaged")


def test_a_truncated_cached_output_is_not_reused(platform: Platform, client: TestClient) -> None:
    first = _run(platform, client)
    hit = _run(platform, client)
    assert hit["status"] == "succeeded" and hit["id"] != first["id"]
    key = _output_key(platform, first["id"])
    assert _output_key(platform, hit["id"]) == key  # a cache hit shares the file
    whole = client.get(f"/v1/videos/{first['id']}/content").content
    _write(platform, key, whole[:100])
    backend = platform.backends.get("gradient")
    before = backend.generations  # type: ignore[union-attr]
    fresh = _run(platform, client)
    assert fresh["status"] == "succeeded"
    assert backend.generations == before + 1  # type: ignore[union-attr]  # rendered anew
    got = client.get(f"/v1/videos/{fresh['id']}/content")
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == _output_key(platform, fresh["id"])


def test_a_deleted_output_blob_answers_output_missing_not_no_blob(
    platform: Platform, client: TestClient
) -> None:
    done = _run(platform, client)
    _write(platform, _output_key(platform, done["id"]), None)
    r = client.get(f"/v1/videos/{done['id']}/content")
    _refused(r, "output_missing")
    assert "no blob" not in r.text
    _refused(
        TestClient(client.app).get(_path(done["output"]["url"]), follow_redirects=False),
        "output_missing",
    )
    assert client.get(f"/v1/videos/{done['id']}").status_code == 200  # the video exists


def test_fsck_finds_missing_damaged_and_orphan_blobs_and_repair_marks_and_unmarks(
    platform: Platform, client: TestClient
) -> None:
    a, b, c = (_run(platform, client, {**BODY, "seed": s}) for s in (1, 2, 3))
    keys = {j["id"]: _output_key(platform, j["id"]) for j in (a, b, c)}
    clean = fsck(platform)
    assert clean.ok and clean.checked >= 6 and not clean.findings  # outputs and posters

    good_b = client.get(f"/v1/videos/{b['id']}/content").content
    _write(platform, keys[a["id"]], None)
    _write(platform, keys[b["id"]], good_b[:-1])
    size_c = len(client.get(f"/v1/videos/{c['id']}/content").content)
    _write(platform, keys[c["id"]], b"x" * size_c)
    orphan = platform.blobs.put_bytes(b"nobody needs me", "application/octet-stream")

    found = fsck(platform)
    kinds = {(f.kind, tuple(f.jobs)) for f in found.findings if f.kind != "orphan"}
    assert kinds == {
        ("missing", (a["id"],)),
        ("size_mismatch", (b["id"],)),
        ("hash_mismatch", (c["id"],)),
    }
    assert [f.key for f in found.findings if f.kind == "orphan"] == [orphan.key]
    assert not found.ok and sorted(found.marked) == sorted(keys)
    # no --repair: nothing marked; a same-size overwrite still passes the cheap size check
    assert client.get(f"/v1/videos/{c['id']}/content").status_code == 200

    repaired = fsck(platform, repair=True)
    assert sorted(repaired.marked) == sorted(keys)
    _refused(client.get(f"/v1/videos/{c['id']}/content"), "output_damaged")  # marked: hashed
    assert fsck(platform).marked == []  # marks are kept; nothing new to mark

    _write(platform, keys[b["id"]], good_b)  # restored from a backup
    restored = fsck(platform, repair=True)
    assert restored.unmarked == [b["id"]]
    assert client.get(f"/v1/videos/{b['id']}/content").content == good_b


def test_fsck_command_json_and_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reelforge.cli import app, sample_image

    for name in list(os.environ):
        if name.startswith("RF_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    cli = CliRunner()
    made = cli.invoke(
        app,
        [
            "generate",
            "--image",
            str(sample_image()),
            "--prompt",
            "zoom",
            "--duration",
            "1",
            "--json",
            "--out",
            str(tmp_path / "a.mp4"),
        ],
    )
    assert made.exit_code == 0, made.output
    ok = cli.invoke(app, ["fsck", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True
    blobs = tmp_path / "data" / "blobs"
    victim = next(
        p for p in blobs.rglob("*") if p.is_file() and len(p.name) == 64 and p.stat().st_size > 1000
    )
    victim.write_bytes(victim.read_bytes()[:1000])
    bad = cli.invoke(app, ["fsck", "--repair", "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert report["counts"]["size_mismatch"] == 1 and report["repair"] is True
    assert report["marked"] or report["findings"][0]["uploads"]
    text = cli.invoke(app, ["fsck"])
    assert text.exit_code == 1 and "size_mismatch" in text.stdout


def test_storing_the_same_bytes_again_replaces_a_damaged_copy(
    platform: Platform, tmp_path: Path
) -> None:
    data = os.urandom(50_000)
    blob = platform.blobs.put_bytes(data, "video/mp4")
    _write(platform, blob.key, data[:10])
    assert platform.blobs.put_bytes(data, "video/mp4").key == blob.key
    assert platform.blobs.get_bytes(blob.key) == data
    _write(platform, blob.key, b"y" * len(data))  # same size, other bytes
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    platform.blobs.put_file(src, "video/mp4")
    assert platform.blobs.get_bytes(blob.key) == data
    assert blob.key in set(platform.blobs.iter_keys())
