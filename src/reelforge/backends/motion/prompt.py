"""Read a camera move out of a prompt ("slowly zoom out", "pan to the left", "push in").

Plain word patterns, no model: the motion backend only needs to know which of eight moves the
user asked for. When a prompt names several moves the first one mentioned wins.
"""

from __future__ import annotations

import re

from reelforge.domain.spec import Camera, JobSpec

DEFAULT_CAMERA = Camera.ZOOM_IN

_TO_THE = r"(?:\s+(?:to|towards?)(?:\s+the)?)?"
_PATTERNS: list[tuple[Camera, str]] = [
    (Camera.ZOOM_OUT, r"zoom(?:s|ed|ing)?\s+(?:out|back|away)"),
    (Camera.ZOOM_OUT, r"(?:pull(?:s|ed|ing)?|dolly(?:ing)?|track(?:s|ing)?)\s+(?:out|back|away)"),
    (Camera.ZOOM_IN, r"zoom(?:s|ed|ing)?\s+(?:in|into|closer)"),
    (Camera.ZOOM_IN, r"close[\s-]?up"),
    (Camera.DOLLY, r"push(?:es|ed|ing)?\s+(?:in|into|forward|closer)"),
    (Camera.DOLLY, r"(?:move(?:s|d)?|moving|track(?:s|ing)?)\s+(?:in|forward|closer|towards?)"),
    (Camera.DOLLY, r"dolly(?:ing)?(?:\s+(?:in|shot|forward))?"),
    (Camera.PAN_LEFT, rf"pan(?:s|ned|ning)?{_TO_THE}\s+(?:the\s+)?left(?:wards?)?"),
    (Camera.PAN_RIGHT, rf"pan(?:s|ned|ning)?{_TO_THE}\s+(?:the\s+)?right(?:wards?)?"),
    (Camera.TILT_UP, rf"(?:tilt(?:s|ed|ing)?|pan(?:s|ned|ning)?){_TO_THE}\s+(?:up|upwards?)"),
    (Camera.TILT_UP, r"(?:look(?:s|ing)?|crane(?:s|ing)?)\s+up"),
    (Camera.TILT_DOWN, rf"(?:tilt(?:s|ed|ing)?|pan(?:s|ned|ning)?){_TO_THE}\s+(?:down|downwards?)"),
    (Camera.TILT_DOWN, r"(?:look(?:s|ing)?|crane(?:s|ing)?)\s+down"),
    (
        Camera.STATIC,
        r"static(?:\s+(?:shot|camera))?|still\s+(?:shot|camera|frame)|locked[\s-]off"
        r"|tripod\s+shot|no\s+camera\s+(?:movement|motion)",
    ),
]
_COMPILED = [(camera, re.compile(rf"\b(?:{p})\b", re.IGNORECASE)) for camera, p in _PATTERNS]


def camera_from_prompt(prompt: str) -> Camera | None:
    """The camera move a prompt asks for, or None when it names none.

    The earliest mention wins; at the same position the longer phrase wins ("dolly out" is a
    zoom out, not a dolly).
    """
    best: tuple[int, int, Camera] | None = None
    for camera, pattern in _COMPILED:
        match = pattern.search(prompt)
        if match is None:
            continue
        key = (match.start(), -(match.end() - match.start()), camera)
        if best is None or key[:2] < best[:2]:
            best = key
    return best[2] if best else None


def camera_choice(spec: JobSpec) -> tuple[Camera, str]:
    """The move to render and where it came from: `request` (the spec's camera), `prompt`
    (named in the prompt) or `default` (zoom in)."""
    if spec.camera is not None:
        return spec.camera, "request"
    found = camera_from_prompt(spec.prompt)
    return (found, "prompt") if found is not None else (DEFAULT_CAMERA, "default")


def resolve_camera(spec: JobSpec) -> Camera:
    """The move to render: the spec's camera, else one named in the prompt, else zoom in."""
    return camera_choice(spec)[0]
