"""Features plug in through the platform's hook lists; each runs where it promises."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.domain.spec import JobSpec
from reelforge.errors import InvalidRequest
from reelforge.media.probe import probe_video
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage.tables import Job
from reelforge.worker.loop import Worker
from tests.helpers import wait_final

BODY = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def check(self, p: Platform, account: AccountRef, spec: JobSpec) -> None:
        if "forbidden" in spec.prompt:
            raise InvalidRequest("refused by a check", code="refused")
        self.seen.append(("check", spec.prompt))

    def on_submit(self, s: Session, job: Job, now: datetime) -> None:
        self.seen.append(("submit", job.status))

    def for_job(self, job: Job, spec: JobSpec, width: int, height: int, fps: int):  # type: ignore[no-untyped-def]
        def paint(index: int, frame: np.ndarray) -> np.ndarray:
            out = frame.copy()
            out[:16, :16] = 255  # a white corner, like a badge
            return out

        return paint

    def process(self, job: Job, spec: JobSpec, video: Path, workdir: Path) -> Path:
        self.seen.append(("output", str(probe_video(video).frames)))
        return video

    def on_final(self, s: Session, job: Job, now: datetime) -> None:
        self.seen.append(("final", job.status))


def test_hooks_run_in_submit_encode_and_finish(platform: Platform, tmp_path: Path) -> None:
    rec = Recorder()
    platform.submit_checks.append(rec)
    platform.submit_recorders.append(rec)
    platform.frame_filters.append(rec)
    platform.output_steps.append(rec)
    platform.final_hooks.append(rec)
    acct = accounts.ensure_account(platform, "alice")
    with pytest.raises(InvalidRequest):
        submit_job(platform, acct, SubmitRequest.parse({**BODY, "prompt": "forbidden"}))
    assert queries.list_jobs(platform, acct)["data"] == []
    job = submit_job(platform, acct, SubmitRequest.parse(BODY)).job
    cancelled = submit_job(platform, acct, SubmitRequest.parse(BODY)).job
    queries.cancel_job(platform, acct, cancelled["id"])
    w = Worker(platform).start()
    try:
        done = wait_final(platform, acct, job["id"])
    finally:
        w.stop()
    assert done["status"] == "succeeded"
    assert rec.seen == [
        ("check", "x"),
        ("submit", "queued"),
        ("check", "x"),
        ("submit", "queued"),
        ("final", "cancelled"),
        ("output", "24"),
        ("final", "succeeded"),
    ]
    out = tmp_path / "o.mp4"
    platform.blobs.download(queries.job_content(platform, acct, job["id"]).key, out)
    import av

    with av.open(str(out)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame[:12, :12].mean() > 240  # the filter's corner survived encoding
