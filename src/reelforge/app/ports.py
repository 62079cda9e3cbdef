"""Extension points features plug into, wired once in `bootstrap`.

Governance, provenance, billing and analytics attach here instead of editing the submit and
execution paths: each is a list on the `Platform`, run in order.

- `SubmitCheck.check`       before anything is written (moderation, quotas); raise to refuse
                            (in `app.platform`: the one port that is handed the container).
- `SubmitRecorder.on_submit` inside the submit transaction (reserve credits, audit entries).
- `FrameFilterFactory.for_job` a per-job frame hook applied before encoding (labels, marks).
- `OutputStep.process`      after encoding, before storing (metadata, signing, output checks);
                            returns the path of the file to store (may be a new one).
- `FinalHook.on_final`      inside the transaction that records a final status (capture or
                            release credits, usage events).
- `MetadataProvider.tags`   container tags written by the encoder (AIGC implicit label).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from reelforge.domain.spec import JobSpec
from reelforge.storage.tables import Job

FrameHook = Callable[[int, np.ndarray], "np.ndarray | None"]


class SubmitRecorder(Protocol):
    def on_submit(self, s: Session, job: Job, now: datetime) -> None: ...


class FrameFilterFactory(Protocol):
    def for_job(self, job: Job, spec: JobSpec, width: int, height: int,
                fps: int) -> FrameHook | None: ...


class OutputStep(Protocol):
    def process(self, job: Job, spec: JobSpec, video: Path, workdir: Path) -> Path: ...


class MetadataProvider(Protocol):
    def tags(self, job: Job, spec: JobSpec) -> dict[str, str]: ...


class FinalHook(Protocol):
    def on_final(self, s: Session, job: Job, now: datetime) -> None: ...


def chain_frame_hooks(hooks: list[FrameHook]) -> FrameHook | None:
    """One hook that applies several in order (each sees the previous one's output)."""
    if not hooks:
        return None

    def run(index: int, frame: np.ndarray) -> np.ndarray | None:
        changed = None
        for hook in hooks:
            result = hook(index, frame)
            if result is not None:
                frame = changed = result
        return changed

    return run
