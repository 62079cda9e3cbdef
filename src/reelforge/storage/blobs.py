"""Content-addressed blob stores: uploads, outputs and posters, keyed by the SHA-256 of
their bytes. Writes are atomic and idempotent (the same bytes twice are stored once).

`LocalBlobStore` (a directory, the embedded default) and `S3BlobStore` (any S3-compatible
server, for fleets: a worker on another machine reads inputs and hands back outputs).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar
from urllib.parse import urlsplit

from reelforge.atomic import atomic_writer, write_atomic
from reelforge.errors import BlobStoreError, InvalidSetting, NotFound

CHUNK = 1024 * 1024
_KEY_RE = re.compile(r"^[0-9a-f]{64}$")
INCOMING = ".incoming-"  # a blob being written (fsck lists the ones a crash left)


def _incoming(dest: Path) -> contextlib.AbstractContextManager[BinaryIO]:
    """A blob's bytes, written whole (durable before the rename) or not at all."""
    return atomic_writer(dest, prefix=INCOMING, mode=0o600, fsync=True)


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
    def iter_keys(self) -> Iterator[str]:
        """Every blob key the store holds (for `reelforge fsck`)."""
        ...

    def partials(self) -> list[str]:
        """Leftovers of interrupted writes (local temp files), for `reelforge fsck`."""
        ...

    def presigned_url(
        self, key: str, *, expires_in: int, content_type: str, filename: str
    ) -> str | None:
        """A URL the store itself serves without credentials (S3), or None (local)."""
        ...


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def blob_size(store: BlobStore, key: str) -> int | None:
    """The stored size of a blob, or None if the store does not have it (one stat/HEAD)."""
    try:
        return store.size(key)
    except NotFound:
        return None


def blob_sha256(store: BlobStore, key: str) -> str | None:
    """The SHA-256 of a blob's stored bytes (read in full, streamed), or None if missing.
    Content-addressed: an intact blob's digest is its key."""
    size = blob_size(store, key)
    if size is None:
        return None
    h = hashlib.sha256()
    try:
        if size:
            for chunk in store.iter_range(key, 0, size - 1):
                h.update(chunk)
    except NotFound:
        return None
    return h.hexdigest()


def blob_damage(
    store: BlobStore, key: str, expected_size: int | None, *, full: bool = False
) -> str | None:
    """What is wrong with a stored blob: `missing`, `size_mismatch`, `hash_mismatch` (only
    looked for when `full`: it reads every byte), or None when it is intact."""
    size = blob_size(store, key)
    if size is None:
        return "missing"
    if expected_size is not None and size != expected_size:
        return "size_mismatch"
    if full:
        digest = blob_sha256(store, key)
        if digest is None:
            return "missing"
        if digest != key:
            return "hash_mismatch"
    return None


_F = TypeVar("_F", bound=Callable[..., Any])
_MISSING_OBJECT = ("404", "NoSuchKey", "NotFound")  # callers turn these into NotFound
_FULL = (errno.ENOSPC, errno.EDQUOT)
_DENIED = (
    "403",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidToken",
)


