"""Everything that touches torch and diffusers: load a pipeline from a local directory,
apply the opt-in options, run one generation with progress, cancellation and a compute
record, and turn device errors into platform errors.

Imported only by a worker that runs a neural job.
"""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import torch
import transformers

from reelforge.backends.base import ProgressFn
from reelforge.backends.neural.config import ModelConfig, ModelOptions
from reelforge.backends.neural.family import Family, Params
from reelforge.domain.spec import JobSpec
from reelforge.errors import BackendError, JobInterrupted

diffusers.utils.logging.disable_progress_bar()  # progress goes to job events, not stderr
transformers.utils.logging.disable_progress_bar()

TORCH_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
# Transformer blocks whose outputs TaylorSeer approximates; its defaults match nothing on Wan.
_TAYLORSEER_IDS = [r"^blocks\.\d+\.attn\d$", r"^transformer_blocks\.\d+\.attn\d$"]


def weights_bytes(path: str | Path) -> int:
    """Size of the weight files under a model directory: the memory estimate for the cache."""
    total = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            if name.endswith(_WEIGHT_SUFFIXES):
                total += (Path(root) / name).stat().st_size
    return total


def device_memory_bytes(device: str) -> int:
    """Total memory of a device: the accelerator's, or this machine's RAM for the CPU."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return str(torch.cuda.get_device_name(torch.device(device)))
    return "cpu"


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def check_device(device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(
            f"this worker has no CUDA device for {device!r}; run it on a GPU "
            "machine or start it with `reelforge worker --device cpu`",
            code="device_unavailable",
        )


# -- loading ------------------------------------------------------------------------------


def load_pipeline(model: ModelConfig, pipeline_class: str, device: str) -> Any:
    """Load a local diffusers directory with `pipeline_class` and apply the model's options."""
    check_device(device)
    cls = getattr(diffusers, pipeline_class, None)
    if cls is None:
        raise BackendError(
            f"the installed diffusers {diffusers.__version__} has no {pipeline_class}; upgrade it",
            code="model_load_failed",
        )
    try:
        pipe = cls.from_pretrained(
            model.path, dtype=TORCH_DTYPES[model.dtype], local_files_only=True
        )
    except Exception as exc:  # missing files, corrupt weights, wrong layout
        raise BackendError(
            f"model {model.name!r} could not be loaded from {model.path}: "
            f"{type(exc).__name__}: {_first_line(exc)}. Check that the directory is a complete "
            f"diffusers {model.family} model (what save_pretrained writes)",
            code="model_load_failed",
        ) from exc
    _apply_options(pipe, model.options, device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _apply_options(pipe: Any, options: ModelOptions, device: str) -> None:
    target = torch.device(device)
    if options.offload == "model":
        pipe.enable_model_cpu_offload(device=target)
    elif options.offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=target)
    elif options.offload == "group":
        pipe.enable_group_offload(
            onload_device=target,
            offload_device=torch.device("cpu"),
            offload_type="leaf_level",
            use_stream=target.type == "cuda",
        )
    else:
        pipe.to(target)
    if options.vae_tiling:
        pipe.vae.enable_tiling()
    if options.vae_slicing:
        pipe.vae.enable_slicing()
    if options.attention_backend:
        try:
            pipe.transformer.set_attention_backend(options.attention_backend)
        except Exception as exc:
            raise BackendError(
                f"attention backend {options.attention_backend!r} is not usable "
                f"here: {_first_line(exc)}",
                code="model_load_failed",
            ) from exc
    if options.compile:
        pipe.transformer.compile()


def _step_cache_config(name: str, pipe: Any) -> Any:
    from diffusers import (
        FirstBlockCacheConfig,
        PyramidAttentionBroadcastConfig,
        TaylorSeerCacheConfig,
    )

    if name == "first_block":
        return FirstBlockCacheConfig(threshold=0.2)
    if name == "pab":
        return PyramidAttentionBroadcastConfig(
            spatial_attention_block_skip_range=2,
            spatial_attention_timestep_skip_range=(100, 800),
            current_timestep_callback=lambda: pipe.current_timestep,
        )
    if name == "taylorseer":
        return TaylorSeerCacheConfig(
            cache_interval=2, disable_cache_before_step=2, cache_identifiers=_TAYLORSEER_IDS
        )
    raise BackendError(f"unknown step cache {name!r}", code="invalid_model_option")


# -- one generation -----------------------------------------------------------------------


