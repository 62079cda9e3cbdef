"""A long-running worker keeps only its latest run outcomes (issue 13 item 14): the list
grew by one per job for the life of the process."""

from __future__ import annotations

import pytest

from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.worker import loop
from reelforge.worker.loop import Worker
from tests.helpers import wait_final, wait_for


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_worker_keeps_a_bounded_number_of_outcomes(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "OUTCOMES_KEPT", 2)
    acct = accounts.ensure_account(platform, "alice")
    body = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}
    ids = [str(submit_job(platform, acct, SubmitRequest.parse(body)).job["id"]) for _ in range(4)]
    w = Worker(platform, concurrency=1, background_duties=False).start()
    try:
        for job_id in ids:
            assert wait_final(platform, acct, job_id)["status"] == "succeeded"
        wait_for(lambda: w.busy == 0)
    finally:
        w.stop()
    assert len(w.outcomes) == 2
    assert [o.job_id for o in w.outcomes] == ids[-2:]
