"""Uploads: validated fully before a byte is stored; stored by content hash; recorded in
one transaction. A failure after the blob is written removes the blob again."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from reelforge.domain.job import new_id
from reelforge.errors import PayloadTooLarge
from reelforge.media.images import inspect_image
from reelforge.services.accounts import AccountRef
from reelforge.services.platform import Platform
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

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "object": "upload", "content_type": self.content_type,
                "size_bytes": self.size_bytes, "width": self.width, "height": self.height,
                "filename": self.filename, "created_at": self.created_at.isoformat()}


def create_upload(p: Platform, account: AccountRef, data: bytes,
                  filename: str | None = None) -> UploadView:
    if len(data) > p.settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"upload is {len(data)} bytes; the limit is {p.settings.max_upload_bytes} bytes")
    info = inspect_image(data, max_pixels=p.settings.max_image_pixels)
    key = hashlib.sha256(data).hexdigest()
    existed = p.blobs.exists(key)
    stored = p.blobs.put_bytes(data, info.content_type)
    try:
        with p.db.session() as s:
            now = p.clock()
            repo.register_blob(s, stored, now)
            row = Upload(id=new_id("upl"), account_id=account.id, blob_key=stored.key,
                         filename=(filename or None) and filename[:255],
                         content_type=info.content_type, size_bytes=len(data),
                         width=info.width, height=info.height, created_at=now)
            s.add(row)
            s.flush()
            return UploadView(row.id, row.content_type, row.size_bytes, row.width, row.height,
                              row.filename, row.created_at)
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
