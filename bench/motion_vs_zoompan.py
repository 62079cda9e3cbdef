"""reelforge's motion backend vs ffmpeg's `zoompan`: speed, fidelity and jitter of a zoom.

A 5 s 1080p24 zoom in (1.0 -> 1.25, sine ease, about the centre of a 16:9 crop) over a
4000x3000 source, rendered and encoded by each contender with the same libx264 settings (CRF 20,
preset veryfast, yuv420p, BT.709), timed in the same run. Each output is then decoded and
compared with a reference made by *exact* area averaging of the source over every output
pixel's footprint (a float64 summed-area table, so the box filter is exact for any sub-pixel
footprint), following the same analytic camera path:

- PSNR (RGB, mean over frames) against the reference;
- registration error: how far each frame's content sits from where the path says it should,
  by phase correlation of 9 tiles per frame against the reference (RMS, pixels);
- shake: RMS of the frame-to-frame change of that error (what the eye sees as jitter);
- stutter frames: consecutive frames whose measured motion is under 25% (a stall) or over
  175% (a jump) of the planned motion, where the planned motion is at least 0.3 px.

Contenders: reelforge (in-process: load PNG, plan, render, encode); ffmpeg zoompan on the
source; ffmpeg zoompan on a 2x upscaled source (the usual fix for zoompan's integer steps).

The source: no real 4000x3000 photo ships offline, so the bundled sample photo (600x400, CC0)
is mirrored 2x2, upscaled with Lanczos, and given real high-frequency detail that makes aliasing
and jitter visible: per-pixel film grain, a block of 1-px text, a 72-spoke Siemens star and a
1-px line grating. Run: `python bench/motion_vs_zoompan.py` (about 2-4 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from reelforge.backends.motion.camera import Rect, camera_path, zoom_amount
from reelforge.backends.motion.render import DEFAULT_SUPERSAMPLE, FrameRenderer
from reelforge.domain.spec import Camera
from reelforge.media.encode import DEFAULT_CRF, DEFAULT_PRESET, encode_mp4
from reelforge.media.images import load_image, sample_image_path

SOURCE_W, SOURCE_H = 4000, 3000
OUT_W, OUT_H = 1920, 1080
FPS, DURATION = 24, 5.0
FRAMES = round(FPS * DURATION)
RESULTS = Path(__file__).resolve().parent / "results"
TILE = 256


# -- the source -----------------------------------------------------------------------------


def build_source(path: Path) -> None:
    """A 4000x3000 photo-like PNG with real fine detail (see the module docstring)."""
    photo = load_image(sample_image_path())
    tile = np.concatenate([photo, photo[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1]], axis=0)  # mirrored: seamless, 1200x800
    crop_w = tile.shape[0] * SOURCE_W // SOURCE_H
    left = (tile.shape[1] - crop_w) // 2
    tile = tile[:, left : left + crop_w]
    image = cv2.resize(tile, (SOURCE_W, SOURCE_H), interpolation=cv2.INTER_LANCZOS4)
    grain = np.random.default_rng(0).normal(0, 6, (SOURCE_H, SOURCE_W, 1))
    image = np.clip(image.astype(np.float32) + grain, 0, 255).astype(np.uint8)
    text = (
        "reelforge sub-pixel motion 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvw"
    )
    for row in range(40):
        cv2.putText(
            image, text[: 30 + (row * 7) % 60], (2300, 1900 + row * 22),
            cv2.FONT_HERSHEY_PLAIN, 1.0, (255, 255, 255), 1, cv2.LINE_AA,
        )  # fmt: skip
    cx, cy, radius = 900, 2200, 500
    yy, xx = np.mgrid[-radius:radius, -radius:radius]
    inside = np.hypot(xx, yy) < radius
    spokes = np.sin(np.arctan2(yy, xx) * 72) > 0
    patch = image[cy - radius : cy + radius, cx - radius : cx + radius]
    patch[inside] = np.where(spokes[inside][:, None], 240, 20)
    grating = image[300:700, 2800:3700]
    grating[:, ::2], grating[:, 1::2] = 0, 255
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def centre_crop() -> Rect:
    height = SOURCE_W * OUT_H / OUT_W
    return Rect(0.0, (SOURCE_H - height) / 2, float(SOURCE_W), height)


def zoom_path() -> list[Rect]:
    crop = centre_crop()
    return camera_path(
        Camera.ZOOM_IN,
        source_size=(SOURCE_W, SOURCE_H),
        crop=crop,
        focus=crop.center,
        frame_count=FRAMES,
        duration=DURATION,
    )


# -- contenders -----------------------------------------------------------------------------


def run_reelforge(source: Path, out: Path, supersample: int = DEFAULT_SUPERSAMPLE) -> float:
    """Load, plan, render and encode in-process, exactly as the motion backend does."""
    started = time.perf_counter()
    image = load_image(source)
    path = zoom_path()
    renderer = FrameRenderer(image, path, (OUT_W, OUT_H), supersample=supersample)
    del image
    frames = (renderer.render(view) for view in path)
    encode_mp4(frames, out, fps=FPS, crf=DEFAULT_CRF, preset=DEFAULT_PRESET)
    return time.perf_counter() - started


def find_ffmpeg() -> tuple[str, str]:
    """The ffmpeg binary to use and where it came from."""
    found = shutil.which("ffmpeg")
    if found:
        return found, f"system ffmpeg at {found}"
    try:
        import imageio_ffmpeg
    except ImportError:
        sys.exit("ffmpeg not found: `apt-get install ffmpeg` or `pip install imageio-ffmpeg`")
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    return exe, f"imageio-ffmpeg's bundled ffmpeg at {exe}"


def run_zoompan(ffmpeg: str, source: Path, out: Path, upscale: int = 1) -> float:
    """zoompan over the same crop and zoom curve; YUV 4:4:4 in so x steps by 1 px, not 2."""
    crop = centre_crop()
    zoom = zoom_amount(DURATION)
    curve = f"pow({zoom},(1-cos(PI*on/{FRAMES - 1}))/2)"
    filters = [
        f"crop={SOURCE_W}:{round(crop.h)}:0:{round(crop.y)}",
        "scale=out_color_matrix=bt709:out_range=tv",
        "format=yuv444p",
    ]
    if upscale > 1:
        filters.append(f"scale=iw*{upscale}:ih*{upscale}:flags=lanczos")
    filters += [
        f"zoompan=z='{curve}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"
        f":d={FRAMES}:s={OUT_W}x{OUT_H}:fps={FPS}",
        "format=yuv420p",
    ]
    command = [
        ffmpeg, "-v", "error", "-y", "-i", str(source), "-vf", ",".join(filters),
        "-frames:v", str(FRAMES), "-c:v", "libx264", "-crf", str(DEFAULT_CRF),
        "-preset", DEFAULT_PRESET, "-pix_fmt", "yuv420p", "-colorspace", "bt709",
        "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
        "-movflags", "+faststart", str(out),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


# -- the exact reference ----------------------------------------------------------------------


class ExactReference:
    """Box-filtered (area-averaged) views of the source, exact for fractional footprints.

    With a summed-area table S of the piecewise-constant source, the integral over any
    rectangle is a bilinear interpolation of S at its corners, exactly; the grid of output
    pixel corners is separable, so each frame is two 1-D interpolations of S.
    """

    def __init__(self, image: np.ndarray) -> None:
        height, width = image.shape[:2]
        table = np.zeros((height + 1, width + 1, 3), np.float64)
        table[1:, 1:] = image.astype(np.float64).cumsum(0).cumsum(1)
        self._table = table

    def render(self, view: Rect) -> np.ndarray:
        ys = view.y + np.arange(OUT_H + 1) * (view.h / OUT_H)
        xs = view.x + np.arange(OUT_W + 1) * (view.w / OUT_W)
        rows = _lerp_rows(self._table, ys)  # (OUT_H+1, W+1, 3)
        corners = _lerp_rows(rows.transpose(1, 0, 2), xs).transpose(1, 0, 2)
        area = (view.w / OUT_W) * (view.h / OUT_H)
        return (corners[1:, 1:] - corners[:-1, 1:] - corners[1:, :-1] + corners[:-1, :-1]) / area


def _lerp_rows(table: np.ndarray, positions: np.ndarray) -> np.ndarray:
    index = np.clip(np.floor(positions).astype(int), 0, table.shape[0] - 2)
    frac = (positions - index)[:, None, None]
    return table[index] * (1 - frac) + table[index + 1] * frac


# -- analysis -------------------------------------------------------------------------------


@dataclass
class Quality:
    psnr: float
    registration_rms: float
    shake_rms: float
    stutter_frames: int


def decoded_frames(path: Path) -> Iterator[np.ndarray]:
    """Frames as a BT.709 player shows them."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.reformat(
                format="rgb24", src_colorspace=Colorspace.ITU709, src_color_range=ColorRange.MPEG
            ).to_ndarray()


