"""A registered neural model as the backends see it, and its opt-in speed/memory options.

Pure Python: validated when an operator registers a model, long before any weights load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DTYPES = ("bf16", "fp16", "fp32")
OFFLOAD_MODES = ("model", "sequential", "group")
STEP_CACHES = ("first_block", "pab", "taylorseer")
_DEVICE = re.compile(r"^(cpu|cuda(:\d{1,2})?)$")


class ModelOptions(BaseModel):
    """Speed and memory options, all off by default (the default works in float32 on CPU).

    - offload: keep weights in CPU memory and move them to the accelerator when used —
      `model` (whole components), `group` (groups of layers, a middle ground) or
      `sequential` (layer by layer: least memory, slowest). Needs an accelerator.
    - vae_tiling / vae_slicing: decode the video in tiles / one sample at a time.
    - step_cache: reuse transformer outputs between denoising steps (first_block, pab,
      taylorseer); trades a little fidelity for speed. Drafts use first_block when unset.
    - compile: torch.compile the transformer (slow first call, faster after).
    - attention_backend: a diffusers attention backend name (e.g. native, flash, sage).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    offload: Literal["model", "sequential", "group"] | None = Field(
        default=None,
        description="Keep weights in CPU memory, moved to the accelerator when used: model "
        "(whole components), group (groups of layers) or sequential (layer by layer: least "
        "memory, slowest). Needs an accelerator.",
    )
    vae_tiling: bool = Field(default=False, description="Decode the video in tiles.")
    vae_slicing: bool = Field(default=False, description="Decode one sample at a time.")
    step_cache: Literal["first_block", "pab", "taylorseer"] | None = Field(
        default=None,
        description="Reuse transformer outputs between denoising steps (a little fidelity "
        "for speed); drafts use first_block when unset.",
    )
    compile: bool = Field(
        default=False, description="torch.compile the transformer (slow first call, faster after)."
    )
    attention_backend: str | None = Field(
        default=None,
        max_length=40,
        description="A diffusers attention backend name (native, flash, sage, ...).",
    )

    @field_validator("attention_backend")
    @classmethod
    def _local_backend(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.fullmatch(r"[a-z0-9_]+", v):
            raise ValueError("attention_backend is a diffusers backend name such as native")
        if v.endswith("_hub"):
            raise ValueError(
                "hub attention kernels are downloaded at run time, which a "
                "reelforge worker never does; install the kernel package instead"
            )
        return v


@dataclass(frozen=True)
class ModelConfig:
    name: str
    family: str
    task: str
    path: str
    dtype: str
    device: str
    gpu_hourly_usd: float | None
    options: ModelOptions

    @staticmethod
    def valid_device(device: str) -> bool:
        return bool(_DEVICE.match(device))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "task": self.task,
            "path": self.path,
            "dtype": self.dtype,
            "device": self.device,
            "gpu_hourly_usd": self.gpu_hourly_usd,
            "options": self.options.model_dump(exclude_defaults=True),
        }
