"""Content-addressed blob stores: uploads, outputs and posters, keyed by the SHA-256 of
their bytes. Writes are atomic and idempotent (the same bytes twice are stored once).

`LocalBlobStore` (a directory, the embedded default) and `S3BlobStore` (any S3-compatible
server, for fleets: a worker on another machine reads inputs and hands back outputs).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from reelforge.errors import BlobStoreError, InvalidSetting, NotFound

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
    def presigned_url(self, key: str, *, expires_in: int, content_type: str,
                      filename: str) -> str | None:
        """A URL the store itself serves without credentials (S3), or None (local)."""
        ...
    def presigned_url(self, key: str, *, expires_in: int, content_type: str,
                      filename: str) -> str | None:
        """A URL the store itself serves without credentials (S3), or None (local)."""
        ...


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


_F = TypeVar("_F", bound=Callable[..., Any])
_MISSING_OBJECT = ("404", "NoSuchKey", "NotFound")  # callers turn these into NotFound
_DENIED = ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
           "AllAccessDisabled", "ExpiredToken", "InvalidToken")


def _local_errors(method: _F) -> _F:
    """A local store that cannot write is a BlobStoreError with a code, not a 500."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except OSError as exc:
            raise BlobStoreError(
                f"the blob directory {self.root} is not writable ({exc.strerror or exc}): fix "
                "its permissions or free space, or set RF_BLOB_URL", code="blob_store_unwritable",
            ) from exc
    return wrapper  # type: ignore[return-value]


def _s3_errors(method: _F) -> _F:
    """S3 failures (a missing bucket, refused credentials, an endpoint that does not answer)
    as BlobStoreError with a code and the fix, instead of an opaque 500."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        where = f"s3://{self.bucket}" + (f" at {self.endpoint}" if self.endpoint else "")
        try:
            return method(self, *args, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING_OBJECT:
                raise
            if code == "NoSuchBucket":
                raise BlobStoreError(
                    f"the S3 bucket {self.bucket!r} does not exist ({where}): create it "
                    f"(aws s3 mb s3://{self.bucket}) or fix RF_BLOB_URL",
                    code="blob_bucket_missing") from exc
            if code in _DENIED:
                raise BlobStoreError(
                    f"the S3 blob store {where} refused access ({code}): check the AWS "
                    "credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or the role) and the "
                    "bucket's policy", code="blob_access_denied") from exc
            raise BlobStoreError(f"the S3 blob store {where} failed ({code or exc})",
                                 code="blob_store_error") from exc
        except NoCredentialsError as exc:
            raise BlobStoreError(
                f"no AWS credentials for {where}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or a profile or role)", code="blob_access_denied",
            ) from exc
        except BotoCoreError as exc:
            raise BlobStoreError(f"cannot reach the S3 blob store {where} ({exc}): check "
                                 "RF_S3_ENDPOINT_URL and the network",
                                 code="blob_store_unreachable") from exc
    return wrapper  # type: ignore[return-value]


def _check_key(key: str) -> str:
    if not _KEY_RE.match(key):
        raise NotFound(f"no blob {key!r}")
    return key


class LocalBlobStore:
    """Blobs as files under `root/ab/cd/<sha256>`."""

    @_local_errors
    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key[:2] / key[2:4] / key

    @_local_errors
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

    @_local_errors
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

    def presigned_url(self, key: str, *, expires_in: int, content_type: str,
                      filename: str) -> str | None:
        return None  # the API serves local blobs itself, behind its own signed URLs

    def presigned_url(self, key: str, *, expires_in: int, content_type: str,
                      filename: str) -> str | None:
        return None  # the API serves local blobs itself, behind its own signed URLs


class S3BlobStore:
    """Blobs as objects `prefix/ab/<sha256>` in an S3-compatible bucket (boto3)."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None)

    def _name(self, key: str) -> str:
        _check_key(key)
        name = f"{key[:2]}/{key}"
        return f"{self.prefix}/{name}" if self.prefix else name

    @_s3_errors
    def put_file(self, path: Path, content_type: str) -> StoredBlob:
        key = sha256_file(path)
        size = path.stat().st_size
        if not self.exists(key):
            self.client.upload_file(str(path), self.bucket, self._name(key),
                                    ExtraArgs={"ContentType": content_type})
        return StoredBlob(key, size, content_type)

    @_s3_errors
    def put_bytes(self, data: bytes, content_type: str) -> StoredBlob:
        key = hashlib.sha256(data).hexdigest()
        if not self.exists(key):
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data,
                                   ContentType=content_type)
        return StoredBlob(key, len(data), content_type)

    @_s3_errors
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

    @_s3_errors
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

    @_s3_errors
    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def presigned_url(self, key: str, *, expires_in: int, content_type: str,
                      filename: str) -> str | None:
        """A presigned GET (computed locally, no request): S3 serves the bytes and ranges."""
        params = {"Bucket": self.bucket, "Key": self._name(key),
                  "ResponseContentType": content_type,
                  "ResponseContentDisposition": f'inline; filename="{filename}"'}
        return str(self.client.generate_presigned_url("get_object", Params=params,
                                                      ExpiresIn=int(expires_in)))

    def presigned_url(self, key: str, *, expires_in: int, content_type: str,
                      filename: str) -> str | None:
        """A presigned GET (computed locally, no request): S3 serves the bytes and ranges."""
        params = {"Bucket": self.bucket, "Key": self._name(key),
                  "ResponseContentType": content_type,
                  "ResponseContentDisposition": f'inline; filename="{filename}"'}
        return str(self.client.generate_presigned_url("get_object", Params=params,
                                                      ExpiresIn=int(expires_in)))


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
    raise InvalidSetting(f"RF_BLOB_URL: unsupported blob URL {url!r}: use file:///dir or "
                         "s3://bucket/prefix")
