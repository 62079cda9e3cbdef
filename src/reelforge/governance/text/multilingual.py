"""The multilingual embedding stage (optional): an operator's sentence-transformers directory
of a BERT-architecture multilingual encoder (paraphrase-multilingual-MiniLM-L12-v2, LaBSE,
multilingual-e5-small, ...), run like the MiniLM stage — NumPy embeddings, encoder layers in
onnxruntime, no torch — with the category exemplars (``data/semantic_exemplars.txt``, English)
embedded through it: a multilingual encoder maps a prompt and its translation close together,
so English exemplars judge prompts in the languages it was trained on.

Set ``RF_MULTILINGUAL_MODEL_DIR`` (and ``RF_MULTILINGUAL_LANGUAGES``, comma-separated ISO
639-1 codes; default: every language the identifier knows — narrow it to what the model's
card lists). The directory is read, never downloaded: ``config.json`` (``model_type`` bert),
``model.safetensors``, ``tokenizer.json`` and, when present, ``1_Pooling/config.json`` (mean
or CLS pooling), ``2_Dense`` (LaBSE's tanh projection) and ``config_sentence_transformers.json``
(a query prefix such as E5's ``"query: "``).

Scores use the MiniLM stage's mapping (``semantic.to_score``); its constants were calibrated
for all-MiniLM-L6-v2, so an operator's model needs its own check on the evaluation sets
(``python -m bench.policy_eval --multilingual DIR``) before its scores are trusted.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from reelforge.governance.language import CANDIDATES
from reelforge.governance.signals import Category, Signal
from reelforge.governance.text.semantic import MiniLMEncoder, SemanticClassifier, to_score

FLOOR = 0.15  # scores under this are not reported (as the MiniLM stage's)


class MultilingualError(ValueError):
    """The directory is not a BERT-architecture sentence-transformers model."""


def _pooling(path: Path) -> str:
    pooling = path / "1_Pooling" / "config.json"
    if not pooling.is_file():
        return "mean"
    data = json.loads(pooling.read_text())
    if data.get("pooling_mode_cls_token"):
        return "cls"
    if data.get("pooling_mode_mean_tokens", True):
        return "mean"
    raise MultilingualError(f"{pooling}: only mean or CLS pooling is supported")


class _Encoder(MiniLMEncoder):
    """The shared BERT forward pass, plus an optional Dense projection (LaBSE) and the
    model's query prefix."""

    def __init__(self, path: Path) -> None:
        config = json.loads((path / "config.json").read_text())
        if config.get("model_type") != "bert":
            raise MultilingualError(
                f"{path}: model_type {config.get('model_type')!r}; a BERT-architecture "
                "encoder is supported (multilingual MiniLM, LaBSE, multilingual E5)"
            )
        super().__init__(path, pinned=False, pooling=_pooling(path))
        self._dense: tuple[np.ndarray, np.ndarray] | None = None
        dense = path / "2_Dense"
        if (dense / "model.safetensors").is_file():
            from safetensors.numpy import load_file

            w = load_file(str(dense / "model.safetensors"))
            self._dense = (
                np.ascontiguousarray(w["linear.weight"].T.astype(np.float32)),
                w["linear.bias"].astype(np.float32),
            )
        self.prefix = ""
        st_config = path / "config_sentence_transformers.json"
        if st_config.is_file():
            prompts = json.loads(st_config.read_text()).get("prompts") or {}
            self.prefix = str(prompts.get("query", ""))

    def project(self, pooled: np.ndarray) -> np.ndarray:
        if self._dense is None:
            return pooled
        weight, bias = self._dense
        out: np.ndarray = np.tanh(pooled @ weight + bias)
        return out

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return super().encode([self.prefix + t for t in texts], batch_size)


class MultilingualStage:
    """Per-category scores from an operator's multilingual encoder (see the module
    docstring); loaded on first use."""

    def __init__(self, path: Path, languages: frozenset[str] | None = None) -> None:
        self.path = Path(path)
        self.languages = frozenset(languages or CANDIDATES)
        self._lock = threading.Lock()
        self._encoder: _Encoder | None = None
        self._classifier = SemanticClassifier(encoder=self.encoder, name="multilingual")

    def encoder(self) -> _Encoder:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = _Encoder(self.path)
        return self._encoder

    @property
    def loaded(self) -> bool:
        return self._classifier.loaded

    def warm(self) -> None:
        self._classifier.warm()

    def scores(self, text: str) -> dict[Category, float]:
        if not text.strip():
            return {}
        sims = self._classifier.similarities(text)
        return {cat: to_score(h, b) for cat, (h, b) in sims.items()}

    def signals(self, text: str, source: str = "prompt") -> list[Signal]:
        """One signal per category from ``FLOOR``, rule ``multilingual:<category>``."""
        return [
            Signal(cat, score, f"multilingual:{cat}", source)
            for cat, score in sorted(self.scores(text).items())
            if score >= FLOOR
        ]