def _local_errors(method: _F) -> _F:
    """A local store that cannot write is a BlobStoreError with a code, not a 500."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except OSError as exc:
            if exc.errno in _FULL:
                raise BlobStoreError(
                    f"the blob directory {self.root} is full ({exc.strerror or exc}): free "
                    "space or move RF_BLOB_URL to a larger disk",
                    code="blob_store_full",
                ) from exc
            raise BlobStoreError(
                f"the blob directory {self.root} is not writable ({exc.strerror or exc}): fix "
                "its permissions or free space, or set RF_BLOB_URL",
                code="blob_store_unwritable",
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
                    code="blob_bucket_missing",
                ) from exc
            if code in _DENIED:
                raise BlobStoreError(
                    f"the S3 blob store {where} refused access ({code}): check the AWS "
                    "credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or the role) and the "
                    "bucket's policy",
                    code="blob_access_denied",
                ) from exc
            raise BlobStoreError(
                f"the S3 blob store {where} failed ({code or exc})", code="blob_store_error"
            ) from exc
        except NoCredentialsError as exc:
            raise BlobStoreError(
                f"no AWS credentials for {where}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or a profile or role)",
                code="blob_access_denied",
            ) from exc
        except BotoCoreError as exc:
            raise BlobStoreError(
                f"cannot reach the S3 blob store {where} ({exc}): check "
                "RF_S3_ENDPOINT_URL and the network",
                code="blob_store_unreachable",
            ) from exc

    return wrapper  # type: ignore[return-value]


def _check_key(key: str) -> str:
    if not _KEY_RE.match(key):
        raise NotFound(f"no blob {key!r}")
    return key


def _intact_file(dest: Path, key: str, size: int) -> bool:
    """Whether `dest` already holds these bytes (size first: the hash only when it matches)."""
    try:
        if dest.stat().st_size != size:
            return False
    except FileNotFoundError:
        return False
    return sha256_file(dest) == key


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
        if not _intact_file(dest, key, size):  # a damaged copy is replaced, not kept
            dest.parent.mkdir(parents=True, exist_ok=True)
            with _incoming(dest) as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
        return StoredBlob(key, size, content_type)

    @_local_errors
    def put_bytes(self, data: bytes, content_type: str) -> StoredBlob:
        key = hashlib.sha256(data).hexdigest()
        dest = self._path(key)
        if not _intact_file(dest, key, len(data)):  # a damaged copy is replaced, not kept
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(dest, data, prefix=INCOMING, mode=0o600, fsync=True)
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

    def iter_keys(self) -> Iterator[str]:
        for path in self.root.glob("??/??/*"):
            if (
                _KEY_RE.match(path.name)
                and path.is_file()
                and path.parent.parent.name == path.name[:2]
                and path.parent.name == path.name[2:4]
            ):
                yield path.name

    def partials(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.glob(f"??/??/{INCOMING}*"))

    def presigned_url(
        self, key: str, *, expires_in: int, content_type: str, filename: str
    ) -> str | None:
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
        if not self._intact(key, size):  # a damaged object is replaced, not kept
            self.client.upload_file(
                str(path), self.bucket, self._name(key), ExtraArgs={"ContentType": content_type}
            )
        return StoredBlob(key, size, content_type)

    @_s3_errors
    def put_bytes(self, data: bytes, content_type: str) -> StoredBlob:
        key = hashlib.sha256(data).hexdigest()
        if not self._intact(key, len(data)):
            self.client.put_object(
                Bucket=self.bucket, Key=self._name(key), Body=data, ContentType=content_type
            )
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

    def _intact(self, key: str, size: int) -> bool:
        # Rare (the same bytes stored twice): reading them back costs what a re-upload would.
        return blob_size(self, key) == size and blob_sha256(self, key) == key

    @_s3_errors
    def iter_keys(self) -> Iterator[str]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                name = str(obj["Key"])[len(prefix) :]
                shard, _, key = name.partition("/")
                if _KEY_RE.match(key) and shard == key[:2]:
                    yield key

    def partials(self) -> list[str]:
        return []  # an S3 PUT is atomic: an interrupted upload leaves nothing

    def presigned_url(
        self, key: str, *, expires_in: int, content_type: str, filename: str
    ) -> str | None:
        """A presigned GET (computed locally, no request): S3 serves the bytes and ranges."""
        params = {
            "Bucket": self.bucket,
            "Key": self._name(key),
            "ResponseContentType": content_type,
            "ResponseContentDisposition": f'inline; filename="{filename}"',
        }
        return str(
            self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(expires_in)
            )
        )


def open_blob_store(
    url: str, *, endpoint_url: str | None = None, region: str = "us-east-1"
) -> BlobStore:
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
    raise InvalidSetting(
        f"RF_BLOB_URL: unsupported blob URL {url!r}: use file:///dir or s3://bucket/prefix"
    )
