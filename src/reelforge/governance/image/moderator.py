"""One object for the image checks: nudity signals and faces, for input images and frames.

Matching faces against the likeness registry is the registry's job: `ImageModerator` hands
it the faces with their descriptors (see `faces.distance` and `faces.MATCH_THRESHOLD`).

`check_frame` runs the nudity model (onnxruntime, one intra-op thread by default here) on a
helper thread while face detection (dlib HOG) runs on the caller's: both release the GIL, so
on 2 cores the nudity check costs little extra. Per frame on the 2-core dev VM
(`bench/frame_check.py`): ~40-65 ms without faces (mostly HOG), plus ~7 ms for each face
described.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from reelforge.governance.image import MissingDependencyError, as_rgb_uint8, missing_modules
from reelforge.governance.image.faces import Face, FaceAnalyzer
from reelforge.governance.image.guard import ImageGuard
from reelforge.governance.image.nudity import NudityDetector
from reelforge.governance.signals import Signal

log = logging.getLogger(__name__)

#: The modules image moderation imports (the `governance` extra provides them).
REQUIRED_MODULES = ("nudenet", "onnxruntime", "onnx", "dlib", "face_recognition_models")


def missing() -> list[str]:
    """The modules image moderation needs that are not installed (empty when all are)."""
    return missing_modules(REQUIRED_MODULES)


def available() -> bool:
    """Whether nudenet, onnxruntime, onnx, dlib and face-recognition-models are all installed."""
    return not missing()


def require_available() -> None:
    """Raise `MissingDependencyError`, naming what to install, unless `available()`."""
    absent = missing()
    if absent:
        raise MissingDependencyError(absent)


class ImageModerator:
    """Nudity detection and face analysis behind one object; models load on first use.

    Thread-safe, and meant to be shared: create one per process (`load()` warms it up).
    Raises `MissingDependencyError` when the `governance` extra is not installed.
    `parallel=False` runs the two checks of `check_frame` one after the other.
    """

    def __init__(
        self,
        nudity: NudityDetector | None = None,
        faces: FaceAnalyzer | None = None,
        parallel: bool = True,
    ) -> None:
        require_available()
        self.nudity = nudity or NudityDetector(threads=1)
        self.face_analyzer = faces or FaceAnalyzer()
        self.parallel = parallel
        self.guards: list[ImageGuard] = []  # an operator's image guards (governance/image/guard)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def load(self) -> None:
        """Load every model now rather than on the first image."""
        self.nudity.load()
        self.face_analyzer.load()

    def signals(self, rgb: np.ndarray, source: str = "image") -> list[Signal]:
        """Moderation signals for an RGB image: nudity, and any image guard's."""
        image = as_rgb_uint8(rgb)
        return self.nudity.signals(image, source) + self._guard_signals(image, source)

    def _guard_signals(self, image: np.ndarray, source: str) -> list[Signal]:
        found: list[Signal] = []
        for guard in list(self.guards):
            try:
                found += guard.signals(image, source)
            except Exception:  # a broken operator model must not take NudeNet down with it
                log.exception("image guard %s failed; continuing without it", guard.name)
                self.guards.remove(guard)
        return found

    def faces(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB image with their descriptors (computed only when faces are found)."""
        return self.face_analyzer.analyze(as_rgb_uint8(rgb))

    def check_frame(
        self, rgb: np.ndarray, source: str = "frame"
    ) -> tuple[list[Signal], list[Face]]:
        """Both checks on one sampled output frame: (signals, faces with descriptors)."""
        image = as_rgb_uint8(rgb)
        if not self.parallel:
            found = self.nudity.signals(image, source) + self._guard_signals(image, source)
            return found, self.face_analyzer.analyze(image)
        pending = self._executor().submit(self.nudity.signals, image, source)
        try:
            faces = self.face_analyzer.analyze(image)
            guarded = self._guard_signals(image, source)
        finally:
            signals = pending.result()
        return signals + guarded, faces

    def close(self) -> None:
        """Stop the helper thread (a later `check_frame` starts a new one)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="reelforge-nudity")
            return self._pool
