"""CogVideoX (THUDM / zai-org): text-to-video and image-to-video.

Sizes are multiples of 16 (VAE x8, patch 2; the pipeline only checks 8 and then fails inside
the transformer, so we check 16), frame counts 8k+1 (the VAE returns other counts changed:
13 frames come back as 16); CogVideoX-5B is trained at 8 fps,
49 frames, 720x480. The image-to-video checkpoint is a separate model (twice the input
channels), so each task needs its own directory.
"""

from __future__ import annotations

from typing import Any

from reelforge.backends.neural.family import Family, FrameRule, Params
from reelforge.domain.spec import JobSpec


def build_call(task: str, params: Params, spec: JobSpec, images: list[Any]) -> dict[str, Any]:
    return {"image": images[0]} if images else {}


FAMILY = Family(
    name="cogvideox",
    directory_classes={"t2v": ("CogVideoXPipeline",), "i2v": ("CogVideoXImageToVideoPipeline",)},
    load_class={"t2v": "CogVideoXPipeline", "i2v": "CogVideoXImageToVideoPipeline"},
    size_multiple=16,
    frames=FrameRule(step=8, minimum=9, maximum=81),
    fps=8,
    steps=50,
    guidance=6.0,
    draft_steps=12,
    # FirstBlockCache fails on this transformer's blocks (diffusers 0.42: IndexError)
    step_caches=("pab", "taylorseer"),
    draft_cache="taylorseer",
    build_call=build_call,
)
