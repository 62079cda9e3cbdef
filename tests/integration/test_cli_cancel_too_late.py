"""Ctrl-C in `reelforge generate` once the output is being finalized: the cancel is refused
(`too_late`), so the CLI says so and delivers the result instead of exiting as if cancelled
(or crashing on the refusal)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.cli.generate import _cancel_on_interrupt
from reelforge.config import Settings
from reelforge.domain.job import FINALIZING, JobStatus
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage.tables import Job
from reelforge.worker.loop import Worker
from tests.fakes import GradientBackend


@pytest.fixture
def p(settings: Settings, backend: GradientBackend) -> Iterator[Platform]:
    s = settings.model_copy(update={"default_plan": "free"})
    s.worker_queues.append(backend.queue)
    platform = bootstrap(s, backends=[backend])
    yield platform
    platform.close()


def test_ctrl_c_while_finalizing_is_refused_and_the_job_is_left_to_finish(p: Platform) -> None:
    acct = accounts.ensure_account(p, "alice")
    body = {"prompt": "a red sky", "model": "gradient", "duration": 1, "resolution": "480p"}
    job_id = str(submit_job(p, acct, SubmitRequest.parse(body)).job["id"])
    with p.db.session() as s:  # as a worker that has started finalizing leaves it
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=str(JobStatus.RUNNING), stage=FINALIZING, worker_id="other:1")
        )
    worker = Worker(p, queues=["gradient"], concurrency=1)  # never started: not consulted

    assert _cancel_on_interrupt(p, acct, job_id, worker) is False
    job = queries.get_job(p, acct, job_id)
    assert job["status"] == "running" and not job.get("cancel_requested")
