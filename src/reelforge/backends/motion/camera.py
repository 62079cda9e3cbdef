"""Camera trajectories: where the virtual camera looks in the source image on every frame.

A trajectory is one `Rect` per frame, in source-pixel coordinates (floats, never rounded), all
with the output's aspect ratio and all inside the source, so no frame shows a border. Motion
follows an ease-in/ease-out curve (slow start, faster middle, slow stop, like a camera operator),
and zoom is interpolated geometrically so the apparent zoom speed is even.

Directions are the cinematographer's: `pan_left` turns the camera left, so the picture slides
to the right on screen; `tilt_up` tilts it up, so the picture slides down.
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

import numpy as np

from reelforge.domain.spec import Camera


class Rect(NamedTuple):
    """An axis-aligned rectangle in source pixels: top-left corner and size (floats)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


ZOOM_PER_SECOND = 0.05  # 5 s clip: 1.0 -> 1.25, a classic slow Ken Burns push
MIN_ZOOM, MAX_ZOOM = 1.12, 1.5  # short clips still move visibly; long ones never get mushy
PAN_PER_SECOND = 0.04  # travel as a fraction of the frame width: 20% in 5 s (~3 px/frame at 1080p)
MIN_PAN, MAX_PAN = 0.1, 0.5
DOLLY_DRIFT = 0.06  # sideways drift of a dolly move, as a fraction of the frame width


def ease_in_out(t: float) -> float:
    """Sine ease: 0 -> 1 with zero speed at both ends and the fastest motion mid-clip."""
    t = min(1.0, max(0.0, t))
    return (1.0 - math.cos(math.pi * t)) / 2.0


def zoom_amount(duration: float) -> float:
    """Total zoom factor of a zoom or dolly move lasting `duration` seconds."""
    return min(MAX_ZOOM, max(MIN_ZOOM, 1.0 + ZOOM_PER_SECOND * duration))


def pan_amount(duration: float) -> float:
    """Travel of a pan or tilt, as a fraction of the visible frame."""
    return min(MAX_PAN, max(MIN_PAN, PAN_PER_SECOND * duration))


def _pan_zoom(along: float, room: float, travel: float) -> float:
    """How far a pan zooms in so its viewport can travel `travel` of itself within the source
    (1 when the crop leaves room along that axis)."""
    return max(1.0, along * (1.0 + travel) / room)


def tightest_zoom(
    camera: Camera, *, source_size: tuple[int, int], crop: tuple[float, float], duration: float
) -> float:
    """The most the viewport narrows below the (w, h) `crop` during the move: the factor by
    which the source is enlarged beyond the crop's own scale at the move's tightest frame."""
    if camera in (Camera.ZOOM_IN, Camera.ZOOM_OUT, Camera.DOLLY):
        return zoom_amount(duration)
    if camera is Camera.STATIC:
        return 1.0
    horizontal = camera in (Camera.PAN_LEFT, Camera.PAN_RIGHT)
    along, room = (crop[0], source_size[0]) if horizontal else (crop[1], source_size[1])
    return _pan_zoom(along, room, pan_amount(duration))


def camera_path(
    camera: Camera,
    *,
    source_size: tuple[int, int],
    crop: Rect,
    focus: tuple[float, float],
    frame_count: int,
    duration: float,
    seed: int = 0,
) -> list[Rect]:
    """One viewport per frame for `camera`, starting from the smart `crop` of the source.

    `focus` (source pixels, inside `crop`) is where zooms converge and pans are centred.
    `seed` only picks the drift direction of a dolly move; the rest is fully determined.
    """
    if frame_count < 1:
        raise ValueError("frame_count must be at least 1")
    progress = [
        ease_in_out(i / (frame_count - 1)) if frame_count > 1 else 0.0 for i in range(frame_count)
    ]
    fx = min(max(focus[0], crop.x), crop.x + crop.w)
    fy = min(max(focus[1], crop.y), crop.y + crop.h)
    if camera is Camera.STATIC:
        return [crop] * frame_count
    if camera in (Camera.ZOOM_IN, Camera.ZOOM_OUT):
        zoom = zoom_amount(duration)
        if camera is Camera.ZOOM_OUT:
            progress = [1.0 - p for p in progress]
        return [_zoom_about(crop, fx, fy, zoom**p) for p in progress]
    if camera is Camera.DOLLY:
        return _dolly(crop, fx, fy, progress, source_size, duration, seed)
    horizontal = camera in (Camera.PAN_LEFT, Camera.PAN_RIGHT)
    # Pans move towards smaller x (left) / tilts towards smaller y (up) for the "negative" moves.
    backwards = camera in (Camera.PAN_LEFT, Camera.TILT_UP)
    return _pan(crop, fx, fy, progress, source_size, duration, horizontal, backwards)


