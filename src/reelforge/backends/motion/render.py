"""Per-frame rendering: sample the source through a float viewport, without aliasing or jitter.

Every frame is one affine warp of a pre-scaled copy of the source. The viewport's position and
size are floats all the way into `cv2.warpAffine` (which resolves 1/32 of a pixel), so a slow
pan moves by fractions of a pixel per frame instead of stepping a whole pixel now and then, as
integer-crop tools such as ffmpeg's `zoompan` do.

Aliasing (shimmer on fine texture while zooming) is avoided in two steps, both done once:
1. the part of the source the camera will ever see is downscaled, with area averaging, to
   `supersample` pixels per output pixel in the most zoomed-in frame, so detail finer than any
   frame can show is averaged away properly and never sampled;
2. that copy is box-filtered over `supersample` x `supersample` pixels. One bilinear sample of
   the filtered copy per output pixel then equals the average of `supersample`² bilinear
   samples of the unfiltered copy — supersampling — at the cost of a single sample (exact for
   the most zoomed-in frame; the box is up to the zoom ratio narrower than the footprint of
   the widest frame). Measured on the zoompan bench at 1080p: 0.75 dB below rendering a 2x
   grid and averaging it down, at 0.66x the time.
When the source has fewer pixels than the output needs (magnification all along), there is
nothing to alias: the region is upsampled once with bicubic interpolation to twice the density
of the most zoomed-in frame, and frames are sampled from it directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from reelforge.backends.motion.camera import Rect

DEFAULT_SUPERSAMPLE = 2
_MARGIN = 2  # source pixels kept around the union of viewports for the interpolation kernel


class FrameRenderer:
    """Renders viewports of one source image at a fixed output size."""

    def __init__(
        self,
        source: np.ndarray,
        path: Sequence[Rect],
        output_size: tuple[int, int],
        *,
        supersample: int = DEFAULT_SUPERSAMPLE,
    ) -> None:
        if supersample < 1:
            raise ValueError("supersample must be at least 1")
        if not path:
            raise ValueError("a camera path needs at least one viewport")
        self.output_size = output_size
        out_w = output_size[0]
        src_h, src_w = source.shape[:2]
        # Keep only what the camera ever sees: less memory and a cheaper pre-scale.
        left = max(0, math.floor(min(r.x for r in path)) - _MARGIN)
        top = max(0, math.floor(min(r.y for r in path)) - _MARGIN)
        right = min(src_w, math.ceil(max(r.x + r.w for r in path)) + _MARGIN)
        bottom = min(src_h, math.ceil(max(r.y + r.h for r in path)) + _MARGIN)
        region = source[top:bottom, left:right]

        widest = max(r.w / out_w for r in path)  # source pixels per output pixel, widest view
        narrowest = min(r.w / out_w for r in path)  # ... in the most zoomed-in view
        if widest <= 1.0:
            # Magnified on every frame: nothing can alias. Upsample once with bicubic to twice
            # the density of the most zoomed-in frame; bilinear sampling of that oversampled
            # copy is as smooth as per-frame bicubic (measured on slow pans) at a quarter of
            # the cost. At 1x density, bilinear's blur would pulse with the sub-pixel phase.
            self._supersample, scale, resize = 1, 2.0 / narrowest, cv2.INTER_CUBIC
        else:
            self._supersample, resize = supersample, cv2.INTER_AREA
            scale = min(1.0, supersample / narrowest)
        if scale != 1.0:
            size = (max(1, round(region.shape[1] * scale)), max(1, round(region.shape[0] * scale)))
            region = cv2.resize(region, size, interpolation=resize)
        # OpenCV's bilinear warp has a vectorised 4-channel path: RGBA warps in half the time
        # of RGB (measured at 3840x2160: 12 ms vs 24 ms, identical pixels).
        image = cv2.cvtColor(region, cv2.COLOR_RGB2RGBA)
        # The box's centre sits half a pixel off for even sizes; the warp takes that back.
        self._shift = 0.0
        if self._supersample > 1:
            image = cv2.blur(image, (self._supersample, self._supersample))
            self._shift = self._supersample // 2 - (self._supersample - 1) / 2
        self._image = np.ascontiguousarray(image)
        # Exact per-axis factors after rounding of the pre-scaled size.
        self._scale_x = self._image.shape[1] / (right - left)
        self._scale_y = self._image.shape[0] / (bottom - top)
        self._origin = (float(left), float(top))

    def render(self, view: Rect) -> np.ndarray:
        """A new RGB uint8 frame (output height x width x 3) showing `view` of the source."""
        out_w, out_h = self.output_size
        step_x = view.w * self._scale_x / out_w
        step_y = view.h * self._scale_y / out_h
        # Map output pixel centres (u + 0.5) to pre-scaled pixel centres (x + 0.5), in floats.
        origin_x = (view.x - self._origin[0]) * self._scale_x + self._shift
        origin_y = (view.y - self._origin[1]) * self._scale_y + self._shift
        output_to_image = np.array(
            [
                [step_x, 0.0, origin_x + 0.5 * step_x - 0.5],
                [0.0, step_y, origin_y + 0.5 * step_y - 0.5],
            ]
        )
        frame = cv2.warpAffine(
            self._image,
            output_to_image,
            (out_w, out_h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB)
