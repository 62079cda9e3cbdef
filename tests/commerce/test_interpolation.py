"""Start/end-frame interpolation: the flow in-betweens land where the moving content is (far
closer to the true middle than a cross-fade), mode frames2video is accepted at the edge and
renders on CPU through the motion backend, and the CLI makes a decodable clip with it."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from bench.interpolation import measure
from typer.testing import CliRunner

from reelforge.backends.base import GenerationRequest
from reelforge.backends.motion import MotionBackend
from reelforge.backends.motion.interpolate import FlowInterpolator
from reelforge.cli import app
from reelforge.domain.spec import Camera, JobSpec, Mode
from reelforge.errors import InvalidRequest
from reelforge.media.images import load_image, sample_image_path
from reelforge.media.probe import probe_video
from reelforge.services.jobs.request import SubmitRequest


def test_flow_middle_frame_beats_a_cross_fade_on_known_motion() -> None:
    r = measure(480, 270)
    assert r["ours_psnr"] > r["fade_psnr"] + 8.0, r
    assert r["ours_psnr"] > 28.0, r


def test_ends_are_the_images_and_a_moving_object_lands_half_way() -> None:
    photo = load_image(sample_image_path())
    background = cv2.GaussianBlur(photo[100:220, 100:260], (0, 0), 6)
    thing = photo[150:190, 300:340]  # a 40x40 textured object moving 12 px right
    a, b, truth = background.copy(), background.copy(), background.copy()
    a[40:80, 20:60], b[40:80, 32:72], truth[40:80, 26:66] = thing, thing, thing
    interp = FlowInterpolator(a, b)
    assert np.array_equal(interp.frame(0.0), a) and np.array_equal(interp.frame(1.0), b)

    def psnr(x: np.ndarray) -> float:
        return float(10 * np.log10(255.0**2 / np.mean((x.astype(float) - truth) ** 2)))

    fade = cv2.addWeighted(a, 0.5, b, 0.5, 0.0)
    assert psnr(interp.frame(0.5)) > psnr(fade) + 5.0, (psnr(interp.frame(0.5)), psnr(fade))


def test_frames2video_is_a_mode_with_two_images() -> None:
    spec = JobSpec(mode=Mode.FRAMES2VIDEO, images=("a", "b"))
    assert spec.mode is Mode.FRAMES2VIDEO
    with pytest.raises(ValueError, match="needs 2 input image"):
        JobSpec(mode=Mode.FRAMES2VIDEO, images=("a",))
    assert SubmitRequest.parse({"mode": "frames2video"}).mode is Mode.FRAMES2VIDEO
    with pytest.raises(InvalidRequest):
        MotionBackend().check(spec.model_copy(update={"camera": Camera.PAN_LEFT}))
    for mode in ("text2video", "image2video", "first_last_frame", "extend"):
        assert SubmitRequest.parse({"mode": mode}).mode == mode  # existing modes unchanged


def test_motion_backend_renders_frames2video(tmp_path: Path) -> None:
    photo = load_image(sample_image_path())
    first, last = tmp_path / "a.png", tmp_path / "b.png"
    shifted = np.roll(photo, 24, axis=1)
    cv2.imwrite(str(first), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(last), cv2.cvtColor(shifted, cv2.COLOR_RGB2BGR))
    spec = JobSpec(mode=Mode.FRAMES2VIDEO, images=("a", "b"), width=320, height=180, frames=13)
    seen: list[tuple[str, int, int]] = []
    clip = MotionBackend().generate(
        GenerationRequest("j", spec, (first, last), tmp_path), lambda *a: seen.append(a)
    )
    frames = list(clip.frames)
    assert len(frames) == 13 and frames[0].shape == (180, 320, 3)
    assert seen[-1] == ("render", 13, 13)
    # the clip opens on the first image and closes on the second, both framed alike
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 5
    assert np.abs(frames[6].astype(int) - frames[0].astype(int)).mean() > 2
    assert MotionBackend().parameters(spec)["transition"] == "optical_flow"


def test_cli_generate_frames2video(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    photo = load_image(sample_image_path())
    first, last = tmp_path / "a.png", tmp_path / "b.png"
    cv2.imwrite(str(first), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(last), cv2.cvtColor(np.ascontiguousarray(photo[:, ::-1]), cv2.COLOR_RGB2BGR))
    out = tmp_path / "clip.mp4"
    r = CliRunner().invoke(
        app,
        [
            "generate", "--mode", "frames2video", "--image", str(first), "--last-image",
            str(last), "--duration", "1", "--size", "320x180", "--out", str(out), "--json",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["status"] == "succeeded", result
    shown = json.loads(CliRunner().invoke(app, ["jobs", "show", result["id"], "--json"]).stdout)
    assert shown["mode"] == "frames2video", shown
    info = probe_video(out)
    assert (info.frames, info.width, info.height) == (24, 320, 180)
