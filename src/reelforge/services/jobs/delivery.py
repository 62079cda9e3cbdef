"""Delivery: absolute, signed, expiring output URLs that a browser or a CDN fetches without
the API key, and the checks of the unauthenticated route that serves them.

A URL is `{public_url}/v1/files/{job_id}/{video.mp4|poster.jpg}?expires=EPOCH&sig=HMAC`,
with HMAC-SHA256 over the job id, the file and the expiry under the fleet's URL key (the
`url_signing_secret` setting, else a key derived from the fleet's provenance secret, so any
node signs and any node checks). On an S3 blob store the route answers with a redirect to a
presigned S3 URL that ends when the signed URL ends; on a local store it serves the bytes,
with ranges.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from reelforge.app.platform import Platform
from reelforge.domain.job import JobStatus
from reelforge.errors import Forbidden, NotFound, OutputUnavailable
from reelforge.services.jobs.edge import has_control
from reelforge.storage import fleet_secrets
from reelforge.storage import repositories as repo
from reelforge.storage.blobs import blob_damage
from reelforge.storage.db import Database
from reelforge.storage.tables import Blob, Job

log = logging.getLogger(__name__)

FILES = {"video.mp4": ("video/mp4", "mp4"), "poster.jpg": ("image/jpeg", "jpg")}
_KEY_CONTEXT = b"reelforge/output-url-signing/v1"
_MAX_SIG_CHARS = 64


_DERIVED: weakref.WeakKeyDictionary[Database, bytes] = weakref.WeakKeyDictionary()


def url_key(p: Platform) -> bytes:
    """The key output URLs are signed with: one for the whole fleet. Call it outside a write
    transaction (the first call of a deployment may store the fleet's provenance secret)."""
    configured = p.settings.url_signing_secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    key = _DERIVED.get(p.db)
    if key is None:
        # Derived, never the provenance secret itself: a leaked URL key forges links only.
        secret = fleet_secrets.aigc_secret(
            p.db, p.settings.provenance_secret, p.settings.data_dir, p.clock
        )
        key = hmac.new(secret, _KEY_CONTEXT, hashlib.sha256).digest()
        _DERIVED[p.db] = key  # it never changes while the process runs
    return key


def output_unavailable(job_id: str, damage: str, what: str = "output") -> OutputUnavailable:
    """The error a missing (`output_missing`) or damaged (`output_damaged`) file answers."""
    if damage == "missing":
        return OutputUnavailable(
            f"the {what} of video {job_id} is missing from the blob store; submit the request "
            "again (with the same seed it renders anew)",
            code="output_missing",
        )
    return OutputUnavailable(
        f"the {what} of video {job_id} is damaged ({damage.replace('_', ' ')}) and is not "
        "served; submit the request again (with the same seed it renders anew)",
        code="output_damaged",
    )


def verified_size(
    p: Platform, job_id: str, key: str, marked: str | None, *, what: str = "output"
) -> int:
    """The size of a job's stored file once it is known to be the file the job stored: the
    size against the blob registry always (one stat or HEAD), every byte's hash too when
    `reelforge fsck --repair` marked it (`marked`), so a restored file is served again.
    Raises OutputUnavailable (410) instead of serving missing or corrupt bytes."""
    with p.db.session(write=False) as s:
        expected = s.scalar(select(Blob.size_bytes).where(Blob.key == key))
    damage = blob_damage(p.blobs, key, expected, full=marked is not None)
    if damage is not None:
        log.warning("refusing to serve the %s of %s: blob %s %s", what, job_id, key, damage)
        raise output_unavailable(job_id, damage, what)
    return int(expected) if expected is not None else p.blobs.size(key)


def _signature(key: bytes, job_id: str, name: str, expires: int) -> str:
    mac = hmac.new(key, f"{job_id}\n{name}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


@dataclass(frozen=True)
class OutputLinks:
    """Makes the signed URLs of outputs; build one per request (it holds the key)."""

    base: str
    key: bytes
    ttl: int
    now: datetime

    @classmethod
    def for_platform(cls, p: Platform) -> OutputLinks:
        return cls(
            p.settings.public_url.rstrip("/"), url_key(p), p.settings.signed_url_ttl, p.clock()
        )

    def expires_at(self, job: Job) -> datetime:
        """When a URL made now stops working: the TTL, or the output's own expiry if sooner."""
        until = self.now + timedelta(seconds=self.ttl)
        if job.expires_at is not None and job.expires_at < until:
            until = job.expires_at
        return until

    def url(self, job: Job, name: str) -> str:
        expires = int(self.expires_at(job).timestamp())
        sig = _signature(self.key, job.id, name, expires)
        return f"{self.base}/v1/files/{quote(job.id, safe='')}/{name}?expires={expires}&sig={sig}"

    def output_fields(self, job: Job) -> dict[str, Any]:
        """The delivery part of a job's `output`: absolute signed URLs while the files exist."""
        removed = job.purged_at is not None or job.deleted_at is not None
        fields: dict[str, Any] = {
            "content_url": None if removed else f"/v1/videos/{job.id}/content",
            "expires_at": job.expires_at.isoformat() if job.expires_at else None,
            "removed_at": job.purged_at.isoformat() if job.purged_at else None,
            "url": None,
            "poster_url": None,
            "url_expires_at": None,
        }
        if removed or (job.expires_at is not None and job.expires_at <= self.now):
            return fields
        fields["url"] = self.url(job, "video.mp4")
        fields["poster_url"] = self.url(job, "poster.jpg") if job.poster_blob else None
        fields["url_expires_at"] = self.expires_at(job).isoformat()
        return fields


@dataclass(frozen=True)
class SignedFile:
    key: str
    size: int
    content_type: str
    filename: str
    expires: int  # epoch seconds the signed URL ends
    max_age: int  # how long a cache may keep it: never past the URL's end

    def iter_range(self, p: Platform, start: int, end: int) -> Iterator[bytes]:
        return p.blobs.iter_range(self.key, start, end)


def check_signed(
    p: Platform, job_id: str, name: str, expires: str | None, sig: str | None
) -> SignedFile:
    """The file a signed URL names, if its signature is right and it has not expired."""
    if name not in FILES or len(job_id) > 40 or has_control(job_id):
        raise NotFound("no such file", code="not_found")
    if (
        not expires
        or not sig
        or not expires.isdigit()
        or len(expires) > 12
        or len(sig) > _MAX_SIG_CHARS
    ):
        raise Forbidden(
            "this URL is not signed: fetch a fresh one from the job "
            "(GET /v1/videos/{id} → output.url)",
            code="invalid_url_signature",
        )
    expected = _signature(url_key(p), job_id, name, int(expires))
    # Bytes, not str: compare_digest raises TypeError on non-ASCII str.
    if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
        raise Forbidden(
            "this URL's signature does not match; fetch a fresh one from the job "
            "(GET /v1/videos/{id} → output.url)",
            code="invalid_url_signature",
        )
    now = p.clock()
    if int(expires) <= int(now.timestamp()):
        raise Forbidden(
            "this URL has expired; fetch a fresh one from the job "
            "(GET /v1/videos/{id} → output.url)",
            code="url_expired",
        )
    with p.db.session(write=False) as s:
        job = repo.job_for(s, job_id, None)
        if job is None:
            raise NotFound("no such file")
        key = job.poster_blob if name == "poster.jpg" else job.output_blob
        marked = job.output_damage
        gone = (
            job.deleted_at is not None
            or job.purged_at is not None
            or (job.expires_at is not None and job.expires_at <= now)
        )
        if job.status != JobStatus.SUCCEEDED or not key:
            raise NotFound("no such file")
    if gone:
        raise NotFound(f"the output of {job_id} was deleted", code="content_deleted")
    content_type, ext = FILES[name]
    max_age = max(0, min(3600, int(expires) - int(now.timestamp())))
    size = verified_size(
        p, job_id, key, marked, what="poster" if name == "poster.jpg" else "output"
    )
    return SignedFile(key, size, content_type, f"{job_id}.{ext}", int(expires), max_age)


def redirect_url(p: Platform, f: SignedFile) -> str | None:
    """A presigned URL of the store (S3) that ends with the signed URL, or None (local)."""
    remaining = max(1, f.expires - int(p.clock().timestamp()))
    return p.blobs.presigned_url(
        f.key, expires_in=min(remaining, 604_800), content_type=f.content_type, filename=f.filename
    )


def with_signed_links(p: Platform, job_id: str, payload: str) -> str:
    """A stored webhook body (the job object) with its output URLs signed now."""
    try:
        data = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(data, dict) or not isinstance(data.get("output"), dict):
        return payload
    links = OutputLinks.for_platform(p)
    with p.db.session(write=False) as s:
        job = repo.job_for(s, job_id, None)
        if job is None:
            return payload
        data["output"].update(links.output_fields(job))
    return json.dumps(data, separators=(",", ":"))
