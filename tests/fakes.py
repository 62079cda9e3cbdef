"""A test backend: real frames, real encoding, controllable speed and failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np

from reelforge.backends.base import Clip, GenerationRequest, ProgressFn
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import BackendError, CapabilityMissing


class GradientBackend:
    """Renders a moving gradient (so frames differ) at the spec's size, frame count and fps.

    `frame_delay` slows it down; `fail_with` makes generation raise; `started` is set when a
    generation starts (tests wait on it to cancel or kill mid-job).
    """

    def __init__(
        self,
        name: str = "gradient",
        queue: str = "gradient",
        *,
        frame_delay: float = 0.0,
        fail_with: Exception | None = None,
        text2video: bool = True,
    ):
        self.name, self.queue = name, queue
        self.frame_delay = frame_delay
        self.fail_with = fail_with
        self.text2video = text2video
        self.started = threading.Event()
        self.generations = 0

    def check(self, spec: JobSpec) -> None:
        if spec.mode is Mode.TEXT2VIDEO and not self.text2video:
            raise CapabilityMissing("no text2video", code="no_text2video_model")

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        self.generations += 1
        self.started.set()
        if self.fail_with is not None:
            raise self.fail_with
        spec = request.spec
        width, height = spec.size
        n = spec.frame_count
        clip = Clip(
            width=width, height=height, fps=spec.fps, frame_count=n, frames=iter(()), device="cpu"
        )

        def frames() -> Iterator[np.ndarray]:
            x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
            for i in range(n):
                on_progress("render", i, n)
                if self.frame_delay:
                    time.sleep(self.frame_delay)
                frame = np.empty((height, width, 3), np.uint8)
                frame[...] = (x + i * 7) % 256
                yield frame
            on_progress("render", n, n)

        clip.frames = frames()
        return clip


def broken_backend() -> GradientBackend:
    return GradientBackend(
        fail_with=BackendError("the model ran out of memory", code="out_of_memory")
    )
