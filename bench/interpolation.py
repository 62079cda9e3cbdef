"""Start/end-frame interpolation (motion backend, optical flow) vs a plain cross-fade.

A pair with known motion: the bundled photo seen through two affine cameras (a shift of
SHIFT_PX pixels to the right and down plus a zoom of ZOOM about the centre); the true middle
frame is the photo seen through the average of the two cameras, where every point sits
half-way between its two positions (linear motion, what an interpolator assumes). Both
contenders make the middle frame from the two end frames alone; each is compared with the
true middle by PSNR (RGB, dB). The ratio is ours / cross-fade in dB (higher is better), and
the time of each is printed too.

    .venv/bin/python bench/interpolation.py [--tiny]
"""

from __future__ import annotations

import argparse
import math
import time

import cv2
import numpy as np

from reelforge.backends.motion.interpolate import FlowInterpolator
from reelforge.media.images import load_image, sample_image_path

WIDTH, HEIGHT = 960, 540
SHIFT_PX = 24.0
ZOOM = 1.08


def camera(source: np.ndarray, shift: float, zoom: float, size: tuple[int, int]) -> np.ndarray:
    """2x3 matrix from output pixels to source pixels: the centre crop of the source at the
    output's aspect, zoomed `zoom` times about its centre and shifted by `shift` output px."""
    src_h, src_w = source.shape[:2]
    out_w, out_h = size
    base = min(src_w / out_w, src_h / out_h) / zoom  # source px per output px
    cx, cy = src_w / 2 - shift * base, src_h / 2 - shift * base
    return np.array(
        [[base, 0.0, cx - base * out_w / 2], [0.0, base, cy - base * out_h / 2]], np.float64
    )


def view(source: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(
        source, matrix, size, flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip


def psnr(a: np.ndarray, b: np.ndarray, border: int) -> float:
    """PSNR away from a `border` of pixels that either end never saw."""
    a = a[border:-border, border:-border].astype(np.float64)
    b = b[border:-border, border:-border].astype(np.float64)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def measure(width: int = WIDTH, height: int = HEIGHT) -> dict[str, float]:
    photo = load_image(sample_image_path())
    source = cv2.resize(photo, (photo.shape[1] * 3, photo.shape[0] * 3), cv2.INTER_LANCZOS4)
    size = (width, height)
    scale = width / WIDTH  # the motion scales with the frame
    m0 = camera(source, 0.0, 1.0, size)
    m1 = camera(source, SHIFT_PX * scale, ZOOM, size)
    start, end, truth = (
        view(source, m0, size),
        view(source, m1, size),
        view(source, (m0 + m1) / 2, size),
    )
    t0 = time.perf_counter()
    ours = FlowInterpolator(start, end).frame(0.5)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fade = cv2.addWeighted(start, 0.5, end, 0.5, 0.0)
    fade_s = time.perf_counter() - t0
    border = max(2, round(SHIFT_PX * scale + width * (ZOOM - 1) / 2))
    return {
        "ours_psnr": psnr(ours, truth, border),
        "fade_psnr": psnr(fade, truth, border),
        "ours_s": ours_s,
        "fade_s": fade_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a 160x90 pair (smoke run)")
    args = parser.parse_args(argv)
    width, height = (160, 90) if args.tiny else (WIDTH, HEIGHT)
    r = measure(width, height)
    print(f"pair {width}x{height}, shift {SHIFT_PX * width / WIDTH:.1f} px + zoom {ZOOM}")
    print(f"optical flow  PSNR {r['ours_psnr']:.2f} dB  ({r['ours_s'] * 1000:.1f} ms)")
    print(f"cross-fade    PSNR {r['fade_psnr']:.2f} dB  ({r['fade_s'] * 1000:.1f} ms)")
    print(f"ratio (flow / cross-fade, dB): {r['ours_psnr'] / r['fade_psnr']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
