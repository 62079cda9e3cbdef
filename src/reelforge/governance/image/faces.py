"""Faces: dlib's HOG frontal-face detector and its ResNet 128-d face descriptors.

Models: the HOG detector is built into dlib (no file); landmarks come from the 5-point
predictor and descriptors from `dlib_face_recognition_resnet_model_v1.dat`, both shipped by
the `face-recognition-models` package (its 68-point model is *not* used: its training data is
licensed for non-commercial use only). The package's `__init__` imports `pkg_resources`, so
its files are located without importing it. dlib aligns each face into a 150x150 chip; the
descriptor network itself runs in onnxruntime (`descriptor.FaceDescriber`, built from the same
weights file, equal to dlib's own to ~1e-6), because `dlib-bin` has no BLAS and takes 30x
longer.

Descriptors are meant to be compared by Euclidean distance (`distance`); `MATCH_THRESHOLD`
says what counts as the same person.

Speed on the 2-core dev VM (Intel Xeon 2.8 GHz, AVX-512; `bench/frame_check.py`): HOG on the
grey frame, scaled to at most 960 px on its long side, ~30-45 ms (it releases the GIL);
landmarks, chip and descriptor ~4-5 ms a face (dlib's own descriptor: ~110 ms).
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from reelforge.governance.image import MissingDependencyError, as_rgb_uint8, require
from reelforge.governance.image.descriptor import CHIP_SIZE, FaceDescriber

MATCH_THRESHOLD = 0.5
"""Descriptors closer than this (Euclidean) are taken as the same person.

Measured here with the shipped models (`tests/unit/test_image_moderation.py` checks them):

- the same photo (astronaut, face 88 px) re-embedded after a resize x0.8-x2 or a crop:
  0.05-0.11; JPEG quality 90/60/30: 0.06/0.12/0.18; mirrored: 0.18; +40 brightness: 0.11;
- `skimage.data.lfw_subset()` (25x25 grey LFW crops, upscaled to 150 px — far below the
  resolution dlib is made for): the same person in different photos (George W. Bush x4,
  indices 0, 36, 73, 90; Gerhard Schröder, 3 and 97) 0.37-0.58, median 0.51; all other
  pairs (4,943, nearly all different people): minimum 0.39, 0.1 % under 0.47, 0.6 % under
  0.5, 1 % under 0.52, 5 % under 0.58, 8 % under 0.6, median 0.72;
- the astronaut (full resolution) against each of those 100 faces: 0.62 or more.

