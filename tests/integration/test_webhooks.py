"""Signed webhooks on final statuses, retried with backoff, every attempt recorded."""

from __future__ import annotations

import json

import pytest

from reelforge.app.platform import Platform
from reelforge.errors import UnsafeCallbackUrl
from reelforge.services.accounts import accounts
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.notify.deliveries import deliveries_of
from reelforge.webhooks.signing import verify
from reelforge.worker.loop import Worker
from tests.helpers import wait_final, wait_for
from tests.receiver import webhook_receiver


def _submit(p: Platform, acct: accounts.AccountRef, **fields: object) -> str:
    body = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient", **fields}
    return str(submit_job(p, acct, SubmitRequest.parse(body)).job["id"])


def test_final_status_is_posted_signed_and_retried(platform: Platform) -> None:
    new_key = accounts.create_api_key(platform, "alice")
    acct = new_key.account
    with webhook_receiver() as (url, received):
        received.statuses = [500, 503]  # two failures, then success
        job_id = _submit(platform, acct, callback_url=url)
        w = Worker(platform).start()
        try:
            wait_final(platform, acct, job_id)
            wait_for(lambda: len(received.requests) >= 3, timeout=20)
            deliveries = wait_for(
                lambda: [d for d in deliveries_of(platform, job_id) if d["status"] != "pending"]
            )
        finally:
            w.stop()
    headers, body = received.requests[-1]
    assert verify(new_key.webhook_secret, headers["reelforge-signature"], body)
    with pytest.raises(ValueError):
        verify("whsec_wrong", headers["reelforge-signature"], body)
    job = json.loads(body)
    assert job["id"] == job_id and job["status"] == "succeeded" and job["output"]["frames"] == 24
    assert headers["reelforge-event"] == "video.succeeded"
    assert [a["status_code"] for a in deliveries[0]["attempts"]] == [500, 503, 200]
    assert deliveries[0]["status"] == "delivered"
    # the same delivery id on every retry lets receivers de-duplicate
    assert len({h["reelforge-delivery"] for h, _ in received.requests}) == 1


@pytest.mark.slow
def test_delivery_gives_up_after_max_attempts(platform: Platform) -> None:
    platform.settings.webhook_max_attempts = 2
    acct = accounts.ensure_account(platform, "alice")
    with webhook_receiver() as (url, received):
        received.statuses = [500] * 10
        job_id = _submit(platform, acct, callback_url=url)
        w = Worker(platform).start()
        try:
            wait_final(platform, acct, job_id)
            deliveries = wait_for(
                lambda: [d for d in deliveries_of(platform, job_id) if d["status"] == "failed"],
                timeout=20,
            )
        finally:
            w.stop()
    assert len(deliveries[0]["attempts"]) == 2 and len(received.requests) == 2


def test_private_callback_urls_are_refused_unless_allowlisted(platform: Platform) -> None:
    acct = accounts.ensure_account(platform, "alice")
    platform.settings.webhook_allow_hosts = []
    for url in (
        "http://127.0.0.1:9/x",
        "http://10.0.0.5/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://localhost/x",
        "ftp://example.com/x",
    ):
        with pytest.raises(UnsafeCallbackUrl):
            _submit(platform, acct, callback_url=url)
    platform.settings.webhook_allow_hosts = ["127.0.0.0/8"]
    assert _submit(platform, acct, callback_url="http://127.0.0.1:9/x")


def test_cancelled_queued_job_notifies_too(platform: Platform) -> None:
    from reelforge.services.jobs import queries

    acct = accounts.ensure_account(platform, "alice")
    with webhook_receiver() as (url, received):
        job_id = _submit(platform, acct, callback_url=url)
        queries.cancel_job(platform, acct, job_id)
        w = Worker(platform).start()
        try:
            wait_for(lambda: received.requests, timeout=10)
        finally:
            w.stop()
    assert json.loads(received.requests[0][1])["status"] == "cancelled"
