"""The one way governance models get an onnxruntime session: CPU only, a set thread count,
built lazily (``LazySession``).

Used by the nudity detector, the face descriptor and the MiniLM encoder layers. The caller
checks that onnxruntime is installed (each reports a missing package its own way).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def cpu_session(model: str | bytes, threads: int | None = None) -> Any:
    """An onnxruntime ``InferenceSession`` for a model file path or serialised model bytes;
    ``threads`` sets the intra-op threads (None: onnxruntime's default, all cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


class LazySession:
    """A session built by ``build`` on first ``get()``, once, under a lock; ``run`` on the
    session it returns is safe from several threads at once."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._session: Any = None

    def get(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._build()
        return self._session
