"""`NeuralBackend`: the GenerationBackend for one registered neural model.

Submit-time work (`check`, `parameters`) is plain Python. `generate` imports the runtime
(torch, diffusers), takes the warm pipeline from the worker's cache or loads it, runs it with
progress per denoising step, and hands frames to the platform for encoding.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reelforge.backends.base import Clip, GenerationRequest, ProgressFn
from reelforge.backends.neural.cache import PipelineCache
from reelforge.backends.neural.config import ModelConfig
from reelforge.backends.neural.extra import EXTRA_HINT, missing_packages
from reelforge.backends.neural.family import Family, Params
from reelforge.domain.spec import JobSpec
from reelforge.errors import BackendError, CapabilityMissing
from reelforge.media.images import cover_resize, load_image


@dataclass
class NeuralRuntime:
    """What all neural backends of one worker process share: the warm pipeline cache and
    the device this worker runs on (None: each model's registered device)."""

    cache_models: int = 2
    cache_bytes: int | None = None  # None: 85% of the device's memory
    device: str | None = None
    cache: PipelineCache | None = field(default=None, init=False)

    def pipeline_cache(self, device: str) -> PipelineCache:
        if self.cache is None:
            from reelforge.backends.neural import runtime

            budget = self.cache_bytes
            if budget is None:
                budget = int(runtime.device_memory_bytes(device) * 0.85)
            self.cache = PipelineCache(
                max_models=self.cache_models, max_bytes=budget, release=runtime.free_memory
            )
        return self.cache


class NeuralBackend:
    def __init__(self, model: ModelConfig, shared: NeuralRuntime, family: Family):
        self.model = model
        self.family = family  # backends.families.FAMILIES[model.family]
        self.shared = shared
        self.name = model.name
        self.queue = self.family.queue
        self.default_fps = self.family.fps

    @property
    def device(self) -> str:
        return self.shared.device or self.model.device

    def cache_identity(self) -> dict[str, Any]:
        """The registered model and a digest of its weights' index (for the result cache):
        re-registering or replacing the directory's model_index.json changes it."""
        index = Path(self.model.path) / "model_index.json"
        try:
            stat = index.stat()
            digest = hashlib.sha256(index.read_bytes()).hexdigest()
            stamp = f"{digest}:{stat.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        return {**self.model.to_dict(), "index": stamp}

    def check(self, spec: JobSpec) -> None:
        missing = missing_packages()
        if missing:
            raise CapabilityMissing(
                f"model {self.name!r} is a neural {self.family.name} model, and this "
                f"installation lacks {', '.join(missing)}: {EXTRA_HINT}",
                code="neural_extra_missing",
                field="model",
            )
        self.plan(spec)

    def plan(self, spec: JobSpec) -> Params:
        return self.family.plan(spec, self.model.task, step_cache=self.model.options.step_cache)

    def parameters(self, spec: JobSpec) -> dict[str, Any]:
        return self.plan(spec).to_dict()

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        started = time.perf_counter()  # a cold start's torch import counts as loading
        on_progress("load", 0, 1)
        from reelforge.backends.neural import runtime

        spec = request.spec
        params = self.plan(spec)
        images = [_prepare_image(p, params) for p in request.input_paths]
        device = self.device
        cache = self.shared.pipeline_cache(device)
        pipeline_class = self.family.load_class[self.model.task]
        key = (
            self.model.name,
            self.model.path,
            self.model.dtype,
            device,
            pipeline_class,
            self.model.options.model_dump_json(),
        )
        timings: dict[str, float] = {}
        try:
            with cache.use(
                key,
                runtime.weights_bytes(self.model.path),
                lambda: runtime.load_pipeline(self.model, pipeline_class, device),
            ) as (pipe, loaded):
                timings["load"] = round(time.perf_counter() - started, 4)
                on_progress("load", 1, 1)
                frames, seconds, compute = runtime.run_generation(
                    pipe, self.family, self.model.task, params, spec, images, device, on_progress
                )
        except BackendError as exc:
            if exc.code == "out_of_memory":
                cache.discard(key)  # start the next job from a clean device
            raise
        timings.update(seconds)
        compute.update(
            warm=not loaded,
            pipeline=pipeline_class,
            dtype=self.model.dtype,
            gpu_hourly_usd=self.model.gpu_hourly_usd,
        )
        return Clip(
            width=params.width,
            height=params.height,
            fps=params.fps,
            frame_count=len(frames),
            frames=_iterate(frames),
            timings=timings,
            device=device,
            compute=compute,
        )


def _prepare_image(path: Path, params: Params) -> Any:
    """The input image, cropped to the output's aspect ratio and resized to its size."""
    from PIL import Image

    array = cover_resize(load_image(path), params.width, params.height)
    return Image.fromarray(array)


def _iterate(frames: np.ndarray) -> Iterator[np.ndarray]:
    for frame in frames:
        yield frame.copy()  # frame filters may draw on it
