"""Google Veo (Gemini API) through its fake server: predictLongRunning → operation polling →
the video URI downloaded with the key; sound kept; throttling, failures and bad results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.app.platform import Platform
from reelforge.cli import sample_image
from reelforge.errors import ReelforgeError
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.jobs.uploads import create_upload
from tests.audio_samples import tone_mp4
from tests.providers.fakes.veo import FakeVeo
from tests.providers.hosted import (
    assert_keeps_sound,
    hosted_platform,
    output,
    requeued,
    run,
    submit,
)

KEY = "AIza-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def sound_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Veo 3 hands back: video with a generated AAC sound track (here 2 s of a tone)."""
    return tone_mp4(tmp_path_factory.mktemp("veo") / "veo.mp4", seconds=2.0, width=160, height=96)


@pytest.fixture
def fake(sound_video: Path) -> Iterator[FakeVeo]:
    server = FakeVeo(sound_video, KEY).start()
    yield server
    server.stop()


def _platform(tmp_path: Path, fake: FakeVeo, model: str, **settings: object) -> Platform:
    values: dict[str, object] = {
        "provider_google_api_key": KEY,
        "provider_google_base_url": f"{fake.base_url}/v1beta",  # as the real one ends
        **settings,
    }
    return hosted_platform(tmp_path, "google", model, fake, **values)


@pytest.fixture
def platform(tmp_path: Path, fake: FakeVeo) -> Iterator[Platform]:
    p = _platform(tmp_path, fake, "veo-3.0-generate-001")
    yield p
    p.close()


def test_text_to_video_operation_polled_then_downloaded_with_the_key_keeps_the_sound(
    platform: Platform, fake: FakeVeo, tmp_path: Path
) -> None:
    fake.polls_to_finish = 3
    acct, job = submit(platform, "google", duration=8, aspect_ratio="9:16", negative_prompt="rain")
    done = run(platform, acct, job["id"])
    assert done["status"] == "succeeded", done["error"]
    (create,) = fake.creates()
    assert create.path == "/v1beta/models/veo-3.0-generate-001:predictLongRunning"
    assert create.body == {
        "instances": [{"prompt": "a lighthouse at dusk"}],
        "parameters": {
            "aspectRatio": "9:16",
            "durationSeconds": 8,
            "resolution": "720p",
            "negativePrompt": "rain",
        },
    }
    operation = next(iter(fake.tasks))
    polls = [r for r in fake.requests if r.path == f"/v1beta/{operation}"]
    assert len(polls) == 3
    (download,) = [r for r in fake.requests if r.path.startswith("/v1beta/files/")]
    assert download.headers["x-goog-api-key"] == KEY and download.query == {"alt": ["media"]}
    out = output(platform, acct, job["id"], tmp_path / "out.mp4")
    assert done["has_audio"] is True and done["output"]["duration"] == 2.0
    assert_keeps_sound(out, 2.0, 24)
    assert done["compute"]["provider_task_id"] == operation


def test_first_and_last_frame_go_as_image_and_last_frame(tmp_path: Path, fake: FakeVeo) -> None:
    p = _platform(tmp_path, fake, "veo-3.1-fast-generate-preview")
    try:
        acct = accounts.ensure_account(p, "alice")
        image = create_upload(p, acct, sample_image().read_bytes(), "cup.jpg").id
        _, job = submit(p, "google", duration=4, image_upload_id=image, last_image_upload_id=image)
        done = run(p, acct, job["id"])
    finally:
        p.close()
    assert done["status"] == "succeeded", done["error"]
    instance = fake.creates()[0].body["instances"][0]
    assert instance["image"]["mimeType"] == "image/jpeg"
    assert instance["image"]["bytesBase64Encoded"].startswith("/9j/")
    assert instance["lastFrame"] == instance["image"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration": 5}, "duration"),
        ({"duration": 8, "aspect_ratio": "1:1"}, "aspect_ratio"),
        ({"duration": 8, "resolution": "480p"}, "resolution"),
        ({"duration": 8, "camera": "zoom_in"}, "camera"),
        ({"duration": 8, "resolution": "1080p", "aspect_ratio": "9:16"}, "aspect_ratio"),
    ],
)
def test_what_veo_cannot_do_is_refused_at_submit_before_any_call(
    platform: Platform, fake: FakeVeo, fields: dict, field: str
) -> None:
    with pytest.raises(ReelforgeError) as refused:
        submit(platform, "google", **fields)
    assert refused.value.http_status == 422 and refused.value.field == field
    assert fake.requests == []


def test_resource_exhausted_requeues_the_job_and_a_5xx_burst_is_retried(
    platform: Platform, fake: FakeVeo
) -> None:
    fake.throttle_creates = 2
    fake.server_errors = 2
    acct, job = submit(platform, "google", duration=8)
    done = run(platform, acct, job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert requeued(platform, acct, job["id"]) and len(fake.tasks) == 1


@pytest.mark.parametrize("how", ["error", "filtered"])
def test_an_operation_that_ends_in_error_or_filtered_fails_and_releases_the_credits(
    tmp_path: Path, fake: FakeVeo, how: str
) -> None:
    p = _platform(tmp_path, fake, "veo-3.0-generate-001", default_plan="free")
    try:
        fake.fail_tasks = how == "error"
        fake.filtered = how == "filtered"
        accounts.ensure_account(p, "alice")
        customers.grant(p, "alice", 500, days=30, reason="test")
        acct, job = submit(p, "google", duration=8)
        assert job["billing"] == "reserved"
        done = run(p, acct, job["id"])
    finally:
        p.close()
    assert done["status"] == "failed" and done["error"]["code"] == "provider_failed"
    assert ("filtered" in done["error"]["message"]) is (how == "filtered")
    assert (done["billing"], done["credits_charged"]) == ("released", 0)


@pytest.mark.parametrize("setup", [{"result": "garbage"}, {"foreign_uri": True}])
def test_a_bad_result_fails_clearly_and_the_key_goes_nowhere_else(
    platform: Platform, fake: FakeVeo, setup: dict
) -> None:
    for name, value in setup.items():
        setattr(fake, name, value)
    acct, job = submit(platform, "google", duration=8)
    done = run(platform, acct, job["id"])
    assert done["status"] == "failed", done
    assert done["error"]["code"] == "provider_invalid_output", done["error"]
    assert KEY not in str(done)


def test_a_file_uri_that_redirects_to_storage_is_followed_without_the_key(
    platform: Platform, fake: FakeVeo, sound_video: Path, tmp_path: Path
) -> None:
    storage = FakeVeo(sound_video, "not-used").start()
    try:
        fake.redirect_to = storage.base_url
        acct, job = submit(platform, "google", duration=8)
        done = run(platform, acct, job["id"])
    finally:
        storage.stop()
    assert done["status"] == "succeeded", done["error"]
    (first,) = [r for r in fake.requests if r.path.startswith("/v1beta/files/")]
    assert first.headers["x-goog-api-key"] == KEY
    (fetched,) = storage.requests
    assert fetched.path.startswith("/files/") and "x-goog-api-key" not in fetched.headers
    assert_keeps_sound(output(platform, acct, job["id"], tmp_path / "out.mp4"), 2.0, 24)
