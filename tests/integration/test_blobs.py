"""Blob stores: the local directory and an S3-compatible server (moto, on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from reelforge.errors import NotFound
from reelforge.storage.blobs import BlobStore, LocalBlobStore, open_blob_store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    import boto3

    bucket = f"rf-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return open_blob_store(f"s3://{bucket}/prefix", endpoint_url=endpoint)


def test_put_get_range_and_delete(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    blob = store.put_bytes(data, "video/mp4")
    assert blob.key == hashlib.sha256(data).hexdigest() and blob.size_bytes == len(data)
    assert store.exists(blob.key) and store.size(blob.key) == len(data)
    assert store.get_bytes(blob.key) == data
    assert b"".join(store.iter_range(blob.key, 10, 1_500_000)) == data[10:1_500_001]
    dest = tmp_path / "copy"
    store.download(blob.key, dest)
    assert dest.read_bytes() == data
    src = tmp_path / "src"
    src.write_bytes(data)
    assert store.put_file(src, "video/mp4").key == blob.key  # content-addressed: same key
    store.delete(blob.key)
    assert not store.exists(blob.key)
    with pytest.raises(NotFound):
        store.get_bytes(blob.key)
    with pytest.raises(NotFound):
        store.size("../../etc/passwd")


def test_local_store_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "b")
    for i in range(5):
        store.put_bytes(bytes([i]) * 100, "application/octet-stream")
    names = [p.name for p in (tmp_path / "b").rglob("*") if p.is_file()]
    assert len(names) == 5 and not [n for n in names if n.startswith(".incoming")]


def test_a_worker_on_another_machine_reads_inputs_and_hands_back_outputs(
    s3_endpoint: str, tmp_path: Path
) -> None:
    """Two platforms that share only the database, queue and S3: API on one, worker on the
    other (separate data directories, so nothing is shared through the local disk)."""
    import boto3

    from reelforge.app.bootstrap import bootstrap
    from reelforge.services.accounts import accounts
    from reelforge.services.jobs import queries
    from reelforge.services.jobs.submit import SubmitRequest, submit_job
    from reelforge.services.jobs.uploads import create_upload
    from reelforge.worker.loop import Worker
    from tests.conftest import make_settings
    from tests.fakes import GradientBackend
    from tests.helpers import wait_final

    bucket = f"rf-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    shared = {
        "database_url": f"sqlite:///{tmp_path}/shared.db",
        "queue_url": f"sqlite:///{tmp_path}/queue.db",
        "blob_url": f"s3://{bucket}/rf",
        "s3_endpoint_url": s3_endpoint,
        "queue_namespace": "shared",
        "worker_queues": ["gradient"],
    }
    api_side = bootstrap(make_settings(tmp_path / "api", **shared), backends=[GradientBackend()])
    gpu_side = bootstrap(make_settings(tmp_path / "gpu", **shared), backends=[GradientBackend()])
    try:
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (32, 32), "blue").save(buf, "PNG")
        acct = accounts.ensure_account(api_side, "alice")
        upload = create_upload(api_side, acct, buf.getvalue(), "b.png")
        job = submit_job(
            api_side,
            acct,
            SubmitRequest.parse(
                {
                    "prompt": "x",
                    "image_upload_id": upload.id,
                    "model": "gradient",
                    "duration": 1,
                    "resolution": "480p",
                }
            ),
        ).job
        w = Worker(gpu_side).start()
        try:
            done = wait_final(api_side, acct, job["id"])
        finally:
            w.stop()
        assert done["status"] == "succeeded"
        content = queries.job_content(api_side, acct, job["id"])
        assert api_side.blobs.size(content.key) == done["output"]["size_bytes"]
        assert not (tmp_path / "api" / "data" / "blobs").exists() or not any(
            (tmp_path / "api" / "data" / "blobs").rglob("*.mp4")
        )
    finally:
        api_side.close()
        gpu_side.close()
