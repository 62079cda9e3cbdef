"""A guard model as a moderation stage: ask, read the answer strictly, report signals.

``GuardStage.check(text)`` returns a ``GuardVerdict``: the signals (rule
``guard:<name>:<label>``, stage ``guard``) and whether the answer was read. An unreadable
answer, or a model that fails to answer, is ``parsed=False`` — the policy then sends the
prompt to a person (``PolicyProfile.decide(..., unresolved=...)``), never lets it through.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from reelforge.governance.guards.families import (
    FAMILIES,
    SHIELDGEMMA_POLICIES,
    GuardAnswer,
    parse_shieldgemma,
    shieldgemma_prompt,
)
from reelforge.governance.guards.runtime import GuardRuntime
from reelforge.governance.signals import Signal

log = logging.getLogger(__name__)
MAX_TEXT_CHARS = 8000  # a prompt is at most 2,500 characters; overlays add a little


@dataclass(frozen=True)
class GuardVerdict:
    name: str
    parsed: bool
    signals: list[Signal] = field(default_factory=list)
    raw: str = ""
    error: str | None = None

    @property
    def unresolved(self) -> str | None:
        """The rule to record when the guard gave no usable answer."""
        return None if self.parsed else f"guard:{self.name}:unparseable"


class GuardStage:
    """One registered guard: family, directory, device, dtype; the model loads on first use."""

    def __init__(
        self, name: str, family: str, path: Path, device: str = "cpu", dtype: str = "fp32"
    ) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown guard family {family!r}")
        self.name, self.family = name, FAMILIES[family]
        self.path, self.device, self.dtype = Path(path), device, dtype
        self._runtime: GuardRuntime | None = None
        self._lock = threading.Lock()

    @property
    def languages(self) -> frozenset[str]:
        return self.family.languages

    @property
    def loaded(self) -> bool:
        return self._runtime is not None and self._runtime.loaded

    def _rt(self) -> GuardRuntime:
        """The runtime (its module imports torch only when the model loads)."""
        if self._runtime is None:
            with self._lock:
                if self._runtime is None:
                    self._runtime = GuardRuntime(self.family, self.path, self.device, self.dtype)
        return self._runtime

    def answer(self, text: str) -> GuardAnswer:
        """The family's reading of the model's answer about ``text``."""
        text = text[:MAX_TEXT_CHARS]
        runtime = self._rt()
        if self.family.parse is None:  # shieldgemma: one Yes/No question per policy
            return parse_shieldgemma(
                {p: runtime.yes_no(shieldgemma_prompt(text, p)) for p in SHIELDGEMMA_POLICIES}
            )
        return self.family.parse(runtime.generate(runtime.chat_prompt(text)))

    def check(self, text: str, source: str = "prompt") -> GuardVerdict:
        """Ask the guard about ``text``; a failure or an unreadable answer is unresolved."""
        try:
            found = self.answer(text)
        except Exception as exc:  # a broken model must hold the prompt, not let it pass
            log.exception("guard %s failed on a prompt", self.name)
            return GuardVerdict(self.name, False, error=f"{type(exc).__name__}: {exc}")
        if not found.parsed:
            return GuardVerdict(self.name, False, raw=found.raw)
        label = ",".join(found.labels) or "unsafe"
        signals = [
            Signal(cat, score, f"guard:{self.name}", source, label)
            for cat, score in sorted(found.scores.items())
        ]
        if found.unsafe and not signals:  # unsafe, but nothing reelforge has a category for
            return GuardVerdict(self.name, False, raw=found.raw, error="unsafe: no category")
        return GuardVerdict(self.name, True, signals, raw=found.raw)
