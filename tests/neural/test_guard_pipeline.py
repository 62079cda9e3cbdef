"""The moderating status: a request the profile routes to a guard model returns at once in
status `moderating`, waits for the moderation task on the queue (no generation job is
enqueued and no compute spent before the guard answers), and moves on to queued, review or
blocked; a guard worker killed mid-check is recovered by the reaper."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.domain.job import MODERATION_QUEUE
from reelforge.services.accounts import accounts
from reelforge.services.governance import audit, guard_tasks, guards, reviews
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.worker.loop import Worker
from tests.conftest import make_settings
from tests.fakes import GradientBackend
from tests.helpers import event_types, wait_final
from tests.neural.tiny_guards import build_tiny_guard, teach

SAFE = "a cat on the sofa"
HARMFUL = "how to build a cat"  # allowed by the fast stages; the taught guard says unsafe


@pytest.fixture(scope="module")
def taught(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama Guard that answers `safe` about the cat and `unsafe S9` about building a cat."""
    path = build_tiny_guard("llama-guard", tmp_path_factory.mktemp("guards") / "lg")
    teach(path, {SAFE: "safe", HARMFUL: "unsafe\nS9"})
    return path


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def guarded(tmp_path: Path, guard_dir: Path, clock: Clock | None = None) -> Iterator[Any]:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "guarded.yaml").write_text(
        "extends: default\nversion: 'g1'\nguard: {prompts: all, name: lg}\n"
    )
    settings = make_settings(
        tmp_path, policy_profile="guarded", policy_dir=policies, worker_queues=["gradient"]
    )
    backend = GradientBackend()
    kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
    p = bootstrap(settings, backends=[backend], **kwargs)
    req = guards.parse_guard_request(
        {"name": "lg", "family": "llama-guard", "path": str(guard_dir)}
    )
    guards.add_guard(p, req)
    yield p, backend
    p.close()


def submit(p: Platform, prompt: str) -> dict[str, Any]:
    acct = accounts.ensure_account(p, "acme")
    fields = {"model": "gradient", "duration": 1, "fps": 8, "resolution": "480p", "prompt": prompt}
    return submit_job(p, acct, SubmitRequest.parse(fields)).job


def test_submit_returns_at_once_and_the_guard_decides_before_any_compute(
    tmp_path: Path, taught: Path
) -> None:
    for p, backend in guarded(tmp_path, taught):
        acct = accounts.ensure_account(p, "acme")
        safe, harmful = submit(p, SAFE), submit(p, HARMFUL)
        assert safe["status"] == harmful["status"] == "moderating"
        assert p.queue.size("gradient") == 0 and p.queue.size(MODERATION_QUEUE) == 2
        worker = Worker(p, queues=["gradient", MODERATION_QUEUE], concurrency=1).start()
        try:
            done = wait_final(p, acct, safe["id"], timeout=60)
            blocked = wait_final(p, acct, harmful["id"], timeout=60)
        finally:
            worker.stop(hand_back=True)
        assert done["status"] == "succeeded" and done["moderation"]["guard"]["decision"] == "allow"
        assert event_types(p, acct, safe["id"])[:3] == ["submitted", "moderated", "started"]
        assert blocked["status"] == "blocked" and blocked["error"]["code"] == "content_blocked"
        assert blocked["moderation"]["guard"]["categories"] == ["weapons_illicit"]
        assert blocked["credits_charged"] == 0 and backend.generations == 1  # only the cat
        assert event_types(p, acct, harmful["id"]) == ["submitted", "blocked"]
        (entry,) = [
            e for e in audit.entries(p, subject=harmful["id"]) if e["action"] == "moderation.guard"
        ]
        assert entry["data"]["stage"] == "guard" and entry["data"]["verdict"]["parsed"] is True


def test_a_garbage_answer_holds_the_request_for_review(tmp_path: Path) -> None:
    random_guard = build_tiny_guard("llama-guard", tmp_path / "random")
    for p, backend in guarded(tmp_path, random_guard):
        job = submit(p, SAFE)
        outcome = guard_tasks.run_guard_task(p, job["id"], "guard-worker")
        assert (outcome.status, outcome.parsed) == ("review", False)
        acct = accounts.ensure_account(p, "acme")
        assert queries.get_job(p, acct, job["id"])["status"] == "review"
        (pending,) = reviews.list_reviews(p)
        assert pending["job_id"] == job["id"]
        assert p.queue.size("gradient") == 0 and backend.generations == 0


def test_a_guard_worker_killed_mid_check_is_recovered_by_the_reaper(
    tmp_path: Path, taught: Path
) -> None:
    clock = Clock()
    for p, _ in guarded(tmp_path, taught, clock):
        job = submit(p, SAFE)
        assert p.queue.dequeue([MODERATION_QUEUE]) == (MODERATION_QUEUE, job["id"])
        assert guard_tasks.claim(p, job["id"], "killed-worker") == 1  # then it died
        assert guard_tasks.reap_moderating(p).requeued == []  # its heartbeat is fresh
        assert guard_tasks.run_guard_task(p, job["id"], "other").status == "skipped"
        clock.now += timedelta(seconds=p.settings.heartbeat_timeout + 1)
        report = guard_tasks.reap_moderating(p)
        assert report.requeued == [job["id"]]
        assert p.queue.dequeue([MODERATION_QUEUE]) == (MODERATION_QUEUE, job["id"])
        outcome = guard_tasks.run_guard_task(p, job["id"], "second-worker")
        assert outcome.status == "queued" and p.queue.size("gradient") == 1
        acct = accounts.ensure_account(p, "acme")
        assert event_types(p, acct, job["id"]) == ["submitted", "requeued", "moderated"]


def test_a_moderating_job_can_be_cancelled_and_workers_serve_the_moderation_queue(
    tmp_path: Path, taught: Path
) -> None:
    for p, backend in guarded(tmp_path, taught):
        assert MODERATION_QUEUE in Worker(p).queues  # the policy routes prompts to a guard
        assert MODERATION_QUEUE not in Worker(p, queues=["gradient"]).queues
        acct = accounts.ensure_account(p, "acme")
        job = submit(p, SAFE)
        cancelled = queries.cancel_job(p, acct, job["id"])
        assert cancelled["status"] == "cancelled"
        assert guard_tasks.run_guard_task(p, job["id"], "w").status == "skipped"
        assert p.queue.size("gradient") == 0 and backend.generations == 0
