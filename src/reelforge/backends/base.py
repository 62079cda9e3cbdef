"""The seam between the platform and whatever makes pixels.

A backend turns a `GenerationRequest` into a `Clip`: a lazily produced stream of RGB frames
plus their geometry. The platform, not the backend, encodes the MP4, picks the poster and
applies frame filters (labels, watermarks), so every backend's output is handled alike.

Progress and cancellation go through `on_progress(stage, done, total)`. The callable may
raise `JobInterrupted`; a backend must let it propagate (and free what it holds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from reelforge.domain.spec import JobSpec

SOURCE_FILE = "source.mp4"
"""The encoded file a backend's frames came from, where there is one (a hosted provider's
download), kept in the run's workdir under this name: output steps carry its provenance over
(a C2PA manifest it carries becomes an ingredient of ours)."""

ProgressFn = Callable[[str, int, int], None]
"""on_progress(stage, done, total). May raise JobInterrupted to stop the generation."""


@dataclass(frozen=True)
class GenerationRequest:
    job_id: str
    spec: JobSpec
    input_paths: tuple[Path, ...]  # local copies of spec.images, same order
    workdir: Path  # scratch space owned by this run; removed afterwards


@dataclass
class Clip:
    """Frames are RGB uint8 arrays of shape (height, width, 3), produced lazily.

    `timings` is filled by the backend as it works (stage -> wall seconds), e.g. "prepare"
    before the first frame and "render" accumulated while frames are produced.
    """

    width: int
    height: int
    fps: int
    frame_count: int
    frames: Iterator[np.ndarray]
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    # Measured compute beyond timings: device_name, peak_memory_bytes, warm, ...
    compute: dict[str, Any] = field(default_factory=dict)
    # A media file whose first audio track is the clip's sound from its first frame on (a
    # provider's MP4): kept in the output beside the marked frames (media.audio).
    audio: Path | None = None


@runtime_checkable
class GenerationBackend(Protocol):
    name: str
    queue: str  # workers subscribe to queues; one queue per model family

    def check(self, spec: JobSpec) -> None:
        """Raise InvalidRequest/CapabilityMissing if this backend cannot honour the spec.

        Called at submit time, before anything is written or enqueued.
        """

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        """Start generating. Frames may be produced while the returned clip is iterated."""


def backend_parameters(backend: GenerationBackend, spec: JobSpec) -> dict[str, Any]:
    """What the backend will run for `spec` after its defaults (size, frames, steps, ...):
    recorded on the job at submit. Backends may define `parameters(spec)`; otherwise the
    spec's own geometry is what runs."""
    parameters = getattr(backend, "parameters", None)
    if parameters is not None:
        result: dict[str, Any] = parameters(spec)
        return result
    width, height = spec.size
    return {"width": width, "height": height, "frames": spec.frame_count, "fps": spec.fps}


def backend_default_fps(backend: GenerationBackend, fallback: int) -> int:
    """The frame rate a backend's model was made for (`default_fps`), else `fallback`."""
    return int(getattr(backend, "default_fps", fallback))


class BackendBusy(Exception):
    """The backend cannot take the job now (a hosted provider's concurrency limit or
    throttling): the worker hands the job back to the queue (`queued`, after `retry_after`
    seconds) instead of failing it, and the attempt does not count against max_attempts."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
