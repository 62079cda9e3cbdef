"""What a reviewer sees of a held job: its prompt and settings, the input images, the output
frames the policy sampled (for a job held on its output) and the moderation signals the
audit log recorded. Images are decoded with the usual limits and re-encoded as JPEG previews,
so the console never serves a stored upload's bytes as they came."""

from __future__ import annotations

import io
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import select

from reelforge.app.platform import Platform
from reelforge.errors import NotFound
from reelforge.governance.image.sampling import sample_indices
from reelforge.media.images import load_image
from reelforge.media.probe import iter_frames
from reelforge.services.governance.reviews import review_view
from reelforge.services.jobs.views import job_view
from reelforge.storage import repositories as repo
from reelforge.storage.tables import AuditEntry, Job, Review

PREVIEW_PIXELS = 640 * 640  # a preview's largest size (pixels), enough to judge content
DEFAULT_EVERY_SECONDS, DEFAULT_MAX_FRAMES = 1.0, 8


def _review_and_job(p: Platform, review_id: str) -> tuple[Review, Job]:
    with p.db.session(write=False) as s:
        review = s.get(Review, review_id)
        if review is None:
            raise NotFound(f"no review {review_id}", code="review_not_found")
        job = repo.job_for(s, review.job_id, None)
        if job is None:
            raise NotFound(f"no job {review.job_id}", code="not_found")
        s.expunge(review)
        s.expunge(job)
        return review, job


def _input_keys(job: Job) -> list[str]:
    return [str(i["blob"]) for i in job.inputs if i.get("blob") and not i.get("extends")]


def _frame_indices(p: Platform, job: Job) -> list[int]:
    """The output frames the policy checks (the same sampling as the worker's check)."""
    if not job.output_blob:
        return []
    output = job.output or {}
    frames = int(output.get("frames") or (job.params or {}).get("frames") or 0)
    fps = int(output.get("fps") or (job.spec or {}).get("fps") or 0)
    if frames <= 0 or fps <= 0:
        return []
    profile = p.moderation.profile if p.moderation is not None else None
    every = profile.output_every_seconds if profile else DEFAULT_EVERY_SECONDS
    most = profile.output_max_frames if profile else DEFAULT_MAX_FRAMES
    return sample_indices(frames, fps, every, most)


def _signals(p: Platform, job_id: str) -> list[dict[str, Any]]:
    """The moderation decisions recorded for the job, oldest first, with their signals."""
    with p.db.session(write=False) as s:
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject == job_id, AuditEntry.action.like("moderation.%"))
            .order_by(AuditEntry.id)
        ).all()
        return [
            {
                "stage": e.action.split(".", 1)[1],
                "at": e.created_at.isoformat(),
                "policy": e.policy,
                "decision": e.decision,
                "categories": e.categories or [],
                "scores": e.scores or {},
                "rule": e.rule,
                "signals": list((e.data or {}).get("signals") or []),
            }
            for e in rows
        ]


def review_detail(p: Platform, review_id: str) -> dict[str, Any]:
    """A review with its job (operator view: any account's), the number of input images and
    sampled output frames (fetch each with `review_image` / `review_frame`) and the signals."""
    review, job = _review_and_job(p, review_id)
    return {
        **review_view(review, p.clock()),
        "job": job_view(job),
        "inputs": len(_input_keys(job)),
        "frames": _frame_indices(p, job),
        "signals": _signals(p, job.id),
    }


def _jpeg(rgb: np.ndarray) -> bytes:
    image = Image.fromarray(rgb)
    side = int(PREVIEW_PIXELS**0.5)
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def review_image(p: Platform, review_id: str, index: int) -> bytes:
    """Input image `index` (0-based) of the review's job, as a JPEG preview."""
    _, job = _review_and_job(p, review_id)
    keys = _input_keys(job)
    if not 0 <= index < len(keys):
        raise NotFound(f"review {review_id} has no input image {index}", code="not_found")
    data = p.blobs.get_bytes(keys[index])
    return _jpeg(load_image(data, max_pixels=p.settings.max_image_pixels))


def review_frame(p: Platform, review_id: str, index: int) -> bytes:
    """Output frame `index` (one of review_detail's `frames`) of a held output, as JPEG."""
    _, job = _review_and_job(p, review_id)
    wanted = _frame_indices(p, job)
    if index not in wanted or not job.output_blob:
        raise NotFound(f"review {review_id} has no sampled frame {index}", code="not_found")
    key = (job.output_blob, tuple(wanted))
    with _frames_lock:
        cached = _frames.get(key)
    if cached is None:
        cached = _decode_frames(p, job.output_blob, wanted)
        with _frames_lock:
            _frames[key] = cached
            while len(_frames) > CACHED_OUTPUTS:
                _frames.pop(next(iter(_frames)))
    if index not in cached:
        raise NotFound(f"frame {index} of job {job.id} could not be decoded", code="not_found")
    return cached[index]


# The previews of the last few held outputs (a page shows all of an output's frames at once:
# one download and one decode serve them). Keyed by the blob's content hash.
CACHED_OUTPUTS = 16
_frames: dict[tuple[str, tuple[int, ...]], dict[int, bytes]] = {}
_frames_lock = threading.Lock()


def _decode_frames(p: Platform, blob_key: str, wanted: list[int]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="reelforge-review-") as tmp:
        local = Path(tmp) / "held.mp4"
        p.blobs.download(blob_key, local)
        frames = iter_frames(
            local,
            max_frames=max(wanted) + 1,
            work_pixels=PREVIEW_PIXELS,
            max_pixels=p.settings.max_image_pixels,
        )
        for i, frame in enumerate(frames):
            if i in wanted:
                found[i] = _jpeg(frame)
    return found
