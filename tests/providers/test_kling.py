"""Kling through its fake server: real HTTP, the real backend, the real worker."""

from __future__ import annotations

from pathlib import Path

from reelforge.app.platform import Platform
from reelforge.media.probe import probe_video
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.worker.loop import Worker
from tests.helpers import wait_final
from tests.providers.fakes.kling import FakeKling


def _submit(p: Platform, acct: accounts.AccountRef, **fields: object) -> dict:
    body = {"prompt": "a lighthouse at dusk", "duration": 5, "model": "kling", **fields}
    return submit_job(p, acct, SubmitRequest.parse(body)).job


def test_text_to_video_happy_path(
    kling_platform: Platform, account: accounts.AccountRef, fake_kling: FakeKling, tmp_path: Path
) -> None:
    fake_kling.polls_to_finish = 3
    job = _submit(kling_platform, account, negative_prompt="blur", aspect_ratio="9:16")
    worker = Worker(kling_platform).start()
    try:
        done = wait_final(kling_platform, account, job["id"])
    finally:
        worker.stop()
    assert done["status"] == "succeeded", done["error"]
    creates = fake_kling.creates()
    assert len(creates) == 1
    sent = creates[0].body
    assert creates[0].path == "/v1/videos/text2video"
    assert sent["model_name"] == "kling-v2-1" and sent["external_task_id"] == job["id"]
    assert sent["negative_prompt"] == "blur" and sent["aspect_ratio"] == "9:16"
    assert sent["duration"] == "5" and sent["mode"] == "std"
    out = tmp_path / "out.mp4"
    kling_platform.blobs.download(queries.job_content(kling_platform, account, job["id"]).key, out)
    info = probe_video(out)
    assert info.frames == 12 and (info.width, info.height) == (64, 48)
