"""GET /metrics: the figures move when real jobs run (queue, stages, device time, failures,
moderation, result cache, webhooks, event streams), on both deployment shapes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.errors import BackendError
from reelforge.services.accounts import accounts
from reelforge.worker.loop import Worker
from tests.fakes import GradientBackend
from tests.helpers import wait_final, wait_for
from tests.receiver import webhook_receiver

BODY = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    key = accounts.create_api_key(platform, "alice").key
    with TestClient(create_app(platform)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def scrape(client: TestClient, **headers: str) -> Samples:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples that carry these labels (others summed over)."""
    want = frozenset(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and want <= have)


def test_metrics_change_after_real_jobs(
    platform: Platform, client: TestClient, backend: GradientBackend
) -> None:
    platform.settings.result_cache = "account"
    before = scrape(client)
    assert value(before, "reelforge_event_streams_open") == 0
    with webhook_receiver() as (url, received):
        first = client.post("/v1/videos", json={**BODY, "seed": 7, "callback_url": url})
        assert first.status_code == 202, first.text
        job_id = first.json()["id"]
        queued = scrape(client)
        assert value(queued, "reelforge_queue_depth", model="gradient", status="queued") == 1
        # an open event stream (the job is still queued, so it stays open) is counted
        with client.stream("GET", f"/v1/videos/{job_id}/events") as stream:
            assert stream.status_code == 200
            assert value(scrape(client), "reelforge_event_streams_open") == 1
        wait_for(lambda: value(scrape(client), "reelforge_event_streams_open") == 0, 10)

        worker = Worker(platform).start()
        try:
            acct = accounts.ensure_account(platform, "alice")
            assert wait_final(platform, acct, job_id)["status"] == "succeeded"
            wait_for(lambda: received.requests, 20)
            # the same seeded request again: served from the result cache
            again = client.post("/v1/videos", json={**BODY, "seed": 7})
            assert again.json()["status"] == "succeeded"
            backend.fail_with = BackendError("the model ran out of memory", code="out_of_memory")
            failed = client.post("/v1/videos", json=BODY).json()["id"]
            assert wait_final(platform, acct, failed)["status"] == "failed"

            def delivered() -> Samples | None:
                samples = scrape(client)
                return (
                    samples
                    if value(samples, "reelforge_webhook_deliveries_total", outcome="delivered")
                    >= 1
                    else None
                )

            after = wait_for(delivered, 20)
        finally:
            worker.stop()

    def grew(name: str, by: float, **labels: str) -> None:
        assert value(after, name, **labels) - value(before, name, **labels) == by, (name, labels)

    assert value(after, "reelforge_queue_depth", model="gradient", status="queued") == 0
    grew("reelforge_jobs_finished_total", 2, model="gradient", status="succeeded")
    grew("reelforge_jobs_finished_total", 1, model="gradient", status="failed")
    grew("reelforge_job_failures_total", 1, code="out_of_memory", model="gradient")
    # stage histograms come from the jobs' recorded timings (the cache hit ran no stages)
    grew("reelforge_job_stage_seconds_count", 2, stage="total", model="gradient")
    grew("reelforge_job_stage_seconds_count", 1, stage="encode", model="gradient")
    grew("reelforge_job_stage_seconds_bucket", 2, stage="total", model="gradient", le="+Inf")
    assert value(after, "reelforge_job_stage_seconds_sum", stage="total", model="gradient") > 0
    assert value(after, "reelforge_device_seconds_total", device="cpu", model="gradient") > 0
    grew("reelforge_result_cache_requests_total", 1, result="hit")
    grew("reelforge_result_cache_requests_total", 1, result="miss")
    grew("reelforge_webhook_deliveries_total", 1, outcome="delivered")
    grew(
        "reelforge_moderation_decisions_total", 3, stage="submit", decision="allow", category="none"
    )
    # counted once: a later scrape does not fold the same jobs in again
    assert scrape(client) == after


def test_a_new_process_reports_the_history_and_tokens_are_checked(platform: Platform) -> None:
    from reelforge.services.jobs.submit import SubmitRequest, submit_job

    acct = accounts.ensure_account(platform, "alice")
    job_id = submit_job(platform, acct, SubmitRequest.parse(BODY)).job["id"]
    worker = Worker(platform).start()
    try:
        wait_final(platform, acct, job_id)
    finally:
        worker.stop()
    platform.settings.metrics_token = SecretStr("s3cret")
    # a fresh app (another API node) reads the totals from the database
    with TestClient(create_app(platform)) as c:
        assert c.get("/metrics").status_code == 401
        r = c.get("/metrics", headers={"Authorization": "Bearer wr\u00f6ng".encode("latin-1")})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        samples = scrape(c, Authorization="Bearer s3cret")
    assert (
        value(samples, "reelforge_jobs_finished_total", model="gradient", status="succeeded") == 1
    )
    assert value(samples, "reelforge_job_stage_seconds_count", stage="total", model="gradient") == 1


def test_concurrent_scrapes_count_each_job_once(platform: Platform) -> None:
    from reelforge.services.jobs.submit import SubmitRequest, submit_job

    acct = accounts.ensure_account(platform, "alice")
    ids = [submit_job(platform, acct, SubmitRequest.parse(BODY)).job["id"] for _ in range(3)]
    worker = Worker(platform).start()
    with TestClient(create_app(platform)) as c:
        stop = threading.Event()

        def keep_scraping() -> None:
            while not stop.is_set():
                c.get("/metrics")

        scrapers = [threading.Thread(target=keep_scraping) for _ in range(2)]
        for t in scrapers:
            t.start()
        try:
            for job_id in ids:
                wait_final(platform, acct, job_id)
        finally:
            stop.set()
            for t in scrapers:
                t.join()
            worker.stop()
        samples = scrape(c)
    assert (
        value(samples, "reelforge_jobs_finished_total", model="gradient", status="succeeded") == 3
    )
