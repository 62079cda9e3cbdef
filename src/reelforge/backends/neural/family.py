"""What a model family can do, as data: tasks, frame-count and size rules, defaults, presets.

Pure Python (no torch): submit-time checks use it on API nodes that never load a model.
Each family folder (`backends/wan`, `backends/ltx`, `backends/cogvideox`) defines one `Family`
plus how to turn a job into keyword arguments for its diffusers pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reelforge.domain.spec import JobSpec, Mode, Preset, Resolution, frame_size
from reelforge.errors import CapabilityMissing, InvalidRequest

TASKS = ("t2v", "i2v", "flf2v")
# The modes a model registered for a task serves.
TASK_MODES: dict[str, frozenset[Mode]] = {
    "t2v": frozenset({Mode.TEXT2VIDEO}),
    "i2v": frozenset({Mode.IMAGE2VIDEO, Mode.EXTEND}),
    "flf2v": frozenset({Mode.FIRST_LAST_FRAME}),
}
_LOWER = {
    Resolution.P1080: Resolution.P720,
    Resolution.P720: Resolution.P480,
    Resolution.P480: Resolution.P480,
}


@dataclass(frozen=True)
class FrameRule:
    """Valid frame counts: step·k + 1 between `minimum` and `maximum`."""

    step: int
    minimum: int
    maximum: int

    def valid(self, n: int) -> bool:
        return self.minimum <= n <= self.maximum and (n - 1) % self.step == 0

    def nearest(self, n: int) -> int:
        k = max(0, round((n - 1) / self.step))
        return min(self.maximum, max(self.minimum, self.step * k + 1))

    def describe(self) -> str:
        return f"{self.step}k+1 between {self.minimum} and {self.maximum}"

    def examples(self, n: int) -> str:
        below = self.step * ((n - 1) // self.step) + 1
        picks = sorted({self.nearest(below), self.nearest(below + self.step)})
        return " or ".join(str(x) for x in picks)


@dataclass(frozen=True)
class Params:
    """What a backend will run for a job, after defaults and presets: stored on the job."""

    width: int
    height: int
    frames: int
    fps: int
    steps: int
    guidance: float
    preset: str
    step_cache: str | None  # name of the denoising cache applied for this call, if any

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "fps": self.fps,
            "steps": self.steps,
            "guidance": self.guidance,
            "preset": self.preset,
            "step_cache": self.step_cache,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Params:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


CallBuilder = Callable[[str, Params, JobSpec, list[Any]], dict[str, Any]]
"""build_call(task, params, spec, images) -> keyword arguments for the pipeline call."""


@dataclass(frozen=True)
class Family:
    name: str
    # task → diffusers pipeline classes a model directory may declare (model_index.json)
    directory_classes: Mapping[str, tuple[str, ...]]
    # task → the pipeline class the worker loads the directory with
    load_class: Mapping[str, str]
    size_multiple: int
    frames: FrameRule
    fps: int  # the frame rate the family was trained at (default when none is asked for)
    steps: int
    guidance: float
    draft_steps: int
    max_side: int = 2048
    # denoising caches that work with this family's transformer, and the one drafts use
    step_caches: tuple[str, ...] = ("first_block", "pab", "taylorseer")
    draft_cache: str = "first_block"
    build_call: CallBuilder | None = field(default=None, compare=False)
    # task → modes, where a family serves more than TASK_MODES says (LTX conditions)
    extra_modes: Mapping[str, frozenset[Mode]] = field(default_factory=dict)
    # reads a model directory and names the task it was trained for, where the pipeline
    # class alone does not tell (Wan i2v and flf2v share WanImageToVideoPipeline)
    sniff_task: Callable[[str], str | None] | None = field(default=None, compare=False)

    @property
    def queue(self) -> str:
        return self.name  # one queue per family: a worker only takes jobs for its weights

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.directory_classes)

    def modes(self, task: str) -> frozenset[Mode]:
        return TASK_MODES[task] | self.extra_modes.get(task, frozenset())

    def task_for_class(self, class_name: str) -> str | None:
        """The task a model directory declaring `class_name` serves by default."""
        for task, classes in self.directory_classes.items():
            if classes and classes[0] == class_name:
                return task
        return None

    def plan(self, spec: JobSpec, task: str, *, step_cache: str | None = None) -> Params:
        """Check a spec against this family's rules and fill in defaults.

        `step_cache` is the model's configured denoising cache; a draft uses the family's
        `draft_cache` when none is configured. Raises InvalidRequest naming the allowed
        values when the request cannot be honoured.
        """
        if spec.mode not in self.modes(task):
            allowed = ", ".join(sorted(m.value for m in self.modes(task)))
            raise CapabilityMissing(
                f"this {self.name} model is registered for {task} and serves {allowed}, "
                f"not {spec.mode}",
                code="unsupported_mode",
                field="mode",
            )
        preset = spec.preset or Preset.FINAL
        width, height = self._size(spec, preset)
        fps = spec.fps
        frames = self._frames(spec, fps)
        steps = spec.steps or (self.draft_steps if preset is Preset.DRAFT else self.steps)
        guidance = spec.guidance if spec.guidance is not None else self.guidance
        return Params(
            width=width,
            height=height,
            frames=frames,
            fps=fps,
            steps=steps,
            guidance=guidance,
            preset=str(preset),
            step_cache=step_cache or (self.draft_cache if preset is Preset.DRAFT else None),
        )

    def _size(self, spec: JobSpec, preset: Preset) -> tuple[int, int]:
        m = self.size_multiple
        if spec.width is not None and spec.height is not None:
            w, h = spec.width, spec.height
            if w % m or h % m or not (m <= w <= self.max_side and m <= h <= self.max_side):
                raise InvalidRequest(
                    f"{self.name} needs width and height that are multiples of {m}, up to "
                    f"{self.max_side}; got {w}x{h}, nearest allowed {self._round(w)}x"
                    f"{self._round(h)}",
                    code="unsupported_size",
                    field="width",
                )
            return w, h
        resolution = _LOWER[spec.resolution] if preset is Preset.DRAFT else spec.resolution
        w, h = frame_size(spec.aspect_ratio, resolution)
        return self._round(w), self._round(h)

    def _round(self, side: int) -> int:
        m = self.size_multiple
        return min(self.max_side - self.max_side % m, max(m, m * round(side / m)))

    def _frames(self, spec: JobSpec, fps: int) -> int:
        if spec.frames is not None:
            if not self.frames.valid(spec.frames):
                raise InvalidRequest(
                    f"{self.name} needs a frame count of {self.frames.describe()}; got "
                    f"{spec.frames}, try {self.frames.examples(spec.frames)}",
                    code="unsupported_frames",
                    field="frames",
                )
            return spec.frames
        wanted = max(1, round(spec.duration * fps))
        return self.frames.nearest(wanted)
