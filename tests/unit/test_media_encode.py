"""MP4 encoding and probing: files that play everywhere, and nothing half-written on failure."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.reformatter import ColorRange, Colorspace

from reelforge.errors import InvalidRequest, JobInterrupted
from reelforge.media import encode as encode_module
from reelforge.media.encode import DEFAULT_CRF, DEFAULT_PRESET, encode_mp4
from reelforge.media.images import save_jpeg
from reelforge.media.probe import probe_video, top_level_boxes

WIDTH, HEIGHT = 96, 64


def _frames(count: int, width: int = WIDTH, height: int = HEIGHT) -> Iterator[np.ndarray]:
    """Distinct frames: a bar that moves one step per frame over a grey background."""
    for index in range(count):
        frame = np.full((height, width, 3), 90, np.uint8)
        x = (index * 4) % (width - 8)
        frame[:, x : x + 8] = (230, 230, 230)
        yield frame


def _decode_rgb(path: Path) -> list[np.ndarray]:
    """Decode as a BT.709 player would."""
    with av.open(str(path)) as container:
        return [
            frame.reformat(
                format="rgb24", src_colorspace=Colorspace.ITU709, src_color_range=ColorRange.MPEG
            ).to_ndarray()
            for frame in container.decode(video=0)
        ]


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_encoded_file_has_every_frame_and_plays_everywhere(tmp_path: Path) -> None:
    result = encode_mp4(_frames(48), tmp_path / "clip.mp4", fps=24)
    info = probe_video(result.path)
    assert (result.frames, result.width, result.height) == (48, WIDTH, HEIGHT)
    assert result.bytes == (tmp_path / "clip.mp4").stat().st_size > 0
    assert (info.width, info.height, info.frames) == (WIDTH, HEIGHT, 48)
    assert info.duration == pytest.approx(2.0, abs=1e-3)
    assert info.fps == pytest.approx(24.0)
    assert (info.codec, info.pix_fmt, info.color_space) == ("h264", "yuv420p", "bt709")
    assert _files(tmp_path) == ["clip.mp4"]


def test_moov_comes_before_mdat_for_progressive_playback(tmp_path: Path) -> None:
    path = encode_mp4(_frames(24), tmp_path / "clip.mp4", fps=24).path
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")
    assert probe_video(path).faststart


def test_colours_survive_with_the_bt709_matrix_the_file_declares(tmp_path: Path) -> None:
    colour = (200, 50, 30)  # saturated: a BT.601/BT.709 mix-up moves it by ~10 levels
    frames = (np.full((HEIGHT, WIDTH, 3), colour, np.uint8) for _ in range(3))
    path = encode_mp4(frames, tmp_path / "red.mp4", fps=24).path
    centre = _decode_rgb(path)[0][HEIGHT // 2, WIDTH // 2].astype(int)
    assert np.all(np.abs(centre - colour) <= 3), centre


def test_metadata_tags_round_trip_including_arbitrary_keys(tmp_path: Path) -> None:
    aigc = json.dumps({"Label": "1", "ContentProducer": "reelforge", "note": "人工智能生成"})
    tags = {"AIGC": aigc, "comment": "made by reelforge", "x-job-id": "job_123"}
    path = encode_mp4(_frames(6), tmp_path / "tagged.mp4", fps=24, metadata=tags).path
    metadata = probe_video(path).metadata
    assert {key: metadata.get(key) for key in tags} == tags
    assert json.loads(metadata["AIGC"])["note"] == "人工智能生成"


def test_on_frame_hook_sees_every_frame_in_order_and_can_replace_it(tmp_path: Path) -> None:
    seen: list[int] = []
    black = np.zeros((HEIGHT, WIDTH, 3), np.uint8)

    def hook(index: int, frame: np.ndarray) -> np.ndarray | None:
        seen.append(index)
        return black if index == 3 else None

    path = encode_mp4(_frames(8), tmp_path / "hooked.mp4", fps=24, on_frame=hook).path
    decoded = _decode_rgb(path)
    assert seen == list(range(8))
    assert decoded[3].mean() < 20  # replaced
    assert decoded[2].mean() > 80 and decoded[4].mean() > 80  # kept


@pytest.mark.parametrize("threaded", [True, False])
def test_interrupt_from_the_frame_source_leaves_nothing_behind(
    tmp_path: Path, threaded: bool
) -> None:
    dest = tmp_path / "clip.mp4"

    def frames() -> Iterator[np.ndarray]:
        for index, frame in enumerate(_frames(40)):
            if index == 10:
                raise JobInterrupted("cancelled")
            yield frame

    with pytest.raises(JobInterrupted):
        encode_mp4(frames(), dest, fps=24, threaded=threaded)
    assert _files(tmp_path) == []


def test_failure_keeps_an_existing_destination_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"previous version")

    def hook(index: int, frame: np.ndarray) -> None:
        if index == 5:
            raise RuntimeError("label renderer crashed")

    with pytest.raises(RuntimeError, match="label renderer crashed"):
        encode_mp4(_frames(20), dest, fps=24, on_frame=hook)
    assert dest.read_bytes() == b"previous version"
    assert _files(tmp_path) == ["clip.mp4"]


def test_an_encoder_failure_reaches_the_caller_without_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_add = encode_module._Encoder.add_converted
    calls = {"n": 0}

    def failing_add(self: encode_module._Encoder, frame: object) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk full")
        real_add(self, frame)

    monkeypatch.setattr(encode_module._Encoder, "add_converted", failing_add)
    with pytest.raises(OSError, match="disk full"):
        encode_mp4(_frames(500), tmp_path / "clip.mp4", fps=24)
    assert _files(tmp_path) == []
    assert calls["n"] < 500  # the producer stopped early instead of rendering everything


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([], "no frames"),
        ([np.zeros((63, 96, 3), np.uint8)], "even width and height"),
        ([np.zeros((64, 96, 3), np.float32)], "uint8"),
        ([np.zeros((64, 96), np.uint8)], "RGB"),
        ([np.zeros((64, 96, 3), np.uint8), np.zeros((64, 98, 3), np.uint8)], "size changed"),
    ],
)
def test_bad_frames_are_refused_and_leave_nothing(
    tmp_path: Path, frames: list[np.ndarray], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encode_mp4(iter(frames), tmp_path / "bad.mp4", fps=24)
    assert _files(tmp_path) == []


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="preset"):
        encode_mp4(_frames(2), tmp_path / "a.mp4", fps=24, preset="warp9")
    with pytest.raises(ValueError, match="crf"):
        encode_mp4(_frames(2), tmp_path / "a.mp4", fps=24, crf=60)
    assert _files(tmp_path) == []


def test_crf_controls_quality(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (8, 64, 96, 3), dtype=np.uint8)
    fine = encode_mp4(iter(noise), tmp_path / "fine.mp4", fps=24, crf=12)
    coarse = encode_mp4(iter(noise), tmp_path / "coarse.mp4", fps=24, crf=40)
    assert fine.bytes > 2 * coarse.bytes


def test_defaults_are_the_documented_ones() -> None:
    assert (DEFAULT_CRF, DEFAULT_PRESET) == (20, "veryfast")


def test_probe_refuses_a_non_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("just some text pretending to be a video")
    with pytest.raises(InvalidRequest, match="not a video") as exc:
        probe_video(path)
    assert exc.value.code == "invalid_video"


def test_probe_refuses_a_truncated_video(tmp_path: Path) -> None:
    noise = np.random.default_rng(2).integers(0, 255, (24, 64, 96, 3), dtype=np.uint8)
    path = encode_mp4(iter(noise), tmp_path / "clip.mp4", fps=24).path
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])  # moov is first (faststart): the index survives
    with pytest.raises(InvalidRequest, match="truncated or corrupt") as exc:
        probe_video(path)
    assert exc.value.code == "invalid_video"


def test_probe_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="not found"):
        probe_video(tmp_path / "gone.mp4")


def test_published_files_get_normal_permissions(tmp_path: Path) -> None:
    # Temp files from mkstemp are 0600; a video or poster renamed from one would be unreadable
    # to a web server or a second worker user reading the blob directory.
    previous = os.umask(0o022)
    try:
        video = encode_mp4(_frames(4), tmp_path / "clip.mp4", fps=24).path
        poster = save_jpeg(np.zeros((16, 16, 3), np.uint8), tmp_path / "poster.jpg")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(video.stat().st_mode) == 0o644
    assert stat.S_IMODE(poster.stat().st_mode) == 0o644
