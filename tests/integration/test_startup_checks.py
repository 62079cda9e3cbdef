"""Start-up checks with one-line fixes (issue 12 item 9): the database reachable and migrated,
the queue reachable, the blob store's bucket existing and writable, the data directory
writable — at `reelforge serve`/`worker` start and in /healthz; a blob store failure is a
typed error with a code, not 500 internal_error; `reelforge migrate` on a missing or
unreachable database prints one line."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.checks import startup_checks
from reelforge.cli import app as cli_app
from reelforge.services.accounts import accounts
from tests.conftest import PG_URL, make_settings
from tests.fakes import GradientBackend


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(buf, "PNG")
    return buf.getvalue()


def _one_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_a_missing_bucket_is_a_typed_error_a_failed_check_and_a_degraded_health(
    s3_endpoint: str, tmp_path: Path
) -> None:
    import boto3

    bucket = f"rf-missing-{os.urandom(4).hex()}"
    settings = make_settings(tmp_path, blob_url=f"s3://{bucket}/rf", s3_endpoint_url=s3_endpoint)
    p = bootstrap(settings, backends=[GradientBackend()])
    try:
        blobs = next(c for c in startup_checks(p) if c.name == "blobs")
        assert not blobs.ok and blobs.code == "blob_bucket_missing"
        assert bucket in blobs.detail and blobs.fix and "RF_BLOB_URL" in blobs.fix
        key = accounts.create_api_key(p, "alice").key
        with TestClient(create_app(p)) as client:
            client.headers["Authorization"] = f"Bearer {key}"
            r = client.post("/v1/uploads", files={"file": ("a.png", _png(), "image/png")})
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "blob_bucket_missing"
            assert bucket in r.json()["error"]["message"]
            health = client.get("/healthz")
            assert health.status_code == 503
            assert health.json()["blobs"].startswith("error: blob_bucket_missing")
            boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
                Bucket=bucket
            )
            assert all(c.ok for c in startup_checks(p)), startup_checks(p)
            health = client.get("/healthz")
            assert health.status_code == 200 and health.json()["blobs"] == "ok", health.json()
            r = client.post("/v1/uploads", files={"file": ("a.png", _png(), "image/png")})
            assert r.status_code == 201, r.text
    finally:
        p.close()


def test_the_worker_refuses_to_start_on_a_missing_bucket(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RF_BLOB_URL", "s3://rf-not-there/rf")
    monkeypatch.setenv("RF_S3_ENDPOINT_URL", s3_endpoint)
    result = CliRunner().invoke(cli_app, ["worker"])
    assert result.exit_code == 1, result.output
    assert "blob_bucket_missing" in result.output and "rf-not-there" in result.output
    assert "Traceback" not in result.output


def test_checks_report_what_was_migrated_and_each_part(tmp_path: Path) -> None:
    p = bootstrap(make_settings(tmp_path), backends=[GradientBackend()])
    try:
        checks = {c.name: c for c in startup_checks(p)}
        assert set(checks) >= {"database", "queue", "blobs", "data_dir", "provenance"}
        assert all(c.ok for c in checks.values()), checks
        assert "applied now: 0001" in checks["database"].detail  # a fresh database
    finally:
        p.close()
    p = bootstrap(make_settings(tmp_path), backends=[GradientBackend()])
    try:
        database = next(c for c in startup_checks(p) if c.name == "database")
        assert "applied now" not in database.detail and "newest schema" in database.detail
    finally:
        p.close()


def test_an_unreachable_queue_fails_its_check(tmp_path: Path) -> None:
    p = bootstrap(
        make_settings(tmp_path, queue_url="redis://127.0.0.1:1/0"), backends=[GradientBackend()]
    )
    try:
        queue = next(c for c in startup_checks(p) if c.name == "queue")
        assert not queue.ok and queue.code == "queue_unreachable"
        assert queue.fix and "RF_QUEUE_URL" in queue.fix and "127.0.0.1:1" in queue.detail
    finally:
        p.close()


def test_migrate_prints_what_it_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    first = CliRunner().invoke(cli_app, ["migrate"])
    assert first.exit_code == 0, first.output
    assert "applied" in first.output and "0001" in first.output
    again = CliRunner().invoke(cli_app, ["migrate"])
    assert again.exit_code == 0 and "nothing to apply" in again.output, again.output


def test_migrate_on_a_missing_or_unreachable_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    base = PG_URL.rsplit("/", 1)[0]
    monkeypatch.setenv("RF_DATABASE_URL", "postgresql://rf:pw@127.0.0.1:1/nowhere")
    result = CliRunner().invoke(cli_app, ["migrate"])
    assert result.exit_code == 1
    line = _one_line(result.output)
    assert "database_unreachable" in line and "RF_DATABASE_URL" in line and "pw" not in line
    from tests.conftest import _postgres_reachable

    if _postgres_reachable() is None:
        monkeypatch.setenv("RF_DATABASE_URL", f"{base}/rf_missing_{os.urandom(3).hex()}")
        result = CliRunner().invoke(cli_app, ["migrate"])
        assert result.exit_code == 1
        line = _one_line(result.output)
        assert "database_missing" in line and "CREATE DATABASE" in line
    file = tmp_path / "a-file"
    file.write_text("")
    monkeypatch.delenv("RF_DATABASE_URL")
    monkeypatch.setenv("RF_DATA_DIR", str(file / "data"))
    result = CliRunner().invoke(cli_app, ["migrate"])
    assert result.exit_code == 1
    assert "data_dir_not_writable" in _one_line(result.output)


def test_a_data_directory_that_stops_taking_writes_fails_its_check_and_health(
    tmp_path: Path,
) -> None:
    """The data directory is tried for real at start-up and on every /healthz: one that can
    no longer be written (here: a path through a file, as root ignores permission bits) is an
    error with its fix, and /healthz says degraded with the same code."""
    p = bootstrap(make_settings(tmp_path), backends=[GradientBackend()])
    try:
        with TestClient(create_app(p)) as client:
            assert client.get("/healthz").json()["data_dir"] == "ok"
            blocker = tmp_path / "a-file"
            blocker.write_text("")
            p.settings.data_dir = blocker / "data"
            check = next(c for c in startup_checks(p) if c.name == "data_dir")
            assert not check.ok and check.code == "data_dir_not_writable"
            assert str(blocker / "data") in check.detail and check.fix
            assert "RF_DATA_DIR" in check.fix
            health = client.get("/healthz")
            assert health.status_code == 503, health.json()
            assert health.json()["status"] == "degraded"
            assert health.json()["data_dir"].startswith("error: data_dir_not_writable")
    finally:
        p.close()


def test_a_missing_role_is_not_called_a_missing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL says `role "x" does not exist` for an unknown user: the one line names the
    role and how to fix it, never "create the database" (which exists)."""
    from tests.conftest import _postgres_reachable

    if _postgres_reachable() is not None:
        pytest.skip(_postgres_reachable() or "")
    role = f"rf_nobody_{os.urandom(3).hex()}"
    host_and_db = PG_URL.split("@", 1)[1]
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RF_DATABASE_URL", f"postgresql://{role}:pw@{host_and_db}")
    result = CliRunner().invoke(cli_app, ["migrate"])
    assert result.exit_code == 1
    line = _one_line(result.output)
    assert "database_access_denied" in line and "database_missing" not in line, line
    assert role in line and "CREATE ROLE" in line and "RF_DATABASE_URL" in line
    assert "CREATE DATABASE" not in line and ":pw@" not in line
