"""A provider that quotes the credentials back in a 2xx body (a failed task's message, MiniMax's
base_resp, a Kling create answer without a task) does not leak them: whatever a provider
module raises or reports passes the run's redactor before it reaches the job, its events, the
checkpoint or the log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from reelforge.app.platform import Platform
from reelforge.backends.providers.http import Redactor
from reelforge.errors import BackendError
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from tests.providers.conftest import KLING_ACCESS, KLING_SECRET, LUMA_KEY, RUNWAY_KEY
from tests.providers.fakes.base import FakeProvider
from tests.providers.fakes.kling import FakeKling
from tests.providers.fakes.luma import FakeLuma
from tests.providers.fakes.minimax import FakeMiniMax
from tests.providers.fakes.runway import FakeRunway
from tests.providers.fakes.sora import FakeSora
from tests.providers.fakes.veo import FakeVeo
from tests.providers.hosted import hosted_platform, run, submit

MINIMAX_KEY = "mm-redact-0123456789abcdef"
GOOGLE_KEY = "AIza-redact-0123456789abcdef"
OPENAI_KEY = "sk-proj-redact-0123456789abcdef"

# provider -> (remote model, submit fields, settings, the credentials)
CASES: dict[str, tuple[str, dict[str, object], dict[str, object], tuple[str, ...]]] = {
    "kling": (
        "kling-v2-1",
        {"duration": 5},
        {"provider_kling_access_key": KLING_ACCESS, "provider_kling_secret_key": KLING_SECRET},
        (KLING_ACCESS, KLING_SECRET),
    ),
    "runway": ("gen4.5", {"duration": 5}, {"provider_runway_api_key": RUNWAY_KEY}, (RUNWAY_KEY,)),
    "luma": ("ray-2", {"duration": 5}, {"provider_luma_api_key": LUMA_KEY}, (LUMA_KEY,)),
    "minimax": (
        "MiniMax-Hailuo-02",
        {"duration": 6},
        {"provider_minimax_api_key": MINIMAX_KEY},
        (MINIMAX_KEY,),
    ),
    "google": (
        "veo-3.0-generate-001",
        {"duration": 8},
        {"provider_google_api_key": GOOGLE_KEY},
        (GOOGLE_KEY,),
    ),
    "openai": ("sora-2", {"duration": 4}, {"provider_openai_api_key": OPENAI_KEY}, (OPENAI_KEY,)),
}


def _fake(provider: str, video: Path) -> FakeProvider:
    if provider == "kling":
        return FakeKling(video, KLING_ACCESS, KLING_SECRET)
    if provider == "runway":
        return FakeRunway(video, RUNWAY_KEY)
    if provider == "luma":
        return FakeLuma(video, LUMA_KEY)
    if provider == "minimax":
        return FakeMiniMax(video, MINIMAX_KEY)
    if provider == "google":
        return FakeVeo(video, GOOGLE_KEY)
    return FakeSora(video, OPENAI_KEY)


def _all_text(p: Platform, acct: accounts.AccountRef, job_id: str) -> str:
    events, _ = queries.events_since(p, acct, job_id, 0)
    parts = [json.dumps(queries.get_job(p, acct, job_id)), json.dumps(events)]
    with p.db.session(write=False) as s:
        for table in ("provider_tasks", "jobs", "job_events"):
            parts += [repr(tuple(r)) for r in s.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(parts)


@pytest.fixture
def fakes(provider_video: Path) -> Iterator[list[FakeProvider]]:
    made: list[FakeProvider] = []
    yield made
    for fake in made:
        fake.stop()


@pytest.mark.parametrize(
    "provider,where",
    [
        ("kling", "create"),  # 200 without data: `str(answer)[:200]` in the module's error
        ("kling", "task"),
        ("runway", "task"),
        ("luma", "task"),
        ("minimax", "create"),  # base_resp with HTTP 200
        ("google", "task"),  # a done operation's error
        ("openai", "task"),
    ],
)
def test_credentials_quoted_in_a_2xx_body_never_show(
    tmp_path: Path,
    provider_video: Path,
    fakes: list[FakeProvider],
    caplog: pytest.LogCaptureFixture,
    provider: str,
    where: str,
) -> None:
    remote, fields, settings, secrets = CASES[provider]
    fake = _fake(provider, provider_video).start()
    fakes.append(fake)
    fake.quote_key = True
    fake.fail_tasks = where == "task"
    caplog.set_level(logging.DEBUG)
    suffix = {"google": "/v1beta", "openai": "/v1"}.get(provider, "")  # as the real ones end
    settings = {**settings, f"provider_{provider}_base_url": fake.base_url + suffix}
    p = hosted_platform(tmp_path, provider, remote, fake, **settings)
    try:
        acct, job = submit(p, provider, **fields)
        done = run(p, acct, job["id"])
        visible = _all_text(p, acct, job["id"]) + caplog.text
    finally:
        p.close()
    assert done["status"] == "failed", done
    assert "(request sent with " in done["error"]["message"]  # the quote reached the job...
    assert "***" in done["error"]["message"]  # ...without the credentials
    sent = [
        value.removeprefix("Bearer ")
        for r in fake.requests
        for key, value in r.headers.items()
        if key in ("authorization", "x-api-key", "x-goog-api-key")
    ]
    assert sent
    for secret in (*secrets, *sent):
        assert secret not in visible


def test_the_redactor_scrubs_an_error_and_any_bearer_token() -> None:
    error = BackendError("refused: key abcd-1234 and Bearer eyJ.some.token, again abcd-1234")
    Redactor(["abcd-1234"]).error(error)
    assert error.message == "refused: key *** and Bearer ***, again ***"
    assert error.args == (error.message,)