So re-encodings of one photo sit far inside 0.5; at 25 px, identities overlap and no
threshold separates them (hence `MIN_EMBED_SIZE`). No offline set of full-resolution photos
of several people exists here to measure that case; dlib reports it separable at 0.6.
dlib's own cut is 0.6 (99.38 % on LFW at full resolution). 0.5 is stricter: a match feeds the
likeness registry, where a false match against every enrolled person on every sampled frame
adds up (0.6 % of low-resolution pairs fall under 0.5, 8 % under 0.6); a match is still
only a reason for review or a consent check. Faces under `MIN_EMBED_SIZE` px get no
descriptor at all (too little detail to identify anyone).
"""

MIN_EMBED_SIZE = 40  # px: the shorter side of a face box under which no descriptor is made
DETECT_MAX_SIDE = 960  # px: frames are scaled down to this long side before HOG
# HOG margin: the astronaut's face scores 0.8-1.6 at 80-200 px (0.23 at 72 px, the size limit);
# stray hits on her suit's patches reach 0.27.
MIN_DETECTION_SCORE = 0.3
_PADDING = 0.25  # dlib's default padding around the aligned 150x150 chip
_MODEL_FILES = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")


@dataclass(frozen=True, eq=False)
class Face:
    """A detected face. `box` is (x, y, w, h) in the pixels of the image it was found in;
    `score` is dlib's HOG detection margin (higher is surer, ≥ the detector's min_score);
    `embedding` is the 128-d float32 descriptor, None until `FaceAnalyzer.embed` (or for a
    face too small to describe)."""

    box: tuple[int, int, int, int]
    score: float
    embedding: np.ndarray | None = None


def models_dir() -> Path:
    """The folder holding face-recognition-models' .dat files, found without importing it."""
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "models"
        if all((folder / name).is_file() for name in _MODEL_FILES):
            return folder
    raise MissingDependencyError(["face_recognition_models"])


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two face descriptors (0 = identical)."""
    if a is None or b is None:
        raise ValueError("both faces need an embedding")
    va = np.asarray(a, dtype=np.float64).reshape(-1)
    vb = np.asarray(b, dtype=np.float64).reshape(-1)
    if va.shape != vb.shape:
        raise ValueError(f"descriptor sizes differ: {va.shape} vs {vb.shape}")
    return float(np.linalg.norm(va - vb))


def is_match(a: np.ndarray, b: np.ndarray, threshold: float = MATCH_THRESHOLD) -> bool:
    """Whether two descriptors are taken as the same person."""
    return distance(a, b) < threshold


class FaceAnalyzer:
    """Detects faces (dlib HOG) and describes them (5-point landmarks + ResNet descriptor).

    Frames are converted to grey and scaled down so their long side is at most
    `detect_max_side` before HOG, and the boxes mapped back. With `upsample=0` HOG finds faces
    from ~56-60 px in that scaled image: with the default 960, faces from ~80 px in a 1280x720
    frame and from ~56 px at 854x480 (measured with the astronaut scaled down; at 640 it would
    be ~112 px at 720p). Raise `detect_max_side` or `upsample` to find smaller faces; HOG's time
    grows with the pixels scanned (upsample=1 is 4x).
    Descriptors are computed on the full-resolution image.

    Models load on first use. dlib's detector and landmark predictor are not safe to share
    between threads, so each is used under its own lock; the descriptor network (onnxruntime,
    `descriptor_threads` intra-op threads) runs outside them: one instance can serve several
    threads.
    """

    def __init__(
        self,
        detect_max_side: int = DETECT_MAX_SIDE,
        upsample: int = 0,
        min_score: float = MIN_DETECTION_SCORE,
        min_embed_size: int = MIN_EMBED_SIZE,
        max_embed: int | None = None,
        descriptor_threads: int | None = 1,
    ) -> None:
        if detect_max_side < 32:
            raise ValueError("detect_max_side must be at least 32")
        self.detect_max_side = detect_max_side
        self.upsample = upsample
        self.min_score = min_score
        self.min_embed_size = min_embed_size
        self.max_embed = max_embed  # describe at most this many faces, largest first
        self.descriptor_threads = descriptor_threads  # onnxruntime intra-op threads
        self._detect_lock = threading.Lock()
        self._embed_lock = threading.Lock()
        self._detector: Any = None
        self._shapes: Any = None
        self._describer: FaceDescriber | None = None

    def load(self) -> None:
        """Load the detector and both networks now (they otherwise load on first use)."""
        with self._detect_lock:
            self._get_detector()
        with self._embed_lock:
            self._get_networks()

    @property
    def loaded(self) -> bool:
        """Whether any face model is loaded (they load on first use or `load()`)."""
        return self._detector is not None or self._describer is not None

    def _get_detector(self) -> Any:
        if self._detector is None:
            dlib = require("dlib")
            detector = dlib.get_frontal_face_detector()
            self._detector = detector
        return self._detector

    def _get_networks(self) -> tuple[Any, FaceDescriber]:
        if self._describer is None:
            dlib = require("dlib")
            folder = models_dir()
            describer = FaceDescriber(folder / _MODEL_FILES[1], threads=self.descriptor_threads)
            describer.load()
            self._shapes = dlib.shape_predictor(str(folder / _MODEL_FILES[0]))
            self._describer = describer
        return self._shapes, self._describer

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB image, surest first, without embeddings."""
        image = as_rgb_uint8(rgb)
        height, width = image.shape[:2]
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        scale = min(1.0, self.detect_max_side / max(height, width))
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        with self._detect_lock:
            detector = self._get_detector()
            rects, scores, _ = detector.run(grey, self.upsample, self.min_score)
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            x0 = min(max(0, round(rect.left() / scale)), width - 1)
            y0 = min(max(0, round(rect.top() / scale)), height - 1)
            x1 = min(max(x0 + 1, round((rect.right() + 1) / scale)), width)
            y1 = min(max(y0 + 1, round((rect.bottom() + 1) / scale)), height)
            faces.append(Face((x0, y0, x1 - x0, y1 - y0), float(score)))
        faces.sort(key=lambda f: -f.score)
        return faces

    def embed(self, rgb: np.ndarray, faces: list[Face]) -> list[Face]:
        """The same faces with their 128-d descriptors (None for faces under min_embed_size,
        or beyond max_embed). Boxes are in the pixels of `rgb`."""
        if not faces:
            return []
        image = as_rgb_uint8(rgb)
        chosen = [i for i, f in enumerate(faces) if min(f.box[2], f.box[3]) >= self.min_embed_size]
        chosen.sort(key=lambda i: -faces[i].box[2] * faces[i].box[3])
        if self.max_embed is not None:
            chosen = chosen[: self.max_embed]
        out = [replace(f, embedding=None) for f in faces]
        if not chosen:
            return out
        dlib = require("dlib")
        with self._embed_lock:
            shapes_model, describer = self._get_networks()
            shapes = dlib.full_object_detections()
            for i in chosen:
                x, y, w, h = faces[i].box
                shapes.append(shapes_model(image, dlib.rectangle(x, y, x + w - 1, y + h - 1)))
        chips = np.stack(dlib.get_face_chips(image, shapes, CHIP_SIZE, _PADDING))
        vectors = describer.describe(chips)
        for i, vector in zip(chosen, vectors, strict=True):
            out[i] = replace(out[i], embedding=np.asarray(vector, dtype=np.float32))
        return out

    def analyze(self, rgb: np.ndarray) -> list[Face]:
        """Detect, then describe the faces found (nothing is described when none are)."""
        image = as_rgb_uint8(rgb)
        faces = self.detect(image)
        return self.embed(image, faces) if faces else []
