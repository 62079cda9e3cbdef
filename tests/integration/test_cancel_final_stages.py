"""A cancel at any stage of a running job is either honoured (the job ends cancelled, its
credits released) or refused with 409 `too_late` once the output is being finalized
(provenance steps, storing, recording) — never a 200 followed by a charged success."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.config import Settings
from reelforge.domain.spec import JobSpec
from reelforge.errors import Conflict
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.jobs import queries
from reelforge.services.jobs.execution import JobExecutor
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.storage.tables import Job
from tests.fakes import GradientBackend


@pytest.fixture
def p(settings: Settings, backend: GradientBackend) -> Iterator[Platform]:
    """Billed (free plan); heartbeats far apart, so the worker learns of a cancel only where
    the code asks the database itself (as when a cancel lands between two beats)."""
    s = settings.model_copy(
        update={"default_plan": "free", "heartbeat_interval": 30.0, "heartbeat_timeout": 60.0}
    )
    s.worker_queues.append(backend.queue)
    platform = bootstrap(s, backends=[backend])
    yield platform
    platform.close()


class _CancelOnce:
    """Cancels the job the first time it is called, as a user would at that moment, and
    keeps what the cancel answered."""

    def __init__(self, p: Platform, acct: accounts.AccountRef):
        self.p, self.acct = p, acct
        self.job_id = ""
        self.answer: str | None = None

    def __call__(self) -> None:
        if self.answer is not None:
            return
        try:
            self.answer = str(queries.cancel_job(self.p, self.acct, self.job_id)["status"])
        except Conflict as exc:
            self.answer = exc.code


class _Step:
    def __init__(self, hit: Callable[[], None]):
        self.hit = hit

    def process(self, job: Job, spec: JobSpec, video: Path, workdir: Path) -> Path:
        self.hit()  # as provenance marking runs
        return video


class _Frames:
    def __init__(self, hit: Callable[[], None]):
        self.hit = hit

    def for_job(
        self, job: Job, spec: JobSpec, width: int, height: int, fps: int
    ) -> Callable[[int, Any], None]:
        def on_frame(index: int, frame: Any) -> None:
            if index == 5:
                self.hit()  # while encoding

        return on_frame


def _arm(
    p: Platform,
    stage: str,
    cancel: _CancelOnce,
    monkeypatch: pytest.MonkeyPatch,
    backend: GradientBackend,
) -> None:
    if stage == "render":
        real = backend.generate

        def generate(request: Any, on_progress: Any) -> Any:
            def progress(name: str, done: int, total: int) -> None:
                if done == 3:
                    cancel()
                on_progress(name, done, total)

            return real(request, progress)

        monkeypatch.setattr(backend, "generate", generate)
    elif stage == "encode":
        p.frame_filters.append(_Frames(cancel))
    elif stage == "provenance":
        p.output_steps.append(_Step(cancel))
    elif stage == "store":
        real_put = p.blobs.put_file

        def put_file(path: Path, content_type: str) -> Any:
            cancel()
            return real_put(path, content_type)

        monkeypatch.setattr(p.blobs, "put_file", put_file)


@pytest.mark.parametrize(
    "stage,expected",
    [
        ("render", "running"),
        ("encode", "running"),
        ("provenance", "too_late"),
        ("store", "too_late"),
    ],
)
def test_cancel_at_each_stage_is_honoured_or_refused_never_both(
    p: Platform,
    backend: GradientBackend,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    expected: str,
) -> None:
    acct = accounts.ensure_account(p, "alice")
    cancel = _CancelOnce(p, acct)
    _arm(p, stage, cancel, monkeypatch, backend)
    body = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}
    cancel.job_id = str(submit_job(p, acct, SubmitRequest.parse(body)).job["id"])
    JobExecutor(p, "w1").run(cancel.job_id)

    job = queries.get_job(p, acct, cancel.job_id)
    balance = customers.me(p, acct)["balance"]
    assert cancel.answer == expected, (cancel.answer, job["status"])
    if cancel.answer == "too_late":  # refused: the job succeeds and is charged
        assert job["status"] == "succeeded" and job["credits_charged"] > 0
    else:  # accepted: the job ends cancelled, nothing charged
        assert (job["status"], job["credits_charged"], job["billing"]) == (
            "cancelled",
            0,
            "released",
        ), job
        assert balance["held"] == 0 and balance["available"] == 20
