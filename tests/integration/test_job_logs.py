"""Structured logs: one key=value line per job state change with the job id, as text or JSON
(RF_LOG_FORMAT=json), on a real job's life through the API and the worker."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from reelforge import logs
from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.worker.loop import Worker
from tests.fakes import GradientBackend
from tests.helpers import wait_final

BODY = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}


def _lines(caplog: pytest.LogCaptureFixture, job_id: str) -> dict[str, dict[str, object]]:
    """event name -> its fields, for the records about this job, parsed from the JSON form."""
    formatter = logs.JsonFormatter()
    out: dict[str, dict[str, object]] = {}
    for record in caplog.records:
        body = json.loads(formatter.format(record))
        if body.get("job") == job_id:
            out.setdefault(str(body["event"]), body)
    return out


def test_a_jobs_life_is_one_line_per_state_change(
    platform: Platform, backend: GradientBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    key = accounts.create_api_key(platform, "alice")
    acct = key.account
    with TestClient(create_app(platform)) as c:
        c.headers["Authorization"] = f"Bearer {key.key}"
        job_id = c.post("/v1/videos", json=BODY).json()["id"]
        cancelled = c.post("/v1/videos", json=BODY).json()["id"]
        assert c.post(f"/v1/videos/{cancelled}/cancel").status_code == 200
        worker = Worker(platform).start()
        try:
            wait_final(platform, acct, job_id)
        finally:
            worker.stop()
    life = _lines(caplog, job_id)
    assert list(life) == ["job.submit", "job.start", "job.final", "job.end"], list(life)
    for fields in life.values():
        assert fields["account"] == acct.id
    assert life["job.submit"]["status"] == "queued"
    assert life["job.start"]["status"] == "running"
    assert life["job.final"]["status"] == "succeeded" and life["job.end"]["status"] == "succeeded"
    # numbers stay numbers in JSON, whether the line came from event() or a format string
    assert life["job.final"]["attempt"] == 1 and life["job.start"]["attempt"] == 1
    assert isinstance(life["job.end"]["seconds"], float)
    gone = _lines(caplog, cancelled)
    assert gone["job.final"]["status"] == "cancelled" and gone["job.final"]["by"] == "user"
    # the text form is the same line a person greps
    text = [r.getMessage() for r in caplog.records if f"job={job_id}" in r.getMessage()]
    assert text[0].startswith(f"job.submit job={job_id} account={acct.id} status=queued")


def test_failed_job_line_carries_its_code(
    platform: Platform, backend: GradientBackend, caplog: pytest.LogCaptureFixture
) -> None:
    from reelforge.errors import BackendError
    from reelforge.services.jobs.submit import SubmitRequest, submit_job

    caplog.set_level(logging.INFO)
    backend.fail_with = BackendError("the model ran out of memory", code="out_of_memory")
    acct = accounts.ensure_account(platform, "alice")
    job_id = submit_job(platform, acct, SubmitRequest.parse(BODY)).job["id"]
    worker = Worker(platform).start()
    try:
        wait_final(platform, acct, job_id)
    finally:
        worker.stop()
    life = _lines(caplog, job_id)
    assert life["job.final"]["code"] == "out_of_memory"
    assert life["job.end"]["code"] == "out_of_memory"


def test_hostile_values_cannot_forge_fields_or_lines() -> None:
    text = logs.line("job.submit", job="vid_1", account='a" status=succeeded\nforged=1')
    assert "\n" not in text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (text,), None)
    body = json.loads(logs.JsonFormatter().format(record))
    assert body["event"] == "job.submit" and body["job"] == "vid_1"
    assert body["account"] == 'a" status=succeeded\nforged=1'
    assert "status" not in body and "forged" not in body
    # a plain message is kept as it is, with no event
    plain = logging.LogRecord("x", logging.WARNING, __file__, 1, "disk at %d%%", (91,), None)
    assert json.loads(logs.JsonFormatter().format(plain))["msg"] == "disk at 91%"
