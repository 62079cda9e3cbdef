"""Nudity in images and frames: nudenet's body-part detector and the policy over its parts.

nudenet 3.4 ships `320n.onnx`, a YOLOv8n detector for 18 body-part classes. It reports parts,
not a verdict; `PART_POLICY` below is the verdict.

**Class → category mapping** (the score of a `Signal` is the detection score times the weight):

| nudenet class | category | weight | why |
|---|---|---|---|
| FEMALE_GENITALIA_EXPOSED | sexual | 1.0 | explicit |
| MALE_GENITALIA_EXPOSED | sexual | 1.0 | explicit |
| ANUS_EXPOSED | sexual | 1.0 | explicit |
| FEMALE_BREAST_EXPOSED | sexual | 1.0 | nudity (a profile may review it: medical, nursing) |
| BUTTOCKS_EXPOSED | sexual | 0.8 | swimwear and round objects trigger it (see below) |
| MALE_BREAST_EXPOSED | — | — | shirtless men: sport, beach, a boxing montage |
| *_COVERED (genitalia, breast, buttocks, anus) | — | — | clothed, underwear or swimwear |
| BELLY_*, ARMPITS_*, FEET_* | — | — | not sexual by themselves |
| FACE_FEMALE, FACE_MALE | — | — | faces are the face analyser's business |

Detections scoring under `MIN_DETECTION_SCORE` (0.4) give no signal: nudenet keeps boxes
from 0.25, and on benign photos its weak boxes are noise (the coffee cup in scikit-image's
`coffee()` is BUTTOCKS_EXPOSED at 0.33). Known false positive above it: round, smooth shapes
— scikit-image's synthetic `colorwheel()` is BUTTOCKS_EXPOSED at 0.85 — one reason that class
is weighted down; a profile may send `nudenet:BUTTOCKS_EXPOSED` to review rather than block.

One `Signal` per sexual class found, with the best detection's score; `rule` is
``"nudenet:<CLASS>"`` so a profile can treat classes differently, and `detail` holds the box
(x, y, w, h in the pixels of the image given) and how many such parts were found.

**Input.** nudenet pads the image to a square at the bottom/right and resizes it to 320x320
(`NudeDetector(inference_resolution=320)`; the model is trained at 320). Its own `detect`
pads the full-size frame before resizing and decodes boxes in a Python loop over all 2100
anchors (~25-35 ms a 720p frame here). `NudityDetector` resizes first (area averaging), pads
with black at the bottom/right and decodes with numpy (~10-15 ms a frame on 2 cores).

Channel order: the model is an ultralytics YOLOv8, which trains on RGB. nudenet 3.4.2's
`_read_image` converts with `COLOR_RGBA2BGR` (a swap on 3-channel input) and then
`blobFromImage(swapRB=True)`, so a BGR array or file, as its README suggests, reaches the
model as BGR (notAI-tech/NudeNet#203: the code before that change fed RGB). Here the model
gets RGB; on the astronaut photo that raises nudenet's own FACE_FEMALE score from 0.74 to
0.82. Passing an *RGB* array to nudenet's `detect` cancels the double swap: the tests check
that its detections then agree with `NudityDetector`.

No age estimate exists here: `Category.SEXUAL_MINORS` is not produced by this detector.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from reelforge.governance.image import MissingDependencyError, as_rgb_uint8, require
from reelforge.governance.runtime import LazySession, cpu_session
from reelforge.governance.signals import Category, Signal

#: nudenet 3.4's class order (the model's output rows 4..21); a test checks it against nudenet.
LABELS: tuple[str, ...] = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)

#: nudenet class → (category, weight). Classes not listed produce no signal.
PART_POLICY: dict[str, tuple[Category, float]] = {
    "FEMALE_GENITALIA_EXPOSED": (Category.SEXUAL, 1.0),
    "MALE_GENITALIA_EXPOSED": (Category.SEXUAL, 1.0),
    "ANUS_EXPOSED": (Category.SEXUAL, 1.0),
    "FEMALE_BREAST_EXPOSED": (Category.SEXUAL, 1.0),
    "BUTTOCKS_EXPOSED": (Category.SEXUAL, 0.8),
}

INPUT_SIZE = 320  # what 320n.onnx is trained at and nudenet resizes to
CANDIDATE_SCORE = 0.2  # nudenet keeps anchors whose best class score reaches this...
NMS_SCORE = 0.25  # ...then NMS drops boxes under this score
NMS_IOU = 0.45
MIN_DETECTION_SCORE = 0.4  # weakest detection that becomes a signal (see the module docstring)


def bundled_model_path() -> Path:
    """The `320n.onnx` inside the installed nudenet package, found without importing it."""
    try:
        spec = importlib.util.find_spec("nudenet")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(["nudenet"])
    for location in spec.submodule_search_locations:
        path = Path(location) / "320n.onnx"
        if path.is_file():
            return path
    raise MissingDependencyError(["nudenet"])


def signals_from_detections(
    detections: list[dict[str, Any]], source: str = "image", min_score: float = MIN_DETECTION_SCORE
) -> list[Signal]:
    """Apply `PART_POLICY` to nudenet-style detections (``{"class", "score", "box"}``).

    Detections under `min_score` and classes outside the policy are ignored; each remaining
    class gives one signal carrying its best detection (score x weight, clamped to [0, 1]).
    Signals come strongest first.
    """
    best: dict[str, tuple[float, list[int], int]] = {}
    for det in detections:
        label = str(det.get("class", ""))
        score = float(det.get("score", 0.0))
        if label not in PART_POLICY or not score >= min_score:
            continue
        box = [int(v) for v in det.get("box", [])]
        prev = best.get(label)
        count = prev[2] + 1 if prev else 1
        if prev is None or score > prev[0]:
            best[label] = (score, box, count)
        else:
            best[label] = (prev[0], prev[1], count)
    out = []
    for label, (score, box, count) in best.items():
        category, weight = PART_POLICY[label]
        out.append(
            Signal(
                category=category,
                score=min(1.0, max(0.0, score * weight)),
                rule=f"nudenet:{label}",
                source=source,
                detail=f"box={box} detector_score={score:.3f} count={count}",
            )
        )
    out.sort(key=lambda s: (-s.score, s.rule))
    return out


class NudityDetector:
    """nudenet's `320n.onnx` behind a lazily created, shared onnxruntime session.

    One instance per process is enough: the session is created on first use under a lock, and
    onnxruntime's `InferenceSession.run` is safe to call from several threads at once.
    `threads` sets onnxruntime's intra-op threads (None: onnxruntime's default, all cores).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        min_score: float = MIN_DETECTION_SCORE,
    ) -> None:
        self._model_path = Path(model_path) if model_path is not None else None
        self._threads = threads
        self.min_score = min_score
        self._input_name = "images"
        self._session = LazySession(self._build_session)

    def load(self) -> None:
        """Create the onnxruntime session now (it is otherwise created on first use)."""
        self._session.get()

    @property
    def loaded(self) -> bool:
        """Whether the session exists (it is created on first use or `load()`)."""
        return self._session.loaded

    def _build_session(self) -> Any:
        require("onnxruntime")
        session = cpu_session(str(self._model_path or bundled_model_path()), self._threads)
        self._input_name = session.get_inputs()[0].name
        return session

    def detect(self, rgb: np.ndarray) -> list[dict[str, Any]]:
        """Run the detector on an RGB image; nudenet-format detections, best first."""
        image = as_rgb_uint8(rgb)
        session = self._session.get()
        blob, scale = _preprocess(image)
        output = session.run(None, {self._input_name: blob})[0]
        return _decode(output[0], scale, image.shape[1], image.shape[0])

    def signals(self, rgb: np.ndarray, source: str = "image") -> list[Signal]:
        """Sexual-content signals for an RGB image (see the module docstring for the policy)."""
        return signals_from_detections(self.detect(rgb), source, self.min_score)


