"""Camera moves named in plain words pick the motion backend's move."""

from __future__ import annotations

import pytest

from reelforge.backends.motion import DEFAULT_CAMERA, camera_from_prompt, resolve_camera
from reelforge.domain.spec import Camera, JobSpec, Mode


@pytest.mark.parametrize(
    ("prompt", "camera"),
    [
        ("Slowly zoom out from the coffee cup", Camera.ZOOM_OUT),
        ("pull back to reveal the whole table", Camera.ZOOM_OUT),
        ("dolly out from the product", Camera.ZOOM_OUT),
        ("zoom in on the latte art", Camera.ZOOM_IN),
        ("an extreme close-up of the spoon", Camera.ZOOM_IN),
        ("push in on her face", Camera.DOLLY),
        ("dolly shot of a sneaker on a shelf", Camera.DOLLY),
        ("the camera pans to the left across the skyline", Camera.PAN_LEFT),
        ("Pan left over the mountains", Camera.PAN_LEFT),
        ("panning right along the beach", Camera.PAN_RIGHT),
        ("tilt up to the sky", Camera.TILT_UP),
        ("pan up the skyscraper", Camera.TILT_UP),
        ("tilting down to the street", Camera.TILT_DOWN),
        ("static shot, locked-off camera", Camera.STATIC),
        ("zoom out, then pan left", Camera.ZOOM_OUT),  # the first mention wins
        ("pan left, then zoom out", Camera.PAN_LEFT),
    ],
)
def test_moves_named_in_the_prompt_are_recognised(prompt: str, camera: Camera) -> None:
    assert camera_from_prompt(prompt) is camera


@pytest.mark.parametrize(
    "prompt", ["a cat on a sofa", "a panorama of the city", "zoomorphic sculpture", ""]
)
def test_prompts_without_a_move_name_none(prompt: str) -> None:
    assert camera_from_prompt(prompt) is None


def test_explicit_camera_beats_the_prompt_and_zoom_in_is_the_default() -> None:
    def spec(prompt: str, camera: Camera | None = None) -> JobSpec:
        return JobSpec(mode=Mode.IMAGE2VIDEO, images=("blob",), prompt=prompt, camera=camera)

    assert resolve_camera(spec("pan left", Camera.TILT_UP)) is Camera.TILT_UP
    assert resolve_camera(spec("pan left")) is Camera.PAN_LEFT
    assert resolve_camera(spec("a red sneaker")) is DEFAULT_CAMERA
    assert DEFAULT_CAMERA is Camera.ZOOM_IN
