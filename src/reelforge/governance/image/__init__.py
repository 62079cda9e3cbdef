"""Image-side moderation: nudity, faces (for the likeness registry) and output-frame sampling.

The parts live in submodules, imported directly so that nothing heavy loads before it is used:

- `nudity.NudityDetector`: nudenet's body-part detector and the policy that turns its parts
  into `Signal`s;
- `faces.FaceAnalyzer`: dlib HOG face detection and 128-d ResNet descriptors, with
  `faces.distance` and `faces.MATCH_THRESHOLD`;
- `moderator.ImageModerator`: both of the above behind one object, plus `available()`;
- `sampling.sample_indices`: which output frames get checked.

This module holds what those share: bringing any array into the RGB uint8 layout the
detectors expect, and the error raised when the optional `governance` packages are missing.
The detectors import onnxruntime and dlib only when they first load their models, so this
package imports on an installation without the extra.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

import numpy as np

#: Import name → the PyPI distribution that provides it (the `governance` extra).
PIP_NAMES: dict[str, str] = {
    "nudenet": "nudenet",
    "onnxruntime": "onnxruntime",
    "dlib": "dlib-bin",
    "face_recognition_models": "face-recognition-models",
    "onnx": "onnx",
}


class MissingDependencyError(ImportError):
    """An optional package that image moderation needs is not installed."""

    def __init__(self, missing: list[str]) -> None:
        pips = " ".join(PIP_NAMES.get(name, name) for name in missing)
        super().__init__(
            f"image moderation needs {', '.join(missing)}: install the `governance` extra "
            f"(pip install 'reelforge[governance]') or `pip install {pips}`"
        )
        self.missing = missing


def missing_modules(names: list[str] | tuple[str, ...]) -> list[str]:
    """The names in `names` that cannot be found, without importing (executing) any of them."""
    out = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def require(name: str) -> ModuleType:
    """Import `name`, or raise `MissingDependencyError` naming the package to install."""
    if missing_modules([name]):
        raise MissingDependencyError([name])
    return importlib.import_module(name)


def as_rgb_uint8(image: Any) -> np.ndarray:
    """Return `image` as a C-contiguous (H, W, 3) uint8 RGB array, or raise ValueError.

    Accepted: (H, W) or (H, W, 1) grey, (H, W, 3) RGB, (H, W, 4) RGBA (alpha dropped); uint8 as
    is; bool as 0/255; floats in [0, 1] (scikit-image's convention) scaled by 255, other floats
    clipped to [0, 255]; uint16 scaled down by 257; other integers clipped. NaNs become 0.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f"expected an image as a numpy array, got {type(image).__name__}")
    if image.size == 0:
        raise ValueError(f"empty image, shape {image.shape}")
    arr = image
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    elif arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4), got shape {image.shape}")
    if arr.dtype == np.uint8:
        pass
    elif arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        if arr.max() <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr + 0.5, 0, 255).astype(np.uint8)
    elif arr.dtype == np.uint16:
        arr = (arr // 257).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer):
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    else:
        raise ValueError(f"unsupported image dtype {image.dtype}")
    return np.ascontiguousarray(arr)