TILE_CENTRES = [
    (int(OUT_W * fx), int(OUT_H * fy)) for fy in (0.2, 0.5, 0.8) for fx in (0.2, 0.5, 0.8)
]
_WINDOW = cv2.createHanningWindow((TILE, TILE), cv2.CV_32F)


def _tiles(frame: np.ndarray) -> list[np.ndarray]:
    grey = cv2.cvtColor(frame.astype(np.float32), cv2.COLOR_RGB2GRAY)
    half = TILE // 2
    return [grey[y - half : y + half, x - half : x + half] for x, y in TILE_CENTRES]


def _phase_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    (dx, dy), _ = cv2.phaseCorrelate(a, b, _WINDOW)
    return np.array([dx, dy])


def planned_motion(path: list[Rect], index: int, point: tuple[int, int]) -> np.ndarray:
    """How far the content at output pixel `point` of frame `index` moves in the next frame."""
    a, b = path[index], path[index + 1]
    sx = a.x + (point[0] + 0.5) * a.w / OUT_W
    sy = a.y + (point[1] + 0.5) * a.h / OUT_H
    return np.array(
        [(sx - b.x) * OUT_W / b.w - 0.5 - point[0], (sy - b.y) * OUT_H / b.h - 0.5 - point[1]]
    )


class Analysis:
    """Streams one contender's frames against the reference frames, one frame at a time."""

    def __init__(self, path: list[Rect]) -> None:
        self._path = path
        self._psnr: list[float] = []
        self._errors: list[list[np.ndarray]] = []

    def add(
        self, frame: np.ndarray, reference: np.ndarray, reference_tiles: list[np.ndarray]
    ) -> None:
        mse = float(np.mean((frame.astype(np.float64) - reference) ** 2))
        self._psnr.append(10 * math.log10(255**2 / max(mse, 1e-12)))
        tiles = _tiles(frame)
        self._errors.append(
            [_phase_shift(r, t) for r, t in zip(reference_tiles, tiles, strict=True)]
        )

    def result(self) -> Quality:
        error = np.array(self._errors)  # (frames, tiles, 2): content offset from the plan
        shake = np.diff(error, axis=0)  # how much that offset changes from frame to frame
        # Motion actually shown = planned motion + change of offset. Measuring it this way
        # (against the clean reference) is far less noisy than correlating two encoded frames.
        stutter = 0
        for index in range(len(self._path) - 1):
            for tile, centre in enumerate(TILE_CENTRES):
                planned = planned_motion(self._path, index, centre)
                expected = float(np.linalg.norm(planned))
                shown = float(np.linalg.norm(planned + shake[index, tile]))
                if expected >= 0.3 and not 0.25 * expected <= shown <= 1.75 * expected:
                    stutter += 1
                    break
        return Quality(
            psnr=float(np.mean(self._psnr)),
            registration_rms=float(np.sqrt(np.mean(np.sum(error**2, axis=2)))),
            shake_rms=float(np.sqrt(np.mean(np.sum(shake**2, axis=2)))),
            stutter_frames=stutter,
        )


