"""LTX-Video (Lightricks): text-to-video, image-to-video, and frames conditioned anywhere.

Sizes are multiples of 32, frame counts 8k+1; trained at 24-30 fps. One checkpoint serves
every task: the worker loads it with the pipeline class of the registered task, and
first/last-frame jobs go through `LTXConditionPipeline` with a condition at each end.
"""

from __future__ import annotations

from typing import Any

from reelforge.backends.neural.family import Family, FrameRule, Params
from reelforge.domain.spec import JobSpec, Mode

_LTX_DIRS = ("LTXPipeline", "LTXImageToVideoPipeline", "LTXConditionPipeline")


def build_call(task: str, params: Params, spec: JobSpec, images: list[Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"frame_rate": params.fps}  # LTX scales its RoPE by frame rate
    if task != "flf2v":
        if images:
            kwargs["image"] = images[0]
        return kwargs
    # LTXConditionPipeline: a condition per given frame (it does not check frame_index)
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    conditions = [LTXVideoCondition(image=images[0], frame_index=0)] if images else []
    if len(images) > 1:
        conditions.append(LTXVideoCondition(image=images[1], frame_index=params.frames - 1))
    if conditions:
        kwargs["conditions"] = conditions
    return kwargs


FAMILY = Family(
    name="ltx",
    directory_classes={"t2v": _LTX_DIRS, "i2v": _LTX_DIRS, "flf2v": _LTX_DIRS},
    load_class={
        "t2v": "LTXPipeline",
        "i2v": "LTXImageToVideoPipeline",
        "flf2v": "LTXConditionPipeline",
    },
    size_multiple=32,
    frames=FrameRule(step=8, minimum=9, maximum=257),
    fps=24,
    steps=50,
    guidance=3.0,
    draft_steps=12,
    # FirstBlockCache fails on this transformer's blocks (diffusers 0.42: IndexError)
    step_caches=("pab", "taylorseer"),
    draft_cache="taylorseer",
    build_call=build_call,
    # the condition pipeline conditions on any frames, or none (plain text-to-video)
    extra_modes={"flf2v": frozenset({Mode.TEXT2VIDEO, Mode.IMAGE2VIDEO, Mode.EXTEND})},
)
