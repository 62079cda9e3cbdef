"""Credentials come from settings only and never show: not in logs, events, job errors, the
checkpoint, the database's model rows, nor in `reelforge config` — even when a careless
provider quotes them back in an error."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from reelforge.cli import app
from reelforge.services.jobs import queries
from tests.providers.conftest import KLING_SECRET, LUMA_KEY, RUNWAY_KEY, SECRETS, Hosted


def _all_text(h: Hosted, job_id: str) -> str:
    events, _ = queries.events_since(h.p, h.account, job_id, 0)
    parts = [json.dumps(queries.get_job(h.p, h.account, job_id)), json.dumps(events)]
    with h.p.db.session(write=False) as s:
        for table in ("provider_tasks", "provider_models", "jobs", "job_events"):
            parts += [repr(tuple(r)) for r in s.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(parts)


@pytest.mark.parametrize(
    "provider,remote", [("kling", "kling-v2-1"), ("runway", "gen4.5"), ("luma", "ray-2")]
)
def test_credentials_quoted_back_by_the_provider_are_redacted(
    hosted: Callable[..., Hosted],
    provider: str,
    remote: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    h = hosted(provider, remote)
    h.fake.echo_auth = True
    job = h.submit(duration=5)
    done = h.run(job["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "provider_rejected"
    assert "invalid credentials" in done["error"]["message"]
    assert "***" in done["error"]["message"]
    sent = h.fake.creates()[0].headers["authorization"].removeprefix("Bearer ")
    visible = _all_text(h, job["id"]) + caplog.text
    for secret in (*SECRETS, sent):
        assert secret not in visible


def test_a_successful_job_shows_no_credential(
    hosted: Callable[..., Hosted], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = hosted("kling", "kling-v2-1")
    job = h.submit(duration=5)
    assert h.run(job["id"])["status"] == "succeeded"
    tokens = [
        r.headers["authorization"].removeprefix("Bearer ")
        for r in h.fake.requests
        if "authorization" in r.headers
    ]
    assert tokens  # the JWT went to the fake, and nowhere else
    visible = _all_text(h, job["id"]) + caplog.text
    assert f"job={job['id']}" in caplog.text  # the job's life is in the log
    for secret in (*SECRETS, *tokens):
        assert secret not in visible


def test_a_worker_without_credentials_fails_the_job_naming_the_setting(
    hosted: Callable[..., Hosted],
) -> None:
    h = hosted("runway", "gen4.5", provider_runway_api_key=None)
    done = h.run(h.submit(duration=5)["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "provider_not_configured"
    assert "RF_PROVIDER_RUNWAY_API_KEY" in done["error"]["message"]
    assert h.fake.requests == [] and done["billing"] == "released"


def test_reelforge_config_masks_provider_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RF_PROVIDER_KLING_SECRET_KEY", KLING_SECRET)
    monkeypatch.setenv("RF_PROVIDER_RUNWAY_API_KEY", RUNWAY_KEY)
    monkeypatch.setenv("RF_PROVIDER_LUMA_BASE_URL", f"https://user:{LUMA_KEY}@proxy.example/v1")
    for args in (["config"], ["config", "--json"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
        assert KLING_SECRET not in r.output and RUNWAY_KEY not in r.output
        assert LUMA_KEY not in r.output
    shown = json.loads(CliRunner().invoke(app, ["config", "--json"]).output)
    assert shown["provider_kling_secret_key"] == "***"
    assert shown["provider_runway_api_key"] == "***"
    assert shown["provider_openai_api_key"] is None
    assert shown["provider_luma_base_url"] == "https://user:***@proxy.example/v1"
