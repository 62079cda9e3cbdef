"""The camera moves of the motion backend (a JobSpec field, and a composition's scenes)."""

from __future__ import annotations

from enum import StrEnum


class Camera(StrEnum):
    ZOOM_IN = "zoom_in"
    ZOOM_OUT = "zoom_out"
    PAN_LEFT = "pan_left"
    PAN_RIGHT = "pan_right"
    TILT_UP = "tilt_up"
    TILT_DOWN = "tilt_down"
    DOLLY = "dolly"
    STATIC = "static"
