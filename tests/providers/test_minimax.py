"""MiniMax Hailuo through its fake server: the real backend over real HTTP, the real worker.
Task → file id → file retrieval → download; throttling, failures, sound and bad results."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.app.platform import Platform
from reelforge.errors import ReelforgeError
from reelforge.media.probe import probe_video
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.jobs import queries
from reelforge.services.jobs.uploads import create_upload
from tests.audio_samples import tone_mp4
from tests.helpers import event_types
from tests.providers.fakes.minimax import FakeMiniMax
from tests.providers.hosted import (
    assert_keeps_sound,
    hosted_platform,
    output,
    requeued,
    run,
    submit,
)

KEY = "mm-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def sound_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What MiniMax hands back: an MP4 with a video track and an AAC sound track."""
    return tone_mp4(
        tmp_path_factory.mktemp("mm") / "hailuo.mp4", seconds=1.0, width=160, height=120
    )


@pytest.fixture
def fake(sound_video: Path) -> Iterator[FakeMiniMax]:
    server = FakeMiniMax(sound_video, KEY).start()
    yield server
    server.stop()


@pytest.fixture
def platform(tmp_path: Path, fake: FakeMiniMax) -> Iterator[Platform]:
    p = hosted_platform(
        tmp_path, "minimax", "MiniMax-Hailuo-02", fake, provider_minimax_api_key=KEY
    )
    yield p
    p.close()


def test_text_to_video_task_file_id_download_keeps_the_sound(
    platform: Platform, fake: FakeMiniMax, tmp_path: Path
) -> None:
    fake.polls_to_finish = 3
    acct, job = submit(platform, "minimax", duration=6, camera="pan_left")
    done = run(platform, acct, job["id"])
    assert done["status"] == "succeeded", done["error"]
    (create,) = fake.creates()
    assert create.path == "/v1/video_generation"
    assert create.body == {
        "model": "MiniMax-Hailuo-02",
        "prompt": "a lighthouse at dusk [Pan left]",
        "duration": 6,
        "resolution": "768P",
        "prompt_optimizer": True,
    }
    assert create.headers["authorization"] == f"Bearer {KEY}"
    paths = [r.path for r in fake.requests]
    assert paths.count("/v1/query/video_generation") == 3
    assert paths.count("/v1/files/retrieve") == 1
    download = next(r for r in fake.requests if r.path.startswith("/files/"))
    assert "authorization" not in download.headers  # the signed CDN URL gets no key
    out = output(platform, acct, job["id"], tmp_path / "out.mp4")
    info = probe_video(out)
    assert (info.width, info.height, info.frames) == (160, 120, 24)
    assert done["has_audio"] is True
    assert_keeps_sound(out, 1.0, 24)
    assert done["compute"]["provider_task_id"] == create_task_id(fake)


def create_task_id(fake: FakeMiniMax) -> str:
    return next(iter(fake.tasks))


def test_image_to_video_and_first_last_frame_send_the_images_as_data_urls(
    platform: Platform, fake: FakeMiniMax
) -> None:
    from reelforge.cli import sample_image

    acct = accounts.ensure_account(platform, "alice")
    image = create_upload(platform, acct, sample_image().read_bytes(), "cup.jpg").id
    _, job = submit(
        platform,
        "minimax",
        duration=6,
        resolution="1080p",
        image_upload_id=image,
        last_image_upload_id=image,
    )
    done = run(platform, acct, job["id"])
    assert done["status"] == "succeeded", done["error"]
    sent = fake.creates()[0].body
    assert sent["first_frame_image"].startswith("data:image/jpeg;base64,/9j/")
    assert sent["last_frame_image"] == sent["first_frame_image"]
    assert sent["resolution"] == "1080P" and done["mode"] == "first_last_frame"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration": 10, "resolution": "1080p"}, "duration"),
        ({"duration": 5}, "duration"),
        ({"duration": 6, "aspect_ratio": "9:16"}, "aspect_ratio"),
        ({"duration": 6, "negative_prompt": "blur"}, "negative_prompt"),
        ({"duration": 6, "resolution": "480p"}, "resolution"),  # 512P: image2video only
    ],
)
def test_what_the_model_cannot_do_is_refused_at_submit_before_any_call(
    platform: Platform, fake: FakeMiniMax, fields: dict, field: str
) -> None:
    with pytest.raises(ReelforgeError) as refused:
        submit(platform, "minimax", **fields)
    assert refused.value.http_status == 422 and refused.value.field == field
    assert "MiniMax-Hailuo-02" in refused.value.message
    assert fake.requests == []


def test_rate_limit_puts_the_job_back_in_the_queue_and_it_succeeds(
    platform: Platform, fake: FakeMiniMax
) -> None:
    fake.throttle_creates = 1  # base_resp 1002, inside an HTTP 200
    fake.server_errors = 2  # and a 5xx burst, retried with backoff
    acct, job = submit(platform, "minimax", duration=6)
    done = run(platform, acct, job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert requeued(platform, acct, job["id"])
    assert len(fake.tasks) == 1  # one paid task


def test_a_task_failed_by_minimax_fails_the_job_and_releases_its_credits(
    tmp_path: Path, fake: FakeMiniMax
) -> None:
    p = hosted_platform(
        tmp_path,
        "minimax",
        "MiniMax-Hailuo-02",
        fake,
        provider_minimax_api_key=KEY,
        default_plan="free",
    )
    try:
        fake.fail_tasks = True
        accounts.ensure_account(p, "alice")
        customers.grant(p, "alice", 100, days=30, reason="test")
        acct, job = submit(p, "minimax", duration=6)
        assert job["billing"] == "reserved" and job["credits"] > 0
        done = run(p, acct, job["id"])
    finally:
        p.close()
    assert done["status"] == "failed" and done["error"]["code"] == "provider_failed"
    assert (done["billing"], done["credits_charged"]) == ("released", 0)


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ({"result": "garbage"}, "provider_invalid_output"),
        ({"result": "truncated"}, "provider_invalid_output"),
        ({"result_without_file": True}, "provider_invalid_output"),
    ],
)
def test_a_malformed_result_fails_clearly(
    platform: Platform, fake: FakeMiniMax, setup: dict, code: str
) -> None:
    for name, value in setup.items():
        setattr(fake, name, value)
    acct, job = submit(platform, "minimax", duration=6)
    done = run(platform, acct, job["id"])
    assert done["status"] == "failed" and done["error"]["code"] == code, done["error"]


def test_a_wrong_key_fails_as_authentication_and_never_shows_the_key(
    tmp_path: Path, fake: FakeMiniMax, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "mm-wrong-key-9876543210"
    p = hosted_platform(
        tmp_path, "minimax", "MiniMax-Hailuo-02", fake, provider_minimax_api_key=wrong
    )
    caplog.set_level(logging.DEBUG)
    try:
        acct, job = submit(p, "minimax", duration=6)
        done = run(p, acct, job["id"])
        events = event_types(p, acct, job["id"]), queries.events_since(p, acct, job["id"], 0)
    finally:
        p.close()
    assert done["status"] == "failed" and done["error"]["code"] == "provider_auth"
    assert wrong not in str(events) and wrong not in caplog.text
    assert "***" in done["error"]["message"]  # the provider quoted it back: redacted
    assert wrong not in str(done) and "1004" in done["error"]["message"]
