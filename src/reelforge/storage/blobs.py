"""Content-addressed blob stores: uploads, outputs and posters, keyed by the SHA-256 of
their bytes. Writes are atomic and idempotent (the same bytes twice are stored once).

`LocalBlobStore` (a directory, the embedded default) and `S3BlobStore` (any S3-compatible
server, for fleets: a worker on another machine reads inputs and hands back outputs).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from reelforge.errors import NotFound

CHUNK = 1024 * 1024
_KEY_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size_bytes: int
    content_type: str


class BlobStore(Protocol):
    def put_file(self, path: Path, content_type: str) -> StoredBlob: ...
    def put_bytes(self, data: bytes, content_type: str) -> StoredBlob: ...
    def get_bytes(self, key: str) -> bytes: ...
    def download(self, key: str, dest: Path) -> None: ...
    def size(self, key: str) -> int: ...
    def iter_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end inclusive, in chunks."""
        ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _check_key(key: str) -> str:
    if not _KEY_RE.match(key):
        raise NotFound(f"no blob {key!r}")
    return key


class LocalBlobStore:
    """Blobs as files under `root/ab/cd/<sha256>`."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put_file(self, path: Path, content_type: str) -> StoredBlob:
        key = sha256_file(path)
        dest = self._path(key)
        size = path.stat().st_size
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                    shutil.copyfileobj(src, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredBlob(key, size, content_type)

    def put_bytes(self, data: bytes, content_type: str) -> StoredBlob:
        key = hashlib.sha256(data).hexdigest()
        dest = self._path(key)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredBlob(key, len(data), content_type)

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(f"no blob {key}")
        return path

    def get_bytes(self, key: str) -> bytes:
        return self._existing(key).read_bytes()

    def download(self, key: str, dest: Path) -> None:
        shutil.copyfile(self._existing(key), dest)

    def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    def iter_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        path = self._existing(key)
        with open(path, "rb") as fh:
            fh.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = fh.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3BlobStore:
    """Blobs as objects `prefix/ab/<sha256>` in an S3-compatible bucket (boto3)."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def _name(self, key: str) -> str:
        _check_key(key)
        name = f"{key[:2]}/{key}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def put_file(self, path: Path, content_type: str) -> StoredBlob:
        key = sha256_file(path)
        size = path.stat().st_size
        if not self.exists(key):
            self.client.upload_file(str(path), self.bucket, self._name(key),
                                    ExtraArgs={"ContentType": content_type})
        return StoredBlob(key, size, content_type)

    def put_bytes(self, data: bytes, content_type: str) -> StoredBlob:
        key = hashlib.sha256(data).hexdigest()
        if not self.exists(key):
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data,
                                   ContentType=content_type)
        return StoredBlob(key, len(data), content_type)

    def _get(self, key: str, **kwargs: Any) -> Any:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key), **kwargs)
        except self.client.exceptions.NoSuchKey as exc:
            raise NotFound(f"no blob {key}") from exc

    def get_bytes(self, key: str) -> bytes:
        return bytes(self._get(key)["Body"].read())

    def download(self, key: str, dest: Path) -> None:
        body = self._get(key)["Body"]
        with open(dest, "wb") as out:
            for chunk in body.iter_chunks(CHUNK):
                out.write(chunk)

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"no blob {key}") from exc
            raise
        return int(head["ContentLength"])

    def iter_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        body = self._get(key, Range=f"bytes={start}-{end}")["Body"]
        yield from body.iter_chunks(CHUNK)

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))


def open_blob_store(url: str, *, endpoint_url: str | None = None,
                    region: str = "us-east-1") -> BlobStore:
    """file:///path → LocalBlobStore; s3://bucket/prefix → S3BlobStore (needs reelforge[s3])."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalBlobStore(Path(parts.path))
    if parts.scheme == "s3":
        try:
            import boto3
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("s3:// blob URLs need boto3: pip install 'reelforge[s3]'") from exc
        client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        return S3BlobStore(parts.netloc, parts.path, client=client)
    raise ValueError(f"unsupported blob URL {url!r}: use file:///dir or s3://bucket/prefix")
