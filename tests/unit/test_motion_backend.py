"""The motion backend as a user sees it: the camera moves the right way, smoothly, eased,
framed on the subject, at the requested size and length, and stops when cancelled."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from reelforge.backends.base import Clip, GenerationBackend, GenerationRequest
from reelforge.backends.motion import (
    NO_TEXT_TO_VIDEO,
    FrameRenderer,
    MotionBackend,
    camera_path,
    smart_crop,
)
from reelforge.backends.motion.camera import Rect, pan_amount, zoom_amount
from reelforge.domain.spec import AspectRatio, Camera, JobSpec, Mode, Resolution, frame_size
from reelforge.errors import CapabilityMissing, InvalidImage, JobInterrupted
from reelforge.media.encode import encode_mp4
from reelforge.media.images import sample_image_path
from reelforge.media.probe import probe_video


def _photo_like(width: int, height: int, seed: int = 7) -> np.ndarray:
    """Texture at several scales (like foliage, fabric, wood) plus a few hard-edged shapes."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for cell, weight in ((64, 0.5), (16, 0.3), (4, 0.2)):
        coarse = rng.random((height // cell + 2, width // cell + 2, 3)).astype(np.float32)
        image += weight * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    image = np.clip(image * 255, 0, 255).astype(np.uint8)
    for _ in range(12):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.circle(image, centre, int(rng.integers(10, 60)), colour, -1, cv2.LINE_AA)
    return image


@pytest.fixture(scope="module")
def photo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "photo.png"
    cv2.imwrite(str(path), cv2.cvtColor(_photo_like(1600, 1200), cv2.COLOR_RGB2BGR))
    return path


def _spec(**fields: object) -> JobSpec:
    values: dict[str, object] = {
        "mode": Mode.IMAGE2VIDEO,
        "images": ("blob",),
        "resolution": Resolution.P480,
        "duration": 1.0,
    }
    values.update(fields)
    return JobSpec(**values)  # type: ignore[arg-type]


def _generate(
    spec: JobSpec, image: Path, on_progress: object = None, backend: MotionBackend | None = None
) -> Clip:
    request = GenerationRequest("job", spec, (image,), image.parent)
    progress = on_progress if on_progress is not None else (lambda stage, done, total: None)
    return (backend or MotionBackend()).generate(request, progress)  # type: ignore[arg-type]


def _grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """How far the picture content moved from frame a to frame b (pixels, +x right, +y down)."""
    ga, gb = _grey(a), _grey(b)
    window = cv2.createHanningWindow(ga.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(ga, gb, window)
    return dx, dy


def _similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(scale, dx, dy) mapping frame a's content onto frame b, from tracked features."""
    ga, gb = _grey(a).astype(np.uint8), _grey(b).astype(np.uint8)
    points = cv2.goodFeaturesToTrack(ga, maxCorners=500, qualityLevel=0.01, minDistance=7)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(
        ga,
        gb,
        points,
        None,
        winSize=(31, 31),
        maxLevel=4,  # type: ignore[call-overload]
    )
    ok = status.ravel() == 1
    matrix, _ = cv2.estimateAffinePartial2D(
        points[ok].reshape(-1, 2), moved[ok].reshape(-1, 2), method=cv2.RANSAC
    )
    scale = math.hypot(matrix[0, 0], matrix[1, 0])
    centre = np.array([ga.shape[1] / 2, ga.shape[0] / 2])
    dx, dy = matrix[:, :2] @ centre + matrix[:, 2] - centre
    return scale, float(dx), float(dy)


# -- the backend seam ------------------------------------------------------------------------


def test_is_a_generation_backend_on_its_own_queue() -> None:
    backend = MotionBackend()
    assert isinstance(backend, GenerationBackend)
    assert (backend.name, backend.queue) == ("motion", "motion")


def test_text_to_video_says_how_to_add_a_model() -> None:
    with pytest.raises(CapabilityMissing) as exc:
        MotionBackend().check(JobSpec(mode=Mode.TEXT2VIDEO, prompt="a cat surfing"))
    assert exc.value.message == NO_TEXT_TO_VIDEO
    assert "No text-to-video model is configured" in exc.value.message
    assert "pip install 'reelforge[neural]'" in exc.value.message
    assert "reelforge models add NAME --family wan --path DIR" in exc.value.message
    MotionBackend().check(_spec())  # image-to-video is fine


def test_a_broken_input_image_is_an_invalid_image(tmp_path: Path) -> None:
    bad = tmp_path / "input-0"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(InvalidImage):
        _generate(_spec(), bad)


# -- size, length, encoding -------------------------------------------------------------------


@pytest.mark.parametrize("aspect", list(AspectRatio))
@pytest.mark.parametrize("resolution", list(Resolution))
def test_frames_have_the_exact_requested_size(
    photo_path: Path, aspect: AspectRatio, resolution: Resolution
) -> None:
    clip = _generate(_spec(aspect_ratio=aspect, resolution=resolution), photo_path)
    first = next(clip.frames)
    width, height = frame_size(aspect, resolution)
    assert (clip.width, clip.height) == (width, height)
    assert first.shape == (height, width, 3) and first.dtype == np.uint8


def test_encoded_clip_has_duration_times_fps_frames(photo_path: Path, tmp_path: Path) -> None:
    spec = _spec(aspect_ratio=AspectRatio.PORTRAIT, duration=1.5, fps=12, camera=Camera.PAN_LEFT)
    clip = _generate(spec, photo_path)
    encode_mp4(clip.frames, tmp_path / "clip.mp4", fps=clip.fps)
    info = probe_video(tmp_path / "clip.mp4")
    assert info.frames == clip.frame_count == 18
    assert info.duration == pytest.approx(1.5, abs=1e-3)
    assert (info.width, info.height, info.codec, info.pix_fmt) == (480, 854, "h264", "yuv420p")


# -- the camera moves the right way ----------------------------------------------------------


@pytest.mark.parametrize(
    ("camera", "direction"),
    [
        (Camera.PAN_LEFT, (1, 0)),  # camera turns left: the scene slides right on screen
        (Camera.PAN_RIGHT, (-1, 0)),
        (Camera.TILT_UP, (0, 1)),  # camera tilts up: the scene slides down on screen
        (Camera.TILT_DOWN, (0, -1)),
    ],
)
def test_pans_and_tilts_move_the_picture_the_right_way(
    photo_path: Path, camera: Camera, direction: tuple[int, int]
) -> None:
    frames = list(_generate(_spec(camera=camera, duration=2.0), photo_path).frames)
    dx, dy = _shift(frames[0], frames[-1])
    height, width = frames[0].shape[:2]
    expected = pan_amount(2.0) * (width if direction[0] else height)
    assert dx == pytest.approx(direction[0] * expected, abs=2.0)
    assert dy == pytest.approx(direction[1] * expected, abs=2.0)


@pytest.mark.parametrize(("camera", "zoom_in"), [(Camera.ZOOM_IN, True), (Camera.ZOOM_OUT, False)])
def test_zooms_magnify_or_shrink_by_the_planned_amount(
    photo_path: Path, camera: Camera, zoom_in: bool
) -> None:
    frames = list(_generate(_spec(camera=camera, duration=4.0), photo_path).frames)
    scale, _, _ = _similarity(frames[0], frames[-1])
    expected = zoom_amount(4.0) if zoom_in else 1 / zoom_amount(4.0)
    assert scale == pytest.approx(expected, rel=0.01)


def test_zoom_works_on_a_small_photo_too() -> None:
    # The bundled sample (600x400) is magnified at 1080p: the bicubic path, not the pre-scaled one.
    clip = _generate(_spec(camera=Camera.ZOOM_IN, resolution=Resolution.P1080), sample_image_path())
    frames = list(clip.frames)
    scale, _, _ = _similarity(frames[0], frames[-1])
    assert scale == pytest.approx(zoom_amount(1.0), rel=0.01)


def test_dolly_pushes_in_with_a_drift_chosen_by_the_seed(photo_path: Path) -> None:
    last = {}
    for seed in (1, 2):
        frames = list(
            _generate(_spec(camera=Camera.DOLLY, seed=seed, duration=2), photo_path).frames
        )
        scale, dx, dy = _similarity(frames[0], frames[-1])
        assert scale == pytest.approx(zoom_amount(2.0), rel=0.01)
        last[seed] = (dx, dy)
    (dx1, dy1), (dx2, dy2) = last[1], last[2]
    assert math.hypot(dx1 - dx2, dy1 - dy2) > 10  # different seeds drift different ways


def test_static_shot_does_not_move(photo_path: Path) -> None:
    frames = list(_generate(_spec(camera=Camera.STATIC), photo_path).frames)
    assert len(frames) == 24
    assert all(np.array_equal(frames[0], frame) for frame in frames)
    frames[0][:] = 0  # each frame is its own array: drawing on one leaves the others alone
    assert frames[1].any()


def test_the_prompt_picks_the_move_when_no_camera_is_given(photo_path: Path) -> None:
    spec = _spec(prompt="the camera pans to the left across the table", duration=2.0)
    frames = list(_generate(spec, photo_path).frames)
    dx, dy = _shift(frames[0], frames[-1])
    assert dx > 20 and abs(dy) < 2


# -- how it moves: eased, smooth, sub-pixel --------------------------------------------------


def test_motion_eases_in_and_out(photo_path: Path) -> None:
    frames = list(_generate(_spec(camera=Camera.PAN_RIGHT, duration=2.0), photo_path).frames)
    steps = [abs(_shift(a, b)[0]) for a, b in itertools.pairwise(frames)]
    middle = max(steps[len(steps) // 3 : 2 * len(steps) // 3])
    assert middle > 2.0
    assert steps[0] < 0.25 * middle and steps[-1] < 0.25 * middle
    assert np.argmax(steps) in range(len(steps) // 3, 2 * len(steps) // 3 + 1)


@pytest.mark.parametrize("camera", [Camera.PAN_RIGHT, Camera.TILT_DOWN])
@pytest.mark.parametrize("source_width", [640, 240])  # pre-scaled (minified) / magnified paths
def test_slow_pan_moves_by_smooth_fractions_of_a_pixel(camera: Camera, source_width: int) -> None:
    # 200 frames for ~30 px of travel: a camera that rounds to whole pixels would stand still
    # on some frames and jump a pixel on others (errors of 0.6 px and more, measured).
    size = (source_width, source_width * 9 // 16)
    crop = Rect(0.0, 0.0, float(size[0]), float(size[1]))
    path = camera_path(
        camera, source_size=size, crop=crop, focus=crop.center, frame_count=200, duration=2.0
    )
    renderer = FrameRenderer(_photo_like(*size, seed=3), path, (320, 180))
    frames = [renderer.render(view) for view in path]
    axis = 0 if camera is Camera.PAN_RIGHT else 1
    steps = np.array([-_shift(a, b)[axis] for a, b in itertools.pairwise(frames)])
    planned = np.diff([view[axis] for view in path]) * (320 / path[0].w)
    assert 0.15 < steps.max() < 0.5  # a slow move: well under a pixel per frame
    assert np.all(np.abs(steps - planned) < 0.15)  # every frame moves as planned
    assert np.all(np.abs(np.diff(steps)) < 0.15)  # and the speed changes gradually


# -- framing ------------------------------------------------------------------------------------


def _off_centre_subject(tmp_path: Path) -> tuple[Path, tuple[int, int]]:
    rng = np.random.default_rng(5)
    noise = rng.normal(60, 20, (900, 1600, 3)).clip(0, 255).astype(np.uint8)
    image = np.ascontiguousarray(cv2.GaussianBlur(noise, (0, 0), 1.5))
    centre = (1350, 420)
    cv2.circle(image, centre, 40, (255, 245, 210), -1, cv2.LINE_AA)
    path = tmp_path / "subject.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path, centre


def test_smart_crop_keeps_an_off_centre_subject_in_a_portrait_frame(tmp_path: Path) -> None:
    path, (sx, _) = _off_centre_subject(tmp_path)
    image = np.asarray(cv2.cvtColor(np.asarray(cv2.imread(str(path))), cv2.COLOR_BGR2RGB))
    plan = smart_crop(image, 9 / 16)
    centred_left = (1600 - plan.crop.w) / 2
    assert not centred_left <= sx <= centred_left + plan.crop.w  # a centred crop would miss it
    assert plan.crop.x + 40 <= sx <= plan.crop.x + plan.crop.w - 40  # the whole disc is inside
    assert plan.crop.h == 900  # no resolution thrown away
    # And in the rendered video: the bright subject is on screen.
    clip = _generate(_spec(aspect_ratio=AspectRatio.PORTRAIT, camera=Camera.STATIC), path)
    frame = next(clip.frames)
    assert (frame.min(axis=2) > 200).sum() > 0.5 * math.pi * (40 * 480 / plan.crop.w) ** 2


@pytest.mark.parametrize("camera", list(Camera))
@pytest.mark.parametrize("aspect", [16 / 9, 9 / 16, 1.0])
@pytest.mark.parametrize("duration", [0.5, 5.0, 60.0])
def test_no_viewport_ever_leaves_the_picture(
    camera: Camera, aspect: float, duration: float
) -> None:
    # Borders would show as black or smeared edges; check every frame of every move.
    source = (1200, 800)
    crop_w = min(source[0], source[1] * aspect)
    crop = Rect(
        (source[0] - crop_w) / 2, (source[1] - crop_w / aspect) / 2, crop_w, crop_w / aspect
    )
    for focus in ((crop.x, crop.y), crop.center, (crop.x + crop.w, crop.y + crop.h)):
        path = camera_path(
            camera,
            source_size=source,
            crop=crop,
            focus=focus,
            frame_count=24,
            duration=duration,
            seed=11,
        )
        for view in path:
            assert view.x >= -1e-6 and view.y >= -1e-6
            assert view.x + view.w <= source[0] + 1e-6 and view.y + view.h <= source[1] + 1e-6
            assert view.w / view.h == pytest.approx(aspect)


# -- determinism, progress, cancellation --------------------------------------------------------


def test_same_spec_gives_the_same_frames(photo_path: Path) -> None:
    spec = _spec(camera=Camera.DOLLY, seed=42, duration=0.5)
    first = list(_generate(spec, photo_path).frames)
    second = list(_generate(spec, photo_path).frames)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_progress_is_reported_as_frames_are_produced(photo_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    clip = _generate(_spec(duration=0.5), photo_path, lambda *call: calls.append(call))
    assert calls == [("prepare", 0, 1), ("prepare", 1, 1)]  # nothing rendered yet: lazy
    frames: Iterator[np.ndarray] = clip.frames
    next(frames), next(frames), next(frames)
    assert calls[-1] == ("render", 3, 12)
    list(frames)
    assert [c for c in calls if c[0] == "render"] == [("render", i, 12) for i in range(1, 13)]


def test_render_time_excludes_the_consumer(photo_path: Path) -> None:
    clip = _generate(_spec(duration=0.5), photo_path)
    assert clip.timings["prepare"] > 0
    started = time.perf_counter()
    for _frame in clip.frames:
        time.sleep(0.05)  # a slow consumer (encoder, watermark) must not be billed as render
    wall = time.perf_counter() - started
    assert 0 < clip.timings["render"] < wall - 12 * 0.05 + 0.01


def test_cancelling_stops_the_render_and_leaves_no_file(photo_path: Path, tmp_path: Path) -> None:
    rendered: list[int] = []

    def on_progress(stage: str, done: int, total: int) -> None:
        if stage == "render":
            rendered.append(done)
            if done == 5:
                raise JobInterrupted("cancelled")

    clip = _generate(_spec(duration=2.0), photo_path, on_progress)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(JobInterrupted):
        encode_mp4(clip.frames, out_dir / "clip.mp4", fps=clip.fps)
    assert rendered == [1, 2, 3, 4, 5]  # not one frame more
    assert list(out_dir.iterdir()) == []
