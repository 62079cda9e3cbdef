"""The one way governance models get an onnxruntime session: CPU only, a set thread count.

Used by the nudity detector, the face descriptor and the MiniLM encoder layers. The caller
checks that onnxruntime is installed (each reports a missing package its own way).
"""

from __future__ import annotations

from typing import Any


def cpu_session(model: str | bytes, threads: int | None = None) -> Any:
    """An onnxruntime ``InferenceSession`` for a model file path or serialised model bytes;
    ``threads`` sets the intra-op threads (None: onnxruntime's default, all cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
