"""What goes wrong with a hosted provider, and what reelforge does about it: throttling and
concurrency limits (the job waits queued, never fails), 5xx bursts (retried), failures on the
provider's side (credits released), bad results (a clear failure), cancel (propagated), the
provider's callback (wakes the worker), and a crash during the create call (no second task)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import uvicorn

from reelforge.api.app import create_app
from reelforge.services.jobs import queries
from reelforge.storage import provider_tasks
from reelforge.worker.loop import Worker
from tests.e2e.conftest import free_port
from tests.helpers import event_types, wait_final, wait_for
from tests.providers.conftest import Hosted
from tests.providers.fakes.runway import FakeRunway


def _events(h: Hosted, job_id: str) -> list[dict]:
    events, _ = queries.events_since(h.p, h.account, job_id, 0)
    return events


@pytest.mark.parametrize("provider,remote", [("kling", "kling-v2-1"), ("runway", "gen4.5")])
def test_throttled_creates_wait_queued_and_are_retried(
    hosted: Callable[..., Hosted], provider: str, remote: str
) -> None:
    h = hosted(provider, remote)
    h.fake.throttle_creates = 2  # Kling: 429 code 1303; Runway: 429 with Retry-After
    job = h.submit(duration=5)
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    requeued = [e for e in _events(h, job["id"]) if e["type"] == "requeued"]
    assert [e["reason"] for e in requeued] == ["backend_busy", "backend_busy"]
    assert all(e["status"] == "queued" for e in requeued)
    assert len(h.fake.creates()) == 3 and len(h.fake.tasks) == 1  # one paid task
    assert "failed" not in event_types(h.p, h.account, job["id"])


def test_runway_throttled_task_is_waited_for(hosted: Callable[..., Hosted]) -> None:
    h = hosted("runway", "gen4.5")
    assert isinstance(h.fake, FakeRunway)
    h.fake.throttled_polls = 4  # accepted, held back by Runway: status THROTTLED
    done = h.run(h.submit(duration=5)["id"])
    assert done["status"] == "succeeded" and len(h.fake.tasks) == 1


@pytest.mark.slow  # the client's backoff between the 500s (0.5 s doubling, jittered)
def test_a_burst_of_5xx_is_retried(hosted: Callable[..., Hosted]) -> None:
    h = hosted("luma", "ray-2")
    h.fake.server_errors = 4  # the create call and the first polls answer 500
    h.fake.polls_to_finish = 2
    done = h.run(h.submit(duration=5)["id"])
    assert done["status"] == "succeeded", done["error"]
    assert len(h.fake.tasks) == 1
    statuses = [r.path for r in h.fake.requests]
    assert statuses.count("/generations") >= 2  # the create went again after its 500s


def test_provider_side_failure_fails_the_job_and_releases_credits(
    hosted: Callable[..., Hosted],
) -> None:
    h = hosted("runway", "gen4.5")
    h.fake.fail_tasks = True
    job = h.submit(duration=5)
    assert job["billing"] == "reserved" and job["credits"] > 0
    done = h.run(job["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "provider_failed"
    assert "content moderation system rejected" in done["error"]["message"]
    assert "SAFETY.OUTPUT.VIDEO" in done["error"]["message"]
    assert done["billing"] == "released" and done["credits_charged"] == 0
    with h.p.db.session(write=False) as s:
        row = provider_tasks.get(s, job["id"])
        assert row is not None and row.state == "failed" and row.creates == 1


@pytest.mark.parametrize("result", ["garbage", "truncated"])
def test_a_result_that_is_not_a_video_is_a_clear_failure(
    hosted: Callable[..., Hosted], result: str
) -> None:
    h = hosted("kling", "kling-v2-1")
    h.fake.result = result
    done = h.run(h.submit(duration=5)["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "provider_invalid_output"
    assert "not a playable video" in done["error"]["message"]
    assert done["billing"] == "released"


def test_cancel_cancels_the_remote_task(hosted: Callable[..., Hosted]) -> None:
    h = hosted("runway", "gen4.5")
    h.fake.polls_to_finish = 10**6  # a slow task
    job = h.submit(duration=5)
    worker = Worker(h.p).start()
    try:
        wait_for(lambda: h.fake.tasks, timeout=30)
        queries.cancel_job(h.p, h.account, job["id"])
        done = wait_final(h.p, h.account, job["id"])
    finally:
        worker.stop()
    assert done["status"] == "cancelled" and done["billing"] == "released"
    [task_id] = h.fake.tasks
    deletes = [r for r in h.fake.requests if r.method == "DELETE"]
    assert [r.path for r in deletes] == [f"/v1/tasks/{task_id}"]
    with h.p.db.session(write=False) as s:
        row = provider_tasks.get(s, job["id"])
        assert row is not None and row.state == "cancelled"


@pytest.mark.slow  # three jobs through one slot, one after the other
@pytest.mark.parametrize("stack", ["sqlite", "postgres"])
def test_the_concurrency_limit_queues_jobs_locally(
    hosted: Callable[..., Hosted], stack: str
) -> None:
    h = hosted("kling", "kling-v2-1", stack=stack, provider_concurrency={"kling": "1"}, workers=3)
    h.fake.polls_to_finish = 8
    jobs = [h.submit(duration=5, seed=i) for i in range(3)]
    worker = Worker(h.p).start()
    try:
        done = [wait_final(h.p, h.account, j["id"], 60) for j in jobs]
    finally:
        worker.stop()
    assert [d["status"] for d in done] == ["succeeded"] * 3
    assert h.fake.max_active == 1 and len(h.fake.tasks) == 3
    waits = [e["reason"] for j in jobs for e in _events(h, j["id"]) if e["type"] == "requeued"]
    assert waits and set(waits) == {"backend_busy"}


def test_a_create_interrupted_before_its_answer_is_found_by_external_id(
    hosted: Callable[..., Hosted],
) -> None:
    """A worker died after sending the create call and before storing the task id (state
    `creating`): the next attempt finds the task by our job id (Kling's external_task_id)
    instead of paying for a second one."""
    h = hosted("kling", "kling-v2-1")
    job = h.submit(duration=5)
    h.fake.register(
        "remote-1",
        {
            "kind": "text2video",
            "task_id": "remote-1",
            "external_task_id": job["id"],
            "callback_url": None,
            "body": {"duration": "5"},
            "created_at": 0,
        },
    )
    with h.p.db.session() as s:
        provider_tasks.start_create(s, job["id"], "kling", "kling-v2-1", 1, datetime.now(UTC))
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert h.fake.creates() == [] and done["compute"]["provider_task_id"] == "text2video:remote-1"
    assert done["compute"]["provider_resumed"] is True


@pytest.mark.parametrize("provider,remote", [("luma", "ray-2"), ("kling", "kling-v2-1")])
def test_the_providers_callback_wakes_the_waiting_worker(
    hosted: Callable[..., Hosted], provider: str, remote: str
) -> None:
    port = free_port()
    h = hosted(
        provider,
        remote,
        provider_callbacks=True,
        provider_poll_interval=30.0,  # without the callback the job would wait 30 s
        public_url=f"http://127.0.0.1:{port}",
    )
    h.fake.polls_to_finish = 2
    server = uvicorn.Server(uvicorn.Config(create_app(h.p), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=30)
        started = time.monotonic()
        done = h.run(h.submit(duration=5)["id"])
        took = time.monotonic() - started
    finally:
        server.should_exit = True
        thread.join(10)
    assert done["status"] == "succeeded", done["error"]
    assert took < 15
    [create] = h.fake.creates()
    url = create.body["callback_url"]
    assert url.startswith(f"http://127.0.0.1:{port}/v1/providers/{provider}/callback/")
    assert "token=" in url


def test_a_callback_with_a_wrong_token_is_not_found(hosted: Callable[..., Hosted]) -> None:
    from fastapi.testclient import TestClient

    h = hosted("luma", "ray-2")
    job = h.submit(duration=5)
    with h.p.db.session() as s:
        provider_tasks.start_create(s, job["id"], "luma", "ray-2", 1, datetime.now(UTC))
    client = TestClient(create_app(h.p))
    r = client.post(f"/v1/providers/luma/callback/{job['id']}?token=0123", json={"state": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    with h.p.db.session(write=False) as s:
        assert provider_tasks.callback_at(s, job["id"]) is None


@pytest.mark.slow  # two attempts, the first through six failed downloads
def test_a_download_outage_sends_the_job_back_and_the_same_task_is_fetched_later(
    hosted: Callable[..., Hosted],
) -> None:
    h = hosted("kling", "kling-v2-1")
    runtime = h.p.backends.catalog.catalogs[1].runtime  # type: ignore[union-attr]
    runtime.first_backoff = 0.01  # the client's retries of one download, quickly
    h.fake.file_errors = 7  # more than one download call's 6 tries
    job = h.submit(duration=5)
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert len(h.fake.creates()) == 1 and len(h.fake.tasks) == 1  # paid once
    assert done["compute"]["provider_resumed"] is True and done["attempt"] == 2
    reasons = [e["reason"] for e in _events(h, job["id"]) if e["type"] == "requeued"]
    assert reasons == ["backend_busy"]