class _Stages:
    """Wall time of text encoding and VAE decode, measured by wrapping the pipeline's own
    `encode_prompt`, `encode_image` and `vae.decode` for one call."""

    WRAPPED = (("encode_prompt", "text_encode"), ("encode_image", "image_encode"))

    def __init__(self, pipe: Any, on_progress: ProgressFn):
        self.pipe, self.on_progress = pipe, on_progress
        self.seconds: dict[str, float] = {}

    def _timed(
        self, fn: Callable[..., Any], stage: str, before: Callable[[], None] | None = None
    ) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            if before is not None:
                before()
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started

        return run

    @contextmanager
    def installed(self) -> Iterator[None]:
        patched: list[tuple[Any, str]] = []
        for method, stage in self.WRAPPED:
            if hasattr(self.pipe, method):
                setattr(self.pipe, method, self._timed(getattr(self.pipe, method), stage))
                patched.append((self.pipe, method))
        vae = self.pipe.vae
        vae.decode = self._timed(
            vae.decode, "decode", before=lambda: self.on_progress("decode", 0, 1)
        )
        patched.append((vae, "decode"))
        try:
            yield
        finally:
            for owner, method in patched:
                owner.__dict__.pop(method, None)  # back to the class's own method


@contextmanager
def _step_cache(pipe: Any, name: str | None) -> Iterator[None]:
    transformer = getattr(pipe, "transformer", None)
    if name is None or transformer is None or not hasattr(transformer, "enable_cache"):
        yield
        return
    transformer.enable_cache(_step_cache_config(name, pipe))
    try:
        yield
    finally:
        transformer.disable_cache()


def run_generation(
    pipe: Any,
    family: Family,
    task: str,
    params: Params,
    spec: JobSpec,
    images: list[Any],
    device: str,
    on_progress: ProgressFn,
) -> tuple[np.ndarray, dict[str, float], dict[str, Any]]:
    """Run the pipeline once. Returns (frames as uint8 (F, H, W, 3), stage seconds, compute).

    Progress is reported per denoising step; a JobInterrupted raised by `on_progress` stops
    the call at that step (before the VAE decode) and propagates.
    """
    assert family.build_call is not None
    kwargs: dict[str, Any] = {
        "prompt": spec.prompt,
        "negative_prompt": spec.negative_prompt or None,
        "height": params.height,
        "width": params.width,
        "num_frames": params.frames,
        "num_inference_steps": params.steps,
        "guidance_scale": params.guidance,
        "generator": torch.Generator("cpu").manual_seed(spec.seed),
        "output_type": "np",
        **family.build_call(task, params, spec, images),
    }

    def on_step(p: Any, step: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        on_progress("denoise", step + 1, int(getattr(p, "num_timesteps", 0) or params.steps))
        return tensors

    cuda = device.startswith("cuda") and torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats(torch.device(device))
    stages = _Stages(pipe, on_progress)
    on_progress("denoise", 0, params.steps)
    started = time.perf_counter()
    try:
        with stages.installed(), _step_cache(pipe, params.step_cache):
            result = pipe(**kwargs, callback_on_step_end=on_step)
    except JobInterrupted:
        _after_abort(pipe)
        raise
    except Exception as exc:
        _after_abort(pipe)
        raise as_backend_error(exc) from exc
    total = time.perf_counter() - started
    if cuda:
        torch.cuda.synchronize(torch.device(device))
    seconds = {k: round(v, 4) for k, v in stages.seconds.items()}
    seconds["denoise"] = round(max(0.0, total - sum(stages.seconds.values())), 4)
    frames = _to_uint8(result.frames)
    on_progress("decode", 1, 1)
    compute: dict[str, Any] = {"device_name": device_name(device)}
    if cuda:
        compute.update(
            peak_memory_bytes=int(torch.cuda.max_memory_allocated(torch.device(device))),
            memory_kind="cuda_max_allocated",
        )
    else:
        compute.update(
            peak_memory_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            memory_kind="process_max_rss",
        )
    return frames, seconds, compute


def _after_abort(pipe: Any) -> None:
    maybe_free = getattr(pipe, "maybe_free_model_hooks", None)
    if maybe_free is not None:
        maybe_free()
    free_memory()


def _to_uint8(frames: Any) -> np.ndarray:
    array = frames[0] if isinstance(frames, (list, tuple)) else frames
    array = np.asarray(array)
    if array.ndim == 5:  # (batch, frames, H, W, C)
        array = array[0]
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(array)


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def as_backend_error(exc: BaseException) -> BackendError:
    if isinstance(exc, BackendError):
        return exc
    if is_out_of_memory(exc):
        return BackendError(
            "the device ran out of memory for this request; try a smaller "
            "size, fewer frames, or a model with offload or VAE tiling "
            "enabled",
            code="out_of_memory",
        )
    return BackendError(f"generation failed: {type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
