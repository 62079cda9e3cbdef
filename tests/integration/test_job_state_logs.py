"""Every job state change is one structured line with the job id (issue 14 item 9), also
those outside submit and the worker: the reaper's requeue of a dead worker's job, an appeal
of a blocked job, a delete. An operator follows a job by grepping its id."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import update

from reelforge import logs
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.governance import reviews
from reelforge.services.jobs import queries
from reelforge.services.jobs.reaper import reap
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job

BODY = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}


def _events(caplog: pytest.LogCaptureFixture, job_id: str) -> list[dict[str, object]]:
    """This job's structured lines, in order, as the JSON formatter writes them."""
    formatter = logs.JsonFormatter()
    bodies = [json.loads(formatter.format(r)) for r in caplog.records]
    return [b for b in bodies if b.get("job") == job_id and "event" in b]


def _names(caplog: pytest.LogCaptureFixture, job_id: str) -> list[str]:
    return [str(b["event"]) for b in _events(caplog, job_id)]


def test_the_reapers_requeue_is_a_line(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reelforge")
    acct = accounts.ensure_account(platform, "alice")
    job_id = submit_job(platform, acct, SubmitRequest.parse(BODY)).job["id"]
    assert platform.queue.dequeue(["gradient"]) == ("gradient", job_id)
    with platform.db.session() as s:  # a worker claimed it and died: no more heartbeats
        assert repo.claim_job(s, job_id, "ghost:1", platform.clock()) is not None
        old = platform.clock() - timedelta(seconds=platform.settings.heartbeat_timeout + 60)
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=old))
    assert reap(platform).requeued == [job_id]
    assert _names(caplog, job_id) == ["job.submit", "job.requeue"]
    line = _events(caplog, job_id)[-1]
    assert (line["account"], line["status"], line["reason"], line["attempt"]) == (
        acct.id,
        "queued",
        "heartbeat_timeout",
        1,
    )
    text = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job.requeue")]
    assert text == [
        f"job.requeue job={job_id} account={acct.id} status=queued reason=heartbeat_timeout "
        "attempt=1"
    ]


def test_an_appeal_and_a_delete_are_lines(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reelforge")
    acct = accounts.ensure_account(platform, "alice")
    job_id = submit_job(platform, acct, SubmitRequest.parse(BODY)).job["id"]
    with platform.db.session() as s:  # blocked at submit (what moderation writes)
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="blocked",
                finished_at=platform.clock(),
                error_code="content_blocked",
                moderation={"submit": {"decision": "block", "categories": ["violence"]}},
            )
        )
    assert reviews.appeal(platform, acct, job_id, "it is a cartoon")["status"] == "review"
    appeal = _events(caplog, job_id)[-1]
    assert appeal["event"] == "job.appeal" and appeal["status"] == "review"
    assert appeal["account"] == acct.id and appeal["stage"] == "submit" and appeal["review"]

    other = submit_job(platform, acct, SubmitRequest.parse(BODY)).job["id"]
    assert queries.delete_job(platform, acct, other)["deleted"] is True
    # the delete of a queued job cancels it first: its final line, then the delete
    assert _names(caplog, other) == ["job.submit", "job.final", "job.delete"]
    deleted = _events(caplog, other)[-1]
    assert deleted["status"] == "cancelled" and deleted["account"] == acct.id
