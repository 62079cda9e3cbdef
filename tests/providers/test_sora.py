"""OpenAI Sora through its fake server: POST /v1/videos, retrieve until completed, the
content downloaded with the key; sound kept; throttling, quota, failures and bad results."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.app.platform import Platform
from reelforge.cli import sample_image
from reelforge.errors import ReelforgeError
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.jobs import queries
from reelforge.services.jobs.uploads import create_upload
from tests.audio_samples import tone_mp4
from tests.helpers import event_types
from tests.providers.fakes.sora import FakeSora
from tests.providers.hosted import (
    assert_keeps_sound,
    hosted_platform,
    output,
    requeued,
    run,
    submit,
)

KEY = "sk-proj-test-0123456789abcdefghij"


@pytest.fixture(scope="module")
def sound_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Sora 2 hands back: video with sound (here 1.5 s, stereo AAC)."""
    return tone_mp4(tmp_path_factory.mktemp("sora") / "sora.mp4", seconds=1.5, width=96, height=160)


@pytest.fixture
def fake(sound_video: Path) -> Iterator[FakeSora]:
    server = FakeSora(sound_video, KEY).start()
    yield server
    server.stop()


def _platform(
    tmp_path: Path, fake: FakeSora, model: str = "sora-2", **settings: object
) -> Platform:
    values: dict[str, object] = {
        "provider_openai_api_key": KEY,
        "provider_openai_base_url": f"{fake.base_url}/v1",  # as the real one ends
        **settings,
    }
    return hosted_platform(tmp_path, "openai", model, fake, **values)


@pytest.fixture
def platform(tmp_path: Path, fake: FakeSora) -> Iterator[Platform]:
    p = _platform(tmp_path, fake)
    yield p
    p.close()


def test_create_retrieve_and_content_download_keep_the_sound(
    platform: Platform, fake: FakeSora, tmp_path: Path
) -> None:
    fake.polls_to_finish = 3
    acct, job = submit(platform, "openai", duration=4, aspect_ratio="9:16")
    done = run(platform, acct, job["id"])
    assert done["status"] == "succeeded", done["error"]
    (create,) = fake.creates()
    assert create.path == "/v1/videos" and create.headers["authorization"] == f"Bearer {KEY}"
    assert create.body == {
        "model": "sora-2",
        "prompt": "a lighthouse at dusk",
        "seconds": "4",
        "size": "720x1280",
    }
    video_id = next(iter(fake.tasks))
    assert [r.path for r in fake.requests].count(f"/v1/videos/{video_id}") == 3
    (download,) = [r for r in fake.requests if r.path.endswith("/content")]
    assert download.headers["authorization"] == f"Bearer {KEY}"
    out = output(platform, acct, job["id"], tmp_path / "out.mp4")
    assert done["has_audio"] is True and done["compute"]["provider_task_id"] == video_id
    assert_keeps_sound(out, 1.5, 24)


def test_image_to_video_sends_the_image_at_the_requested_size(
    tmp_path: Path, fake: FakeSora
) -> None:
    p = _platform(tmp_path, fake, "sora-2-pro")
    try:
        acct = accounts.ensure_account(p, "alice")
        image = create_upload(p, acct, sample_image().read_bytes(), "cup.jpg").id
        _, job = submit(p, "openai", duration=8, resolution="1080p", image_upload_id=image)
        done = run(p, acct, job["id"])
    finally:
        p.close()
    assert done["status"] == "succeeded", done["error"]
    sent = fake.creates()[0].body
    assert sent["size"] == "1792x1024" and sent["seconds"] == "8"
    # the fake refuses a reference of another size, as Sora does
    assert sent["input_reference"]["image_url"].startswith("data:image/jpeg;base64,")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration": 5}, "duration"),
        ({"duration": 4, "resolution": "1080p"}, "resolution"),  # sora-2: 720p only
        ({"duration": 4, "aspect_ratio": "1:1"}, "aspect_ratio"),
        ({"duration": 4, "negative_prompt": "rain"}, "negative_prompt"),
        ({"duration": 4, "camera": "pan_left"}, "camera"),
    ],
)
def test_what_sora_cannot_do_is_refused_at_submit_before_any_call(
    platform: Platform, fake: FakeSora, fields: dict, field: str
) -> None:
    with pytest.raises(ReelforgeError) as refused:
        submit(platform, "openai", **fields)
    assert refused.value.http_status == 422 and refused.value.field == field
    assert fake.requests == []


def test_rate_limit_requeues_and_a_5xx_burst_is_retried(platform: Platform, fake: FakeSora) -> None:
    fake.throttle_creates = 1
    fake.server_errors = 3
    acct, job = submit(platform, "openai", duration=4)
    done = run(platform, acct, job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert requeued(platform, acct, job["id"]) and len(fake.tasks) == 1


def test_exhausted_quota_fails_at_once_instead_of_waiting(
    platform: Platform, fake: FakeSora
) -> None:
    fake.quota_exhausted = True
    acct, job = submit(platform, "openai", duration=4)
    done = run(platform, acct, job["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "provider_account"
    assert not requeued(platform, acct, job["id"])


def test_a_video_failed_by_openai_fails_the_job_and_releases_its_credits(
    tmp_path: Path, fake: FakeSora
) -> None:
    p = _platform(tmp_path, fake, default_plan="free")
    try:
        fake.fail_tasks = True
        accounts.ensure_account(p, "alice")
        customers.grant(p, "alice", 500, days=30, reason="test")
        acct, job = submit(p, "openai", duration=4)
        assert job["billing"] == "reserved"
        done = run(p, acct, job["id"])
    finally:
        p.close()
    assert done["status"] == "failed" and done["error"]["code"] == "provider_failed"
    assert "video_generation_failed" in done["error"]["message"]
    assert (done["billing"], done["credits_charged"]) == ("released", 0)


def test_a_result_that_is_not_a_video_fails_clearly(platform: Platform, fake: FakeSora) -> None:
    fake.result = "garbage"
    acct, job = submit(platform, "openai", duration=4)
    done = run(platform, acct, job["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "provider_invalid_output"


def test_a_wrong_key_fails_as_authentication_without_echoing_it(
    tmp_path: Path, fake: FakeSora, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-wrong-9876543210fedcba"
    p = _platform(tmp_path, fake, provider_openai_api_key=wrong)
    caplog.set_level(logging.DEBUG)
    try:
        acct, job = submit(p, "openai", duration=4)
        done = run(p, acct, job["id"])
        events = event_types(p, acct, job["id"]), queries.events_since(p, acct, job["id"], 0)
    finally:
        p.close()
    assert done["status"] == "failed" and done["error"]["code"] == "provider_auth"
    assert wrong not in str(events) and wrong not in caplog.text
    assert "***" in done["error"]["message"]  # the provider quoted it back: redacted
    assert wrong not in str(done)
