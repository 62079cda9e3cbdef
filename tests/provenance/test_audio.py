"""Sound survives marking (issue 16 item 7): a clip whose backend hands over a file with an
audio track comes out with that track, as long as the video (within a frame), while the
label, the AIGC block, the watermark and the C2PA manifest all still verify."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.backends.base import Clip, GenerationRequest, ProgressFn
from reelforge.media.audio import AudioError, add_audio, audio_track, decoded_audio_seconds
from reelforge.media.encode import encode_mp4
from reelforge.provenance.verify import verify_file
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.provenance.marking import verify_options
from reelforge.worker.loop import Worker
from tests.audio_samples import tone_mp4
from tests.conftest import make_settings
from tests.fakes import GradientBackend
from tests.helpers import wait_final
from tests.provenance.test_marks import all_four

FPS = 24


def _video_seconds(path: Path) -> float:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0)) / FPS


def _frames(n: int, w: int = 320, h: int = 240) -> list[np.ndarray]:
    return [np.full((h, w, 3), (i * 5) % 256, np.uint8) for i in range(n)]


@pytest.mark.parametrize(
    ("codec", "audio_seconds", "copied"),
    [("aac", 2.0, True), ("aac", 1.2, False), ("libopus", 2.0, False), ("aac", 3.0, True)],
)
def test_add_audio_keeps_the_track_as_long_as_the_video(
    tmp_path: Path, codec: str, audio_seconds: float, copied: bool
) -> None:
    source = tone_mp4(tmp_path / "src.mp4", seconds=2.0, codec=codec, audio_seconds=audio_seconds)
    video = tmp_path / "video.mp4"
    encode_mp4(_frames(2 * FPS), video, fps=FPS, metadata={"AIGC": "{}"})
    added = add_audio(video, source, tmp_path / "out.mp4", duration=2.0, frame_seconds=1 / FPS)
    # copied where the source is AAC and covers the clip; a short or non-AAC track re-encoded
    assert added.copied is copied
    track = audio_track(added.path)
    assert track is not None and track.codec == "aac"
    assert abs(decoded_audio_seconds(added.path) - 2.0) <= 1 / FPS
    assert _video_seconds(added.path) == 2.0
    with av.open(str(added.path)) as c:
        assert c.metadata["AIGC"] == "{}"  # the container tags stay
        video_stream = c.streams.video[0]
        assert video_stream.codec_context.name == "h264"


def test_add_audio_refuses_a_source_without_sound(tmp_path: Path) -> None:
    source = tone_mp4(tmp_path / "mute.mp4", codec="")
    video = tmp_path / "video.mp4"
    encode_mp4(_frames(FPS), video, fps=FPS)
    with pytest.raises(AudioError) as err:
        add_audio(video, source, tmp_path / "out.mp4", duration=1.0, frame_seconds=1 / FPS)
    assert err.value.code == "audio_unreadable"
    assert not (tmp_path / "out.mp4").exists()


class SoundBackend(GradientBackend):
    """The gradient's frames, with the sound of a real MP4 beside them (as a provider's
    result carries it)."""

    def __init__(self, codec: str = "aac") -> None:
        super().__init__(name="sound", queue="sound")
        self.codec = codec

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        clip = super().generate(request, on_progress)
        clip.audio = tone_mp4(
            request.workdir / "provider.mp4",
            seconds=request.spec.duration,
            codec=self.codec,
            width=160,
            height=120,
        )
        return clip


@pytest.fixture
def sound_platform(tmp_path: Path) -> Iterator[Platform]:
    p = bootstrap(
        make_settings(tmp_path, worker_queues=["sound", "gradient"]),
        backends=[SoundBackend(), GradientBackend()],
    )
    yield p
    p.close()


def _run(p: Platform, tmp: Path, model: str) -> tuple[dict[str, Any], Path]:
    acct = accounts.ensure_account(p, "acme")
    body = {"model": model, "prompt": "a gradient", "duration": 1, "resolution": "480p"}
    job = submit_job(p, acct, SubmitRequest.parse(body)).job
    worker = Worker(p, concurrency=1).start()
    try:
        done = wait_final(p, acct, job["id"], timeout=120)
    finally:
        worker.stop(hand_back=True)
    assert done["status"] == "succeeded", done["error"]
    out = tmp / f"{job['id']}.mp4"
    p.blobs.download(queries.job_content(p, acct, job["id"]).key, out)
    return done, out


def test_a_clip_with_sound_keeps_it_through_marking(
    sound_platform: Platform, tmp_path: Path
) -> None:
    job, out = _run(sound_platform, tmp_path, "sound")
    assert job["has_audio"] is True and job["output"]["has_audio"] is True
    track = audio_track(out)
    assert track is not None and track.codec == "aac"
    assert abs(decoded_audio_seconds(out) - job["output"]["duration"]) <= 1 / FPS
    # the sound went in before signing: label, AIGC, watermark and C2PA all verify
    all_four(verify_file(out, verify_options(sound_platform)), out)


def test_a_clip_without_sound_says_so(sound_platform: Platform, tmp_path: Path) -> None:
    job, out = _run(sound_platform, tmp_path, "gradient")
    assert job["has_audio"] is False
    assert audio_track(out) is None
