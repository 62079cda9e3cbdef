"""The image-guard seam: an operator's image safety model checks input images and sampled
output frames beside NudeNet and the face registry (issue 17 item 5).

Anything with ``name`` and ``signals(rgb, source) -> list[Signal]`` plugs in
(``ImageGuard``); its signals carry the rule ``image_guard:<name>:<label>`` (stage
``image_guard``) and go through the profile like every other image signal (its block
threshold; the review band only where the profile sets ``image_review_threshold``).

One implementation ships: ``OnnxImageClassifier``, an image classifier the operator exported
to ONNX (an NSFW or violence classifier, or a multimodal guard's vision head), read from a
local directory — never downloaded — and run by onnxruntime on CPU:

* ``model.onnx``: one float32 input (1, 3, H, W), RGB, one output of logits (1, n labels);
* ``labels.json``: ``{"size": [H, W], "mean": [r, g, b], "std": [r, g, b],
  "labels": ["normal", "nsfw", ...], "categories": {"nsfw": "sexual", ...}}`` — a label not in
  ``categories`` (``normal``) gives no signal; the score is the label's softmax probability.

Set ``RF_IMAGE_GUARD_DIR`` to use one.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from reelforge.governance.runtime import cpu_session
from reelforge.governance.signals import Category, Signal


class ImageGuard(Protocol):
    name: str

    def signals(self, rgb: np.ndarray, source: str = "image") -> list[Signal]: ...


class ImageGuardError(ValueError):
    """The directory does not hold a usable classifier."""


class OnnxImageClassifier:
    """An ONNX image classifier with a label → category map (see the module docstring)."""

    def __init__(self, path: Path, name: str | None = None, threads: int = 1) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        try:
            spec = json.loads((self.path / "labels.json").read_text())
            self.size = (int(spec["size"][0]), int(spec["size"][1]))
            self.mean = np.asarray(spec.get("mean", [0.0, 0.0, 0.0]), dtype=np.float32)
            self.std = np.asarray(spec.get("std", [1.0, 1.0, 1.0]), dtype=np.float32)
            self.labels = [str(label) for label in spec["labels"]]
            self.categories = {
                str(label): Category(str(category))
                for label, category in (spec.get("categories") or {}).items()
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ImageGuardError(f"{self.path}/labels.json: {exc}") from None
        if not (self.path / "model.onnx").is_file():
            raise ImageGuardError(f"{self.path} has no model.onnx")
        unknown = set(self.categories) - set(self.labels)
        if unknown:
            raise ImageGuardError(f"{self.path}: categories for unknown labels {sorted(unknown)}")
        self._threads = threads
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def _get(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = cpu_session(str(self.path / "model.onnx"), self._threads)
        return self._session

    def probabilities(self, rgb: np.ndarray) -> dict[str, float]:
        """Softmax probability per label for an RGB uint8 image."""
        height, width = self.size
        resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        x = (resized.astype(np.float32) / 255.0 - self.mean) / self.std
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        session = self._get()
        logits = np.asarray(
            session.run(None, {session.get_inputs()[0].name: x})[0], dtype=np.float64
        ).reshape(-1)
        if logits.shape[0] != len(self.labels):
            raise ImageGuardError(
                f"{self.path}: {logits.shape[0]} outputs for {len(self.labels)} labels"
            )
        exp = np.exp(logits - logits.max())
        probs = exp / exp.sum()
        return {label: float(p) for label, p in zip(self.labels, probs, strict=True)}

    def signals(self, rgb: np.ndarray, source: str = "image") -> list[Signal]:
        probs = self.probabilities(rgb)
        return [
            Signal(category, probs[label], f"image_guard:{self.name}:{label}", source)
            for label, category in self.categories.items()
        ]
