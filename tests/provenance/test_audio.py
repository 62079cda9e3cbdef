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
    ("codec", "audio_seconds", "rate", "copied"),
    [
        ("aac", 2.0, 48_000, True),
        ("aac", 1.2, 48_000, False),  # short: re-encoded and padded with silence
        ("libopus", 2.0, 48_000, False),
        ("aac", 3.0, 44_100, True),  # long: cut at the last frame
        ("aac", 2.0, 16_000, False),  # one AAC frame would outlast a video frame: 48 kHz
    ],
)
def test_add_audio_keeps_the_track_as_long_as_the_video(
    tmp_path: Path, codec: str, audio_seconds: float, rate: int, copied: bool
) -> None:
    source = tone_mp4(
        tmp_path / "src.mp4", seconds=2.0, codec=codec, audio_seconds=audio_seconds, rate=rate
    )
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


def _joined(first: Path, second: Path, dest: Path) -> Path:
    """`first` then `second` by stream copy (as `ffmpeg -f concat -c copy` joins clips): each
    stream of the second continues where the same stream of the first ends."""
    with av.open(str(first)) as a, av.open(str(second)) as b, av.open(str(dest), "w") as out:
        streams = {
            kind: out.add_stream_from_template(getattr(a.streams, kind)[0])
            for kind in ("video", "audio")
        }
        end: dict[str, int] = {}
        delta: dict[str, int] = {}
        for container, later in ((a, False), (b, True)):
            for packet in container.demux():
                if packet.dts is None:
                    continue
                kind = packet.stream.type
                if later:
                    shift = delta.setdefault(kind, end[kind] - packet.dts)
                    packet.pts += shift
                    packet.dts += shift
                else:
                    end[kind] = max(end.get(kind, 0), packet.dts + (packet.duration or 0))
                packet.stream = streams[kind]
                out.mux(packet)
    return dest


def _rms(path: Path, start: float) -> float:
    with av.open(str(path)) as c:
        chunks = [
            f.to_ndarray().ravel()
            for f in c.decode(audio=0)
            if f.pts is not None and float(f.pts * f.time_base) >= start
        ]
    return float(np.sqrt(np.mean(np.concatenate(chunks) ** 2)))


def test_an_extension_of_a_clip_with_sound_carries_a_track_that_joins_in_sync(
    sound_platform: Platform, tmp_path: Path
) -> None:
    first, first_out = _run(sound_platform, tmp_path, "sound")
    acct = accounts.ensure_account(sound_platform, "acme")
    body = {"model": "gradient", "prompt": "on", "duration": 1, "extend_from": first["id"]}
    job = submit_job(sound_platform, acct, SubmitRequest.parse(body)).job
    worker = Worker(sound_platform, concurrency=1).start()
    try:
        done = wait_final(sound_platform, acct, job["id"], timeout=120)
    finally:
        worker.stop(hand_back=True)
    assert done["status"] == "succeeded" and done["mode"] == "extend", done["error"]
    assert done["has_audio"] is True
    second_out = tmp_path / f"{job['id']}.mp4"
    sound_platform.blobs.download(
        queries.job_content(sound_platform, acct, job["id"]).key, second_out
    )
    a, b = audio_track(first_out), audio_track(second_out)
    assert a is not None and b is not None
    assert (b.codec, b.sample_rate, b.channels) == (a.codec, a.sample_rate, a.channels)
    assert abs(decoded_audio_seconds(second_out) - 1.0) <= 1 / FPS
    assert _rms(second_out, 0.0) == 0.0  # the model made no sound: silence, not the source's
    joined = _joined(first_out, second_out, tmp_path / "joined.mp4")
    assert abs(decoded_audio_seconds(joined) - 2.0) <= 2 / FPS
    assert _video_seconds(joined) == 2.0
    all_four(verify_file(second_out, verify_options(sound_platform)), second_out)


def test_an_extension_of_a_silent_clip_has_no_track(
    sound_platform: Platform, tmp_path: Path
) -> None:
    first, _ = _run(sound_platform, tmp_path, "gradient")
    acct = accounts.ensure_account(sound_platform, "acme")
    body = {"model": "gradient", "prompt": "on", "duration": 1, "extend_from": first["id"]}
    job = submit_job(sound_platform, acct, SubmitRequest.parse(body)).job
    worker = Worker(sound_platform, concurrency=1).start()
    try:
        done = wait_final(sound_platform, acct, job["id"], timeout=120)
    finally:
        worker.stop(hand_back=True)
    assert done["status"] == "succeeded" and done["has_audio"] is False


def test_an_answer_from_the_result_cache_says_it_has_sound(tmp_path: Path) -> None:
    p = bootstrap(
        make_settings(tmp_path, worker_queues=["sound"], result_cache="account"),
        backends=[SoundBackend()],
    )
    try:
        acct = accounts.ensure_account(p, "acme")
        body = {"model": "sound", "prompt": "a tone", "duration": 1, "seed": 5}
        first = submit_job(p, acct, SubmitRequest.parse(body)).job
        worker = Worker(p, concurrency=1).start()
        try:
            assert wait_final(p, acct, first["id"], timeout=120)["has_audio"] is True
        finally:
            worker.stop(hand_back=True)
        again = submit_job(p, acct, SubmitRequest.parse(body)).job
        seen = queries.get_job(p, acct, again["id"])
    finally:
        p.close()
    assert seen["cache_hit"] is True and seen["has_audio"] is True