def _preprocess(image: np.ndarray) -> tuple[np.ndarray, float]:
    """(1, 3, 320, 320) float32 RGB blob in [0, 1], and the image → model scale factor."""
    height, width = image.shape[:2]
    scale = INPUT_SIZE / max(height, width)
    new_w = min(INPUT_SIZE, max(1, round(width * scale)))
    new_h = min(INPUT_SIZE, max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    blob = np.zeros((1, 3, INPUT_SIZE, INPUT_SIZE), np.float32)
    blob[0, :, :new_h, :new_w] = small.transpose(2, 0, 1)
    blob *= 1.0 / 255.0
    return blob, scale


def _decode(output: np.ndarray, scale: float, width: int, height: int) -> list[dict[str, Any]]:
    """YOLOv8 output (4 + classes, anchors) → nudenet-format detections after NMS."""
    rows = output.T  # (anchors, 4 + classes)
    class_scores = rows[:, 4:]
    class_ids = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(rows)), class_ids]
    keep = scores >= CANDIDATE_SCORE
    if not keep.any():
        return []
    rows, class_ids, scores = rows[keep], class_ids[keep], scores[keep]
    cx, cy, w, h = (rows[:, i] / scale for i in range(4))
    x = np.clip(cx - w / 2, 0, width)
    y = np.clip(cy - h / 2, 0, height)
    w = np.minimum(w, width - x)
    h = np.minimum(h, height - y)
    boxes = np.stack([x, y, w, h], axis=1).astype(np.float64)
    indices = cv2.dnn.NMSBoxes(boxes.tolist(), scores.astype(float).tolist(), NMS_SCORE, NMS_IOU)
    detections: list[dict[str, Any]] = []
    for i in np.asarray(indices, dtype=np.int64).reshape(-1):
        bx, by, bw, bh = boxes[i]
        detections.append(
            {
                "class": LABELS[int(class_ids[i])],
                "score": float(scores[i]),
                "box": [int(bx), int(by), int(bw), int(bh)],
            }
        )
    detections.sort(key=lambda d: -float(d["score"]))
    return detections
