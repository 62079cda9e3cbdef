"""Smart crop: fit the output aspect ratio around what the eye goes to first.

Saliency is the spectral residual of Hou & Zhang (CVPR 2007): in the log amplitude spectrum of
a small copy of the image, what deviates from the locally averaged spectrum is the "unexpected"
part of the picture, i.e. objects rather than repeated texture or flat background. It is a few
FFTs on a 128-pixel image (about a millisecond), needs no model, and is computed on lightness
and the two opponent-colour channels so a red product on a grey table stands out too.

The crop is the largest rectangle of the output's aspect ratio that fits in the source (so no
resolution is thrown away), placed where it holds the most saliency: window sums come from an
integral image, so every position is scored at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from reelforge.backends.motion.camera import Rect

SALIENCY_SIZE = 128  # long side of the analysis image; spectral residual works at ~64-128 px
CENTER_PREFERENCE = 0.15  # a flat saliency profile should still give a centred crop
FOCUS_MARGIN = 0.2  # keep the zoom focus out of the outer 20% of the crop on each side


@dataclass(frozen=True)
class CropPlan:
    """Where to frame the shot: the crop (source pixels) and the point zooms converge on."""

    crop: Rect
    focus: tuple[float, float]


def saliency_map(rgb: np.ndarray, size: int = SALIENCY_SIZE) -> np.ndarray:
    """Spectral-residual saliency of an RGB image: float32 in [0, 1], long side = `size`."""
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    small_w, small_h = max(8, round(width * scale)), max(8, round(height * scale))
    small = cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    total = np.zeros((small_h, small_w), np.float32)
    for channel in range(3):
        total += _normalised(_spectral_residual(lab[:, :, channel]))
    sigma = 0.03 * size
    total = cv2.GaussianBlur(total, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return _normalised(total)


def _spectral_residual(channel: np.ndarray) -> np.ndarray:
    # Reflect-pad so the FFT does not see the image borders as strong edges (it is periodic).
    pad_y, pad_x = channel.shape[0] // 4, channel.shape[1] // 4
    padded = cv2.copyMakeBorder(channel, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REFLECT_101)
    spectrum = np.fft.fft2(padded)
    log_amplitude = np.log(np.abs(spectrum) + 1e-6).astype(np.float32)
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3), borderType=cv2.BORDER_WRAP)
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    return saliency[pad_y : pad_y + channel.shape[0], pad_x : pad_x + channel.shape[1]].astype(
        np.float32
    )


def _normalised(values: np.ndarray) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - lo) / (hi - lo)).astype(np.float32)


def largest_crop(source_size: tuple[int, int], aspect: float) -> tuple[float, float]:
    """Size (w, h) of the largest rectangle with `aspect` (w/h) that fits in the source."""
    width, height = source_size
    if width / height > aspect:
        return height * aspect, float(height)
    return float(width), width / aspect


def smart_crop(rgb: np.ndarray, aspect: float) -> CropPlan:
    """Place the largest `aspect` crop over the most salient region; pick the zoom focus."""
    height, width = rgb.shape[:2]
    crop_w, crop_h = largest_crop((width, height), aspect)
    saliency = saliency_map(rgb)
    sal_h, sal_w = saliency.shape
    to_src_x, to_src_y = width / sal_w, height / sal_h
    win_w = min(sal_w, max(1, round(crop_w / to_src_x)))
    win_h = min(sal_h, max(1, round(crop_h / to_src_y)))
    # Integral image with a zero border: sum of any window = four look-ups.
    integral = cv2.integral(saliency.astype(np.float64))
    sums = (
        integral[win_h:, win_w:]
        - integral[:-win_h, win_w:]
        - integral[win_h:, :-win_w]
        + integral[:-win_h, :-win_w]
    )
    # A mild pull to the centre breaks ties and keeps crops of featureless images centred.
    ys, xs = np.mgrid[0 : sums.shape[0], 0 : sums.shape[1]]
    off_centre = np.hypot(
        (xs - (sums.shape[1] - 1) / 2) / max(1, sal_w),
        (ys - (sums.shape[0] - 1) / 2) / max(1, sal_h),
    )
    score = sums / max(float(sums.max()), 1e-12) - CENTER_PREFERENCE * off_centre
    best_y, best_x = np.unravel_index(int(np.argmax(score)), score.shape)
    # Map the window's centre back to source pixels; keep the crop inside the image.
    centre_x = (best_x + win_w / 2) * to_src_x
    centre_y = (best_y + win_h / 2) * to_src_y
    x = float(min(max(centre_x - crop_w / 2, 0.0), width - crop_w))
    y = float(min(max(centre_y - crop_h / 2, 0.0), height - crop_h))
    crop = Rect(x, y, crop_w, crop_h)
    return CropPlan(crop=crop, focus=_focus(saliency, crop, (to_src_x, to_src_y)))


def _focus(saliency: np.ndarray, crop: Rect, to_src: tuple[float, float]) -> tuple[float, float]:
    """Saliency-weighted centre of the crop (peaks emphasised), kept off the crop's edges."""
    to_src_x, to_src_y = to_src
    x0, x1 = int(crop.x / to_src_x), int(np.ceil((crop.x + crop.w) / to_src_x))
    y0, y1 = int(crop.y / to_src_y), int(np.ceil((crop.y + crop.h) / to_src_y))
    weights = saliency[y0:y1, x0:x1].astype(np.float64) ** 2
    cx, cy = crop.center
    if weights.sum() > 1e-9:
        ys, xs = np.mgrid[y0:y1, x0:x1]
        cx = float(((xs + 0.5) * weights).sum() / weights.sum()) * to_src_x
        cy = float(((ys + 0.5) * weights).sum() / weights.sum()) * to_src_y
    margin_x, margin_y = FOCUS_MARGIN * crop.w, FOCUS_MARGIN * crop.h
    cx = min(max(cx, crop.x + margin_x), crop.x + crop.w - margin_x)
    cy = min(max(cy, crop.y + margin_y), crop.y + crop.h - margin_y)
    return cx, cy
