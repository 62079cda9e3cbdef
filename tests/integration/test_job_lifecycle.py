"""Submit → queue → worker → MP4, on SQLite+SqliteHuey and on PostgreSQL+Redis."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from reelforge.app.platform import Platform
from reelforge.errors import CapabilityMissing, Conflict, InvalidRequest, NotFound
from reelforge.media.probe import probe_video
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.worker.loop import Worker
from tests.fakes import GradientBackend
from tests.helpers import event_types, wait_final, wait_for


def _submit(p: Platform, account: accounts.AccountRef, **fields: object) -> dict:
    body = {
        "prompt": "a gradient",
        "duration": 1,
        "resolution": "480p",
        "model": "gradient",
        **fields,
    }
    return submit_job(p, account, SubmitRequest.parse(body)).job


def test_job_runs_to_a_playable_mp4(platform: Platform, tmp_path: Path) -> None:
    acct = accounts.ensure_account(platform, "alice")
    job = _submit(platform, acct, duration=2, fps=12, aspect_ratio="9:16")
    assert job["status"] == "queued"
    with_worker = Worker(platform).start()
    try:
        done = wait_final(platform, acct, job["id"])
    finally:
        with_worker.stop()
    assert done["status"] == "succeeded", done["error"]
    assert done["output"]["frames"] == 24 and done["progress"] == 1.0
    out = tmp_path / "out.mp4"
    platform.blobs.download(queries.job_content(platform, acct, job["id"]).key, out)
    info = probe_video(out)
    assert (info.width, info.height, info.frames) == (480, 854, 24)
    assert info.codec == "h264" and info.pix_fmt == "yuv420p"
    types = event_types(platform, acct, job["id"])
    assert types[0] == "submitted" and types[1] == "started" and types[-1] == "succeeded"
    assert types.count("progress") >= 2
    assert set(done["timings"]) >= {"encode", "store", "total"}


def test_external_id_is_an_idempotency_key(platform: Platform) -> None:
    acct = accounts.ensure_account(platform, "alice")
    first = _submit(platform, acct, external_id="order-17")
    again = submit_job(
        platform,
        acct,
        SubmitRequest.parse(
            {
                "prompt": "a gradient",
                "duration": 1,
                "resolution": "480p",
                "model": "gradient",
                "external_id": "order-17",
            }
        ),
    )
    assert again.job["id"] == first["id"] and not again.created
    with pytest.raises(Conflict) as exc:
        _submit(platform, acct, external_id="order-17", duration=2)
    assert exc.value.code == "external_id_conflict"
    # another account may use the same external id for its own job
    other = _submit(platform, accounts.ensure_account(platform, "bob"), external_id="order-17")
    assert other["id"] != first["id"]


def test_parallel_submits_with_one_external_id_make_one_job(platform: Platform) -> None:
    acct = accounts.ensure_account(platform, "alice")
    ids: list[str] = []
    errors: list[Exception] = []

    def go() -> None:
        try:
            ids.append(_submit(platform, acct, external_id="same")["id"])
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(ids)) == 1
    assert len(queries.list_jobs(platform, acct)["data"]) == 1


def test_cancel_queued_job_never_runs(platform: Platform, backend: GradientBackend) -> None:
    acct = accounts.ensure_account(platform, "alice")
    job = _submit(platform, acct)
    cancelled = queries.cancel_job(platform, acct, job["id"])
    assert cancelled["status"] == "cancelled"
    w = Worker(platform).start()
    try:
        wait_for(lambda: platform.queue.size("gradient") == 0)
    finally:
        w.stop()
    assert backend.generations == 0
    assert queries.cancel_job(platform, acct, job["id"])["status"] == "cancelled"  # idempotent
    assert event_types(platform, acct, job["id"]) == ["submitted", "cancelled"]


def test_cancel_running_job_stops_at_next_step(
    platform: Platform, backend: GradientBackend
) -> None:
    backend.frame_delay = 0.05
    acct = accounts.ensure_account(platform, "alice")
    job = _submit(platform, acct, duration=10)
    w = Worker(platform).start()
    try:
        backend.started.wait(10)
        wait_for(lambda: queries.get_job(platform, acct, job["id"])["progress"] > 0.1)
        queries.cancel_job(platform, acct, job["id"])
        done = wait_final(platform, acct, job["id"], timeout=10)
    finally:
        w.stop()
    assert done["status"] == "cancelled"
    assert done["output"] is None and done["progress"] < 0.9
    with pytest.raises(NotFound):
        queries.job_content(platform, acct, job["id"])
    types = event_types(platform, acct, job["id"])
    assert "cancel_requested" in types and types[-1] == "cancelled"
    with pytest.raises(Conflict):  # cancelling is fine, but a finished job stays finished
        queries.cancel_job(platform, acct, _finished_job(platform, acct))


def _finished_job(p: Platform, acct: accounts.AccountRef) -> str:
    job = _submit(p, acct)
    w = Worker(p).start()
    try:
        wait_final(p, acct, job["id"])
    finally:
        w.stop()
    return str(job["id"])


def test_backend_failure_fails_the_job_and_the_worker_goes_on(
    platform: Platform, backend: GradientBackend
) -> None:
    from reelforge.errors import BackendError

    acct = accounts.ensure_account(platform, "alice")
    backend.fail_with = BackendError("out of memory on the device", code="out_of_memory")
    bad = _submit(platform, acct)
    w = Worker(platform).start()
    try:
        failed = wait_final(platform, acct, bad["id"])
        backend.fail_with = None
        good = _submit(platform, acct)
        ok = wait_final(platform, acct, good["id"])
    finally:
        w.stop()
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "out_of_memory", "message": "out of memory on the device"}
    assert ok["status"] == "succeeded"


def test_unexpected_exception_is_an_internal_error(
    platform: Platform, backend: GradientBackend
) -> None:
    acct = accounts.ensure_account(platform, "alice")
    backend.fail_with = ZeroDivisionError("oops")
    job = _submit(platform, acct)
    w = Worker(platform).start()
    try:
        failed = wait_final(platform, acct, job["id"])
    finally:
        w.stop()
    assert failed["error"]["code"] == "internal_error"
    assert "oops" not in failed["error"]["message"]  # internals stay in the operator's log


def test_tenants_cannot_see_each_other(platform: Platform) -> None:
    alice = accounts.ensure_account(platform, "alice")
    bob = accounts.ensure_account(platform, "bob")
    job = _submit(platform, alice)
    with pytest.raises(NotFound):
        queries.get_job(platform, bob, job["id"])
    with pytest.raises(NotFound):
        queries.cancel_job(platform, bob, job["id"])
    with pytest.raises(NotFound):
        queries.events_since(platform, bob, job["id"], 0)
    assert queries.list_jobs(platform, bob)["data"] == []
    assert queries.get_job(platform, alice, job["id"])["status"] == "queued"


def test_list_pages_newest_first_with_a_cursor(platform: Platform) -> None:
    acct = accounts.ensure_account(platform, "alice")
    made = [_submit(platform, acct)["id"] for _ in range(5)]
    page1 = queries.list_jobs(platform, acct, limit=2)
    page2 = queries.list_jobs(platform, acct, limit=2, cursor=page1["next_cursor"])
    page3 = queries.list_jobs(platform, acct, limit=2, cursor=page2["next_cursor"])
    seen = [j["id"] for page in (page1, page2, page3) for j in page["data"]]
    assert seen == list(reversed(made)) and page3["next_cursor"] is None
    assert queries.list_jobs(platform, acct, status="succeeded")["data"] == []
    with pytest.raises(InvalidRequest):
        queries.list_jobs(platform, acct, status="bogus")
    with pytest.raises(InvalidRequest):
        queries.list_jobs(platform, acct, cursor="!!!")


def test_higher_priority_runs_first(platform: Platform, backend: GradientBackend) -> None:
    acct = accounts.ensure_account(platform, "alice")
    low = _submit(platform, acct, priority=0)
    high = _submit(platform, acct, priority=9)
    w = Worker(platform, concurrency=1).start()
    try:
        a = wait_final(platform, acct, low["id"])
        b = wait_final(platform, acct, high["id"])
    finally:
        w.stop()
    assert b["started_at"] < a["started_at"]


def test_text_request_without_a_text_model_says_how_to_add_one(platform: Platform) -> None:
    from reelforge.app.platform import BackendRegistry
    from reelforge.backends.motion import MotionBackend

    platform.backends = BackendRegistry([MotionBackend()])
    acct = accounts.ensure_account(platform, "alice")
    with pytest.raises(CapabilityMissing) as exc:
        submit_job(platform, acct, SubmitRequest.parse({"prompt": "a cat surfing"}))
    assert "reelforge models add" in exc.value.message
    assert queries.list_jobs(platform, acct)["data"] == []
