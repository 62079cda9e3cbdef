"""How long the image checks take per output frame, at 480p and 720p.

Times, per frame, `NudityDetector.signals`, `FaceAnalyzer.detect`, `FaceAnalyzer.embed` (when
faces were found) and the whole `ImageModerator.check_frame` (nudity on a helper thread while
faces run) on scikit-image photos letterboxed into 854x480 and 1280x720 frames: astronaut
(one face), two astronauts side by side (two faces), coffee, chelsea (a cat) and rocket (no
person). Prints p50/p95 in ms over `--repeats` runs after a warm-up. Target (issue 4): a frame
check within 100 ms on the 2-core CPU. The peer: dlib's own `compute_face_descriptor` on the
same faces and landmarks (`dlib desc`), against which `embed` (landmarks, chips and the
onnxruntime descriptor) is compared, with the largest difference between the two descriptors.
Run: `python bench/frame_check.py [--repeats 30]`.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import cv2
import numpy as np

from reelforge.governance.image.faces import DETECT_MAX_SIDE, FaceAnalyzer
from reelforge.governance.image.moderator import ImageModerator
from reelforge.governance.image.nudity import NudityDetector

RESOLUTIONS = {"480p": (854, 480), "720p": (1280, 720)}


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` scaled to fit a black width x height frame, centred (aspect kept)."""
    scale = min(width / image.shape[1], height / image.shape[0])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    small = cv2.resize(image, size, interpolation=interpolation)
    frame = np.zeros((height, width, 3), np.uint8)
    y, x = (height - size[1]) // 2, (width - size[0]) // 2
    frame[y : y + size[1], x : x + size[0]] = small
    return frame


def photos() -> dict[str, np.ndarray]:
    """The bench's source photos, RGB uint8."""
    from skimage import data

    astronaut = data.astronaut()
    return {
        "astronaut": astronaut,
        "astronaut x2": np.concatenate([astronaut, astronaut[:, ::-1]], axis=1),
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket": data.rocket(),
    }


def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    """Milliseconds of each of `repeats` calls after one warm-up, and the last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def pct(times: list[float]) -> str:
    """'p50/p95' of a list of milliseconds."""
    if not times:
        return "-"
    return f"{np.percentile(times, 50):5.1f}/{np.percentile(times, 95):5.1f}"


_DLIB: dict[str, Any] = {}


def dlib_descriptors(frame: np.ndarray, found: list[Any]) -> np.ndarray:
    """dlib's own landmarks + `compute_face_descriptor` for `found` (the peer)."""
    import dlib

    from reelforge.governance.image.faces import models_dir

    if not _DLIB:
        folder = models_dir()
        _DLIB["shapes"] = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        _DLIB["net"] = dlib.face_recognition_model_v1(
            str(folder / "dlib_face_recognition_resnet_model_v1.dat")
        )
    shapes = dlib.full_object_detections()
    for face in found:
        x, y, w, h = face.box
        shapes.append(_DLIB["shapes"](frame, dlib.rectangle(x, y, x + w - 1, y + h - 1)))
    return np.array(_DLIB["net"].compute_face_descriptor(frame, shapes, 0, 0.25), np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--detect-max-side", type=int, default=DETECT_MAX_SIDE)
    parser.add_argument("--upsample", type=int, default=0)
    parser.add_argument("--ort-threads", type=int, default=1)
    parser.add_argument("--max-embed", type=int, default=None, help="faces described per frame")
    parser.add_argument("--descriptor-threads", type=int, default=1)
    args = parser.parse_args()

    nudity = NudityDetector(threads=args.ort_threads)
    faces = FaceAnalyzer(
        detect_max_side=args.detect_max_side,
        upsample=args.upsample,
        max_embed=args.max_embed,
        descriptor_threads=args.descriptor_threads,
    )
    moderator = ImageModerator(nudity, faces)
    sequential = ImageModerator(nudity, faces, parallel=False)
    moderator.load()
    print(
        f"cpus={os.cpu_count()} repeats={args.repeats} detect_max_side={args.detect_max_side} "
        f"upsample={args.upsample} ort_threads={args.ort_threads} max_embed={args.max_embed} "
        f"descriptor_threads={args.descriptor_threads}; "
        "ms p50/p95"
    )
    header = f"{'frame':<13} {'res':<5} {'faces':>5}  {'nudity':>11}  {'detect':>11}  "
    header += f"{'embed':>11}  {'dlib desc':>11}  {'check_frame':>11}  {'sequential':>11}"
    print(header)
    worst, ratios, differences = 0.0, [], []
    for name, photo in photos().items():
        for res, (width, height) in RESOLUTIONS.items():
            frame = letterbox(photo, width, height)
            t_nudity, _ = timed(partial(nudity.signals, frame, "frame"), args.repeats)
            t_detect, found = timed(partial(faces.detect, frame), args.repeats)
            t_embed: list[float] = []
            t_dlib: list[float] = []
            if found:
                t_embed, described = timed(partial(faces.embed, frame, found), args.repeats)
                t_dlib, reference = timed(partial(dlib_descriptors, frame, found), args.repeats)
                ratios.append(np.median(t_dlib) / np.median(t_embed))
                ours = np.stack([f.embedding for f in described])
                differences.append(float(np.abs(ours - reference).max()))
            t_check, (signals, _) = timed(partial(moderator.check_frame, frame), args.repeats)
            t_seq, _ = timed(partial(sequential.check_frame, frame), args.repeats)
            worst = max(worst, float(np.percentile(t_check, 95)))
            print(
                f"{name:<13} {res:<5} {len(found):>5}  {pct(t_nudity):>11}  {pct(t_detect):>11}  "
                f"{pct(t_embed):>11}  {pct(t_dlib):>11}  {pct(t_check):>11}  {pct(t_seq):>11}"
                + (f"  signals={[s.rule for s in signals]}" if signals else "")
            )
    moderator.close()
    if ratios:
        print(
            f"dlib's descriptor vs embed (p50): {min(ratios):.1f}x-{max(ratios):.1f}x as long; "
            f"largest descriptor difference {max(differences):.1e}"
        )
    verdict = "meets" if worst <= 100 else "misses"
    print(f"worst check_frame p95: {worst:.1f} ms ({verdict} the 100 ms target)")


if __name__ == "__main__":
    main()
