"""Uploads: validated fully before a byte is stored; stored by content hash; recorded in
one transaction. A failure after the blob is written removes the blob again. The same bytes
uploaded again by the same account return the same upload (so a retried submit that names
it is the same request), until that upload is deleted."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.domain.job import new_id
from reelforge.errors import Conflict, NotFound, PayloadTooLarge
from reelforge.media.images import inspect_image, keep_decoded
from reelforge.services.jobs.edge import check_text
from reelforge.services.jobs.retention import remove_unused_blobs
from reelforge.storage import repositories as repo
from reelforge.storage.blobs import StoredBlob
from reelforge.storage.tables import Upload


@dataclass(frozen=True)
class UploadView:
    id: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    filename: str | None
    created_at: datetime
    sha256: str = ""
    deleted_at: datetime | None = None
    existing: bool = False  # the account had uploaded these bytes before: the same upload

    @classmethod
    def of(cls, row: Upload, *, existing: bool = False) -> UploadView:
        return cls(
            row.id,
            row.content_type,
            row.size_bytes,
            row.width,
            row.height,
            row.filename,
            row.created_at,
            row.blob_key,
            row.deleted_at,
            existing,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "object": "upload",
            "content_type": self.content_type,
            "size_bytes": self.size_bytes,
            "width": self.width,
            "height": self.height,
            "filename": self.filename,
            "sha256": self.sha256,
            "created_at": self.created_at.isoformat(),
            "deleted": self.deleted_at is not None,
            "deleted_at": self.deleted_at.isoformat() if self.deleted_at else None,
        }


def decode_once() -> None:
    """This process uploads, moderates and renders its images itself (`reelforge generate`):
    keep each decoded image, so one upload is decoded once instead of three times."""
    keep_decoded(2)  # an image and a last image


def create_upload(
    p: Platform, account: AccountRef, data: bytes, filename: str | None = None
) -> UploadView:
    if len(data) > p.settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"upload is {len(data)} bytes; the limit is {p.settings.max_upload_bytes} bytes"
        )
    info = inspect_image(data, max_pixels=p.settings.max_image_pixels)
    key = hashlib.sha256(data).hexdigest()
    with p.db.session(write=False) as s:
        same = repo.upload_with_content(s, account.id, key)
        if same is not None and p.blobs.exists(key):
            return UploadView.of(same, existing=True)
    existed = p.blobs.exists(key)
    stored = p.blobs.put_bytes(data, info.content_type)
    try:
        with p.db.session() as s:
            now = p.clock()
            repo.register_blob(s, stored, now)
            row = Upload(
                id=new_id("upl"),
                account_id=account.id,
                blob_key=stored.key,
                filename=(filename or None) and filename[:255],
                content_type=info.content_type,
                size_bytes=len(data),
                width=info.width,
                height=info.height,
                created_at=now,
            )
            s.add(row)
            s.flush()
            return UploadView.of(row)
    except BaseException:
        if not existed:
            discard_unreferenced_blob(p, stored)
        raise


def discard_unreferenced_blob(p: Platform, blob: StoredBlob) -> None:
    """Delete a blob this process just wrote if no row refers to it (best effort)."""
    with p.db.session(write=False) as s:
        referenced = repo.blob_is_referenced(s, blob.key)
    if not referenced:
        p.blobs.delete(blob.key)


def get_upload(p: Platform, account: AccountRef, upload_id: str) -> UploadView:
    check_text(upload_id, "upload_id", 40)
    with p.db.session(write=False) as s:
        row = repo.upload_for(s, account.id, upload_id, deleted=True)
        if row is None:
            raise NotFound(f"no upload {upload_id}", code="upload_not_found")
        return UploadView.of(row)


def delete_upload(p: Platform, account: AccountRef, upload_id: str) -> UploadView:
    """Remove an upload's image; the row stays, marked deleted (audit, job history). Refused
    (`upload_in_use`) while a job that is not final reads it. Idempotent."""
    check_text(upload_id, "upload_id", 40)
    now = p.clock()
    with p.db.session() as s:
        row = repo.upload_for(s, account.id, upload_id, deleted=True)
        if row is None:
            raise NotFound(f"no upload {upload_id}", code="upload_not_found")
        if row.deleted_at is not None:
            return UploadView.of(row)
        user = repo.upload_in_use(s, upload_id)
        if user is not None:
            raise Conflict(
                f"upload {upload_id} is an input of video {user}, which has not "
                f"finished; cancel or wait for it, then delete the upload",
                code="upload_in_use",
            )
        row.deleted_at = now
        repo.record_audit(
            s,
            now,
            actor=f"account:{account.id}",
            action="upload.delete",
            account_id=account.id,
            subject=upload_id,
            data={"blob": row.blob_key},
        )
        s.flush()
        view, key = UploadView.of(row), row.blob_key
    remove_unused_blobs(p, [key])
    return view