def _zoom_about(crop: Rect, fx: float, fy: float, scale: float) -> Rect:
    """The crop magnified `scale` times about (fx, fy): that point keeps its place on screen.

    A scaling of the crop about a point inside it stays inside the crop, so no clamping (and
    no kink in the motion) is ever needed.
    """
    return Rect(
        fx + (crop.x - fx) / scale, fy + (crop.y - fy) / scale, crop.w / scale, crop.h / scale
    )


def _pan(
    crop: Rect,
    fx: float,
    fy: float,
    progress: list[float],
    source_size: tuple[int, int],
    duration: float,
    horizontal: bool,
    backwards: bool,
) -> list[Rect]:
    src_w, src_h = source_size
    travel = pan_amount(duration)
    # The viewport must be able to travel `travel` of its own size within the source; when the
    # crop already spans the source along that axis, zoom in just enough to make room.
    along, room = (crop.w, src_w) if horizontal else (crop.h, src_h)
    zoom = _pan_zoom(along, room, travel)
    width, height = crop.w / zoom, crop.h / zoom
    if horizontal:
        span = travel * width
        start = _fit_segment(fx - span / 2, span, width, src_w)
        y = _clamp(fy - height / 2, crop.y, crop.y + crop.h - height)
        xs = [start + span * p for p in progress]
        if backwards:
            xs = [2 * start + span - x for x in xs]
        return [Rect(x - width / 2, y, width, height) for x in xs]
    span = travel * height
    start = _fit_segment(fy - span / 2, span, height, src_h)
    x = _clamp(fx - width / 2, crop.x, crop.x + crop.w - width)
    ys = [start + span * p for p in progress]
    if backwards:
        ys = [2 * start + span - y for y in ys]
    return [Rect(x, y - height / 2, width, height) for y in ys]


def _fit_segment(start: float, span: float, size: float, limit: float) -> float:
    """Shift a path of centres [start, start+span] so a viewport of `size` stays in [0, limit]."""
    lo, hi = size / 2, limit - size / 2 - span
    return _clamp(start, lo, max(lo, hi))


def _dolly(
    crop: Rect,
    fx: float,
    fy: float,
    progress: list[float],
    source_size: tuple[int, int],
    duration: float,
    seed: int,
) -> list[Rect]:
    """A push in with a sideways drift whose direction comes from the seed."""
    zoom = zoom_amount(duration)
    base = [_zoom_about(crop, fx, fy, zoom**p) for p in progress]
    angle = random.Random(seed).uniform(0.0, 2.0 * math.pi)
    drift_x = math.cos(angle) * DOLLY_DRIFT * crop.w
    drift_y = math.sin(angle) * DOLLY_DRIFT * crop.w
    # Scale the drift down uniformly (never clamp per frame, which would kink the path) until
    # every viewport stays inside the source.
    limit = 1.0
    src_w, src_h = source_size
    for rect, p in zip(base, progress, strict=True):
        for offset, low_room, high_room in (
            (drift_x * p, rect.x, src_w - rect.x - rect.w),
            (drift_y * p, rect.y, src_h - rect.y - rect.h),
        ):
            if offset > 1e-9:
                limit = min(limit, max(0.0, high_room) / offset)
            elif offset < -1e-9:
                limit = min(limit, max(0.0, low_room) / -offset)
    return [
        Rect(r.x + drift_x * p * limit, r.y + drift_y * p * limit, r.w, r.h)
        for r, p in zip(base, progress, strict=True)
    ]


def _clamp(value: float, lo: float, hi: float) -> float:
    return min(max(value, lo), hi)


def path_as_array(path: list[Rect]) -> np.ndarray:
    """The trajectory as an (n, 4) float array of x, y, w, h (for analysis and tests)."""
    return np.array([tuple(r) for r in path], dtype=np.float64)
