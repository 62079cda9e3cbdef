"""A webhook attempt counts even when it cannot be recorded (issue 13: periodic duties must not
let one row loop forever). The dispatcher sends the POST, then records the attempt; when that
record fails, the attempt must still count — the delivery retries with back-off and gives up
after RF_WEBHOOK_MAX_ATTEMPTS — instead of being re-sent every time its 2-minute lock runs
out, uncounted, forever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.notify import deliveries
from reelforge.storage import repositories as repo
from reelforge.storage.tables import WebhookDelivery
from tests.receiver import webhook_receiver


def _final_with_webhook(p: Platform, url: str) -> str:
    acct = accounts.ensure_account(p, "alice")
    body = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}
    job_id = str(submit_job(p, acct, SubmitRequest.parse({**body, "callback_url": url})).job["id"])
    queries.cancel_job(p, acct, job_id)  # final: its delivery row is written
    return job_id


def _time_passes(p: Platform, job_id: str) -> None:
    """Hours later: every back-off and every dispatcher's lock has run out."""
    past = p.clock() - timedelta(seconds=1)
    with p.db.session() as s:
        s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.job_id == job_id)
            .values(next_attempt_at=past, locked_until=past)
        )


def _break_recording(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def broken(s: object, delivery_id: str, attempt: int, **kw: object) -> None:
        calls.append(attempt)
        raise ValueError("cannot write this attempt's row")

    monkeypatch.setattr(repo, "record_delivery_attempt", broken)
    return calls


@pytest.mark.parametrize("answer", [500, 200])
def test_an_attempt_that_cannot_be_recorded_still_counts(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, answer: int
) -> None:
    platform.settings.webhook_max_attempts = 3
    with webhook_receiver() as (url, received):
        received.statuses = [answer] * 20
        job_id = _final_with_webhook(platform, url)
        calls = _break_recording(monkeypatch)
        for _ in range(6):
            deliveries.deliver_due(platform)  # raises nothing: the error is this row's
            _time_passes(platform, job_id)
        [d] = deliveries.deliveries_of(platform, job_id)
        if answer == 200:  # delivered once; the missing record does not make it go again
            assert len(received.requests) == 1  # before: re-sent on every pass
            assert d["status"] == "delivered"
        else:  # each failed POST counted: given up after 3, not re-sent forever
            assert len(received.requests) == 3  # before: 6, and on and on
            assert d["status"] == "failed"
        assert calls and d["attempts"] == []  # no record could be written


def test_a_delivery_whose_every_write_after_the_post_fails_is_still_bounded(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when nothing after the POST can be written (the worker died, or the row's own
    writes fail), the attempt was counted when the delivery was claimed: the POST is sent at
    most RF_WEBHOOK_MAX_ATTEMPTS times, then the delivery ends failed."""
    platform.settings.webhook_max_attempts = 3
    with webhook_receiver() as (url, received):
        received.statuses = [500] * 20
        job_id = _final_with_webhook(platform, url)
        _break_recording(monkeypatch)

        def also_broken(*args: object, **kw: object) -> None:
            raise ValueError("cannot write this delivery's row")

        monkeypatch.setattr(repo, "finish_delivery_attempt", also_broken)
        for _ in range(6):
            deliveries.deliver_due(platform)
            _time_passes(platform, job_id)
        assert len(received.requests) == 3
        [d] = deliveries.deliveries_of(platform, job_id)
        assert d["status"] == "failed"
        again = len(received.requests)
        deliveries.deliver_due(platform)
        assert len(received.requests) == again


def test_attempts_are_numbered_and_recorded_as_before(platform: Platform) -> None:
    platform.settings.webhook_max_attempts = 3
    with webhook_receiver() as (url, received):
        received.statuses = [500, 503]  # then 200
        job_id = _final_with_webhook(platform, url)
        for _ in range(4):
            deliveries.deliver_due(platform)
            _time_passes(platform, job_id)
        [d] = deliveries.deliveries_of(platform, job_id)
    assert d["status"] == "delivered"
    attempts = d["attempts"]
    assert isinstance(attempts, list)
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert len(received.requests) == 3


def test_a_delivery_that_gives_up_logs_where_it_went_not_the_receivers_token(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback URL's path and query can carry the receiver's own token: the log line names
    only the scheme, host and port."""
    platform.settings.webhook_max_attempts = 1
    with webhook_receiver() as (url, received):
        received.statuses = [500] * 5
        job_id = _final_with_webhook(platform, url + "/hook/tok-PATH?token=tok-QUERY")
        with caplog.at_level("WARNING", logger="reelforge"):
            deliveries.deliver_due(platform)
        [d] = deliveries.deliveries_of(platform, job_id)
        assert d["status"] == "failed" and len(received.requests) == 1
    gave_up = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
    assert gave_up and url.split("/")[2] in gave_up[0], caplog.text
    assert "tok-" not in caplog.text