def analyse_all(outputs: dict[str, Path], path: list[Rect], source: Path) -> dict[str, Quality]:
    """Decode every contender in lockstep; each reference frame is made once and dropped."""
    reference = ExactReference(load_image(source))
    analyses = {name: Analysis(path) for name in outputs}
    streams = {name: decoded_frames(out) for name, out in outputs.items()}
    for view in path:
        expected = reference.render(view)
        expected_tiles = _tiles(expected)
        for name, stream in streams.items():
            frame = next(stream, None)
            if frame is None:
                raise SystemExit(f"{name} wrote fewer than {len(path)} frames")
            analyses[name].add(frame, expected, expected_tiles)
    return {name: analysis.result() for name, analysis in analyses.items()}


def x264_version(path: Path) -> str:
    match = re.search(rb"x264 - core (\d+)( r\d+)?", path.read_bytes()[:200_000])
    return match.group(0).decode() if match else "unknown"


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per contender")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    source = RESULTS / "zoom_source_4000x3000.png"
    if not source.exists():
        build_source(source)
    ffmpeg, ffmpeg_origin = find_ffmpeg()
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout
    print(f"ffmpeg: {ffmpeg_origin} ({version.splitlines()[0]})")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    print(
        f"clip: {FRAMES} frames {OUT_W}x{OUT_H}@{FPS}, zoom 1 -> {zoom_amount(DURATION)}, "
        f"source {SOURCE_W}x{SOURCE_H}, x264 crf {DEFAULT_CRF} preset {DEFAULT_PRESET}"
    )

    contenders = {
        "reelforge motion": lambda out: run_reelforge(source, out),
        "reelforge, supersample=1": lambda out: run_reelforge(source, out, supersample=1),
        "ffmpeg zoompan": lambda out: run_zoompan(ffmpeg, source, out),
        "zoompan, 2x upscale": lambda out: run_zoompan(ffmpeg, source, out, upscale=2),
    }
    outputs = {name: RESULTS / f"zoom_{i}.mp4" for i, name in enumerate(contenders)}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeats):  # interleaved, so load from neighbours hits all alike
        for name, run in contenders.items():
            times[name].append(run(outputs[name]))

    results = analyse_all(outputs, zoom_path(), source)

    print()
    print(
        f"{'contender':26} {'time s':>8} {'PSNR dB':>8} {'reg. RMS px':>12} "
        f"{'shake px':>9} {'stutter':>8}  x264"
    )
    for name, quality in results.items():
        best = min(times[name])
        print(
            f"{name:26} {best:8.2f} {quality.psnr:8.2f} {quality.registration_rms:12.3f} "
            f"{quality.shake_rms:9.3f} {quality.stutter_frames:8d}  {x264_version(outputs[name])}"
        )
    ours, ours_time = results["reelforge motion"], min(times["reelforge motion"])
    print()
    for name in ("ffmpeg zoompan", "zoompan, 2x upscale", "reelforge, supersample=1"):
        peer, peer_time = results[name], min(times[name])
        print(
            f"{name} vs reelforge motion: time {peer_time / ours_time:.2f}x, "
            f"PSNR {peer.psnr - ours.psnr:+.2f} dB, "
            f"registration error {peer.registration_rms / ours.registration_rms:.1f}x, "
            f"shake {peer.shake_rms / ours.shake_rms:.1f}x, "
            f"stutter frames {peer.stutter_frames} vs {ours.stutter_frames}"
        )
    print(
        "all timed runs (s): "
        + "; ".join(f"{n}: {', '.join(f'{t:.2f}' for t in ts)}" for n, ts in times.items())
    )


if __name__ == "__main__":
    main()
