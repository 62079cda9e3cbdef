"""`reelforge fsck`: walk the blob store against the database.

Every blob something live needs (a succeeded or held job's output and poster, an upload not
deleted, a likeness photo) is checked: present, the size the registry recorded, and bytes
whose SHA-256 is the key (blobs are content-addressed). Stored blobs nothing live needs are
reported as orphans, leftovers of interrupted local writes as partials. Nothing is deleted.

`repair=True` marks the jobs whose output or poster is missing or damaged
(`jobs.output_damage`): they answer 410 `output_missing` / `output_damaged` and leave the
result cache (a same-seed request renders anew). A marked job whose file is intact again
(restored from a backup, or stored again by a re-render of the same bytes) is unmarked.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select, update

from reelforge.app.platform import Platform
from reelforge.storage.blobs import blob_damage, blob_size
from reelforge.storage.tables import Blob, Job, LikenessFace, Upload

log = logging.getLogger(__name__)

DAMAGE = ("missing", "size_mismatch", "hash_mismatch")


@dataclass
class Finding:
    """One blob that is not as the database says: `kind` is missing, size_mismatch,
    hash_mismatch, orphan (stored, nothing live needs it) or partial (an interrupted write)."""

    kind: str
    key: str
    jobs: list[str] = field(default_factory=list)  # the jobs whose output or poster it is
    uploads: list[str] = field(default_factory=list)
    expected_size: int | None = None
    stored_size: int | None = None


@dataclass
class FsckReport:
    checked: int = 0  # blobs something live needs, each checked
    stored: int = 0  # blobs the store holds
    findings: list[Finding] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)  # jobs marked damaged (repair)
    unmarked: list[str] = field(default_factory=list)  # jobs whose file is intact again
    repair: bool = False

    @property
    def damaged(self) -> list[Finding]:
        return [f for f in self.findings if f.kind in DAMAGE]

    @property
    def ok(self) -> bool:
        """No live blob missing or damaged (orphans and partials are only reported)."""
        return not self.damaged

    def to_dict(self) -> dict[str, Any]:
        counts = {k: 0 for k in (*DAMAGE, "orphan", "partial")}
        for f in self.findings:
            counts[f.kind] += 1
        return {
            "ok": self.ok,
            "repair": self.repair,
            "checked": self.checked,
            "stored": self.stored,
            "counts": counts,
            "findings": [asdict(f) for f in self.findings],
            "marked": self.marked,
            "unmarked": self.unmarked,
        }


def fsck(p: Platform, *, repair: bool = False) -> FsckReport:
    """Check every live blob (size and SHA-256) and list orphans; with `repair`, mark (and
    unmark) the jobs whose outputs are damaged (and restored)."""
    report = FsckReport(repair=repair)
    with p.db.session(write=False) as s:
        sizes = {k: n for k, n in s.execute(select(Blob.key, Blob.size_bytes))}
        outputs: dict[str, list[str]] = {}
        marks: dict[str, str | None] = {}  # job -> its output_damage mark
        job_blobs: dict[str, list[str]] = {}
        rows = s.execute(
            select(Job.id, Job.output_blob, Job.poster_blob, Job.output_damage)
            .where(Job.output_blob.is_not(None), Job.purged_at.is_(None), Job.deleted_at.is_(None))
            .order_by(Job.id)
        )
        for job_id, out_key, poster_key, damage in rows:
            job_blobs[job_id] = [k for k in (out_key, poster_key) if k]
            for key in job_blobs[job_id]:
                outputs.setdefault(key, []).append(job_id)
            marks[job_id] = damage
        uploads: dict[str, list[str]] = {}
        for upload_id, key in s.execute(
            select(Upload.id, Upload.blob_key).where(Upload.deleted_at.is_(None))
        ):
            uploads.setdefault(key, []).append(upload_id)
        faces = {k for k in s.scalars(select(LikenessFace.photo_blob)) if k}

    live = sorted(set(outputs) | set(uploads) | faces)
    bad: dict[str, str] = {}
    for key in live:
        report.checked += 1
        damage = blob_damage(p.blobs, key, sizes.get(key), full=True)
        if damage is None:
            continue
        bad[key] = damage
        stored = None if damage == "missing" else blob_size(p.blobs, key)
        report.findings.append(
            Finding(damage, key, outputs.get(key, []), uploads.get(key, []), sizes.get(key), stored)
        )
        log.warning(
            "fsck: blob %s is %s (jobs %s, uploads %s)",
            key,
            damage,
            outputs.get(key, []),
            uploads.get(key, []),
        )

    stored_keys = set()
    for key in p.blobs.iter_keys():
        stored_keys.add(key)
        if key not in outputs and key not in uploads and key not in faces:
            report.findings.append(
                Finding(
                    "orphan", key, stored_size=blob_size(p.blobs, key), expected_size=sizes.get(key)
                )
            )
    report.stored = len(stored_keys)
    report.findings.extend(Finding("partial", name) for name in p.blobs.partials())

    for job_id, damage in marks.items():
        found = next((bad[k] for k in job_blobs.get(job_id, []) if k in bad), None)
        if found is not None and damage is None:
            report.marked.append(job_id)
        elif found is None and damage is not None:
            report.unmarked.append(job_id)
    if repair:
        _apply(p, report, job_blobs, bad)
    return report


def _apply(
    p: Platform, report: FsckReport, job_blobs: dict[str, list[str]], bad: dict[str, str]
) -> None:
    with p.db.session() as s:
        for job_id in report.marked:
            damage = next(bad[k] for k in job_blobs[job_id] if k in bad)
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.output_damage.is_(None))
                .values(output_damage=damage)
            )
        if report.unmarked:
            s.execute(update(Job).where(Job.id.in_(report.unmarked)).values(output_damage=None))
    if report.marked or report.unmarked:
        log.warning(
            "fsck: marked %d job(s) damaged, unmarked %d restored",
            len(report.marked),
            len(report.unmarked),
        )
