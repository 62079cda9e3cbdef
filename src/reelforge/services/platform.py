"""`Platform`: the adapters one process works with, built once by `bootstrap`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from reelforge.backends.base import GenerationBackend
from reelforge.config import Settings
from reelforge.domain.clock import Clock, system_clock
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import CapabilityMissing
from reelforge.queue.jobqueue import JobQueue
from reelforge.services.hooks import (
    FinalHook,
    FrameFilterFactory,
    OutputStep,
    SubmitCheck,
    SubmitRecorder,
)
from reelforge.storage.blobs import BlobStore
from reelforge.storage.db import Database


class BackendRegistry:
    """Model name → backend. `resolve` picks the backend that serves a spec."""

    def __init__(self, backends: Iterable[GenerationBackend] = ()):
        self._by_name: dict[str, GenerationBackend] = {}
        for backend in backends:
            self.add(backend)

    def add(self, backend: GenerationBackend) -> None:
        self._by_name[backend.name] = backend

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def get(self, name: str) -> GenerationBackend | None:
        return self._by_name.get(name)

    def default_model(self, mode: Mode) -> str:
        if mode is Mode.IMAGE2VIDEO and "motion" in self._by_name:
            return "motion"
        if mode is Mode.TEXT2VIDEO:
            raise CapabilityMissing(
                "No text-to-video model is configured on this deployment. An operator can add "
                "one with `pip install 'reelforge[neural]'` and `reelforge models add NAME "
                "--family wan --path DIR`, then pass `model`=NAME; or send an image "
                "(image2video) to use the built-in motion backend.",
                code="no_text2video_model",
            )
        raise CapabilityMissing(f"no model serves {mode}; configured: {self.names()}")

    def resolve(self, spec: JobSpec) -> GenerationBackend:
        backend = self._by_name.get(spec.model)
        if backend is None:
            raise CapabilityMissing(
                f"unknown model {spec.model!r}; available: {', '.join(self.names()) or 'none'}",
                code="unknown_model", field="model",
            )
        backend.check(spec)
        return backend

    def queues(self) -> list[str]:
        return sorted({b.queue for b in self._by_name.values()})


@dataclass
class Platform:
    settings: Settings
    db: Database
    blobs: BlobStore
    queue: JobQueue
    backends: BackendRegistry
    clock: Clock = field(default=system_clock)
    # Version of the moderation policy in force; part of result-cache keys and audit entries.
    # Governance sets it in bootstrap; "none" means no policy is loaded.
    policy_version: str = "none"
    submit_checks: list[SubmitCheck] = field(default_factory=list)
    submit_recorders: list[SubmitRecorder] = field(default_factory=list)
    frame_filters: list[FrameFilterFactory] = field(default_factory=list)
    output_steps: list[OutputStep] = field(default_factory=list)
    final_hooks: list[FinalHook] = field(default_factory=list)

    def close(self) -> None:
        self.queue.close()
        self.db.dispose()
