"""Wan 2.x (Wan-AI): text-to-video, image-to-video and first/last-frame-to-video.

Sizes are multiples of 16 (VAE x8, patch 2), frame counts 4k+1; trained at 16 fps, 81 frames.
`WanImageToVideoPipeline` takes `last_image` for first/last-frame models (Wan2.1-FLF2V);
an i2v directory cannot do first/last frame, nor an flf2v one a single start frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reelforge.backends.neural.family import Family, FrameRule, Params
from reelforge.domain.spec import JobSpec


def build_call(task: str, params: Params, spec: JobSpec, images: list[Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if images:
        kwargs["image"] = images[0]
    if len(images) > 1:
        kwargs["last_image"] = images[1]
    return kwargs


def sniff_task(path: str) -> str | None:
    """Wan2.1-FLF2V's transformer embeds positions for two CLIP images (`pos_embed_seq_len`);
    an i2v transformer has none. The two directories are not interchangeable."""
    try:
        config = json.loads((Path(path) / "transformer" / "config.json").read_text())
    except (OSError, ValueError):
        return None
    if "image_dim" not in config or config.get("image_dim") is None:
        return None
    return "flf2v" if config.get("pos_embed_seq_len") else "i2v"


FAMILY = Family(
    name="wan",
    directory_classes={
        "t2v": ("WanPipeline",),
        "i2v": ("WanImageToVideoPipeline",),
        "flf2v": ("WanImageToVideoPipeline",),
    },
    load_class={
        "t2v": "WanPipeline",
        "i2v": "WanImageToVideoPipeline",
        "flf2v": "WanImageToVideoPipeline",
    },
    size_multiple=16,
    frames=FrameRule(step=4, minimum=5, maximum=161),
    fps=16,
    steps=50,
    guidance=5.0,
    draft_steps=12,
    build_call=build_call,
    sniff_task=sniff_task,
)
