"""The one way governance models get an onnxruntime session: CPU only, a set thread count,
built lazily (``LazySession``); and the cache of what is derived from model weights
(``cached``).

Used by the nudity detector, the face descriptor and the MiniLM encoder layers. The caller
checks that onnxruntime is installed (each reports a missing package its own way).

**The derived-model cache.** Building the face-descriptor and MiniLM graphs from their weights
(and embedding the semantic exemplars) took seconds in every process. ``cached(name, key,
build)`` keeps what ``build`` returns in ``model_cache_dir()`` (``RF_MODEL_CACHE_DIR``, else
``$XDG_CACHE_HOME/reelforge/models``, else ``~/.cache/reelforge/models``) under a name that
hashes ``key`` — the caller puts in the source weights' sha256 and the version of the code that
builds from them (``source_digest`` of its own modules), so a changed file or changed code
never meets an old entry. Entries are written atomically (a temporary file renamed into place)
and carry the sha256 of their contents, checked on every load: a truncated or altered entry is
built again and replaced. A cache that cannot be written (read-only home) costs only the build.
The cache holds ONNX graphs and NumPy arrays (loaded with ``allow_pickle=False``), never
pickles, so a file planted in it can at worst make a session fail to load — which also rebuilds.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from reelforge.atomic import atomic_writer

log = logging.getLogger(__name__)

CACHE_ENV = "RF_MODEL_CACHE_DIR"
_MAGIC = b"RFMC1\n"  # the format of an entry: magic, sha256 of the payload, the payload
_DIGEST = 32
_cache_override: Path | None = None
_T = TypeVar("_T")


def set_model_cache_dir(path: Path | None) -> None:
    """Use ``path`` for derived models from now on (None: back to the environment/default)."""
    global _cache_override
    _cache_override = Path(path) if path is not None else None


def model_cache_dir() -> Path:
    """Where derived models are kept (see the module docstring)."""
    if _cache_override is not None:
        return _cache_override
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reelforge" / "models"


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_digest(*modules: Any) -> str:
    """A version of the code in ``modules`` (their source files' sha256): a cache key part that
    changes whenever the code that builds an entry does."""
    digest = hashlib.sha256()
    for module in modules:
        try:
            digest.update(Path(module.__file__).read_bytes())
        except (OSError, TypeError):  # no source file (frozen): the name and the package version
            from importlib.metadata import PackageNotFoundError, version

            try:
                release = version("reelforge")
            except PackageNotFoundError:
                release = "unknown"
            digest.update(f"{module.__name__} {release}".encode())
    return digest.hexdigest()


def cache_path(name: str, key: Iterable[str]) -> Path:
    """The file that holds entry ``name`` for ``key``."""
    digest = hashlib.sha256("\0".join([name, *key]).encode()).hexdigest()[:32]
    return model_cache_dir() / f"{name}-{digest}.bin"


def read_entry(path: Path) -> bytes | None:
    """An entry's payload, or None when it is missing, truncated or altered."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + _DIGEST
    if len(data) < head or not data.startswith(_MAGIC):
        return None
    payload = data[head:]
    if hashlib.sha256(payload).digest() != data[len(_MAGIC) : head]:
        return None
    return payload


_STALE_TEMP_S = 600  # a temporary file this old was left by a process that died writing


def write_entry(path: Path, payload: bytes) -> None:
    """Write an entry atomically (readers see the old file, the new one or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for left in path.parent.glob(f".{path.name}.*"):  # from a process killed mid-write
        with contextlib.suppress(OSError):
            if time.time() - left.stat().st_mtime > _STALE_TEMP_S:
                left.unlink()
    with atomic_writer(path, mode=0o600, fsync=True) as fh:
        fh.write(_MAGIC + hashlib.sha256(payload).digest())
        fh.write(payload)


def cached(
    name: str, key: Iterable[str], build: Callable[[], bytes], load: Callable[[bytes], _T]
) -> _T:
    """``load(payload)`` of the cached entry for (``name``, ``key``), or of ``build()`` —
    stored for next time — when there is none, it fails its checksum, or ``load`` rejects it."""
    try:
        path = cache_path(name, list(key))
    except (OSError, RuntimeError) as exc:  # no home directory to put a cache in
        log.info("no model cache (%s); building %s", exc, name)
        return load(build())
    payload = read_entry(path)
    if payload is not None:
        try:
            return load(payload)
        except Exception as exc:  # the checksum held but the contents do not load: rebuild
            log.warning("model cache entry %s does not load (%s); building it again", path, exc)
    elif path.exists():
        log.warning("model cache entry %s is damaged; building it again", path)
    payload = build()
    result = load(payload)
    try:
        write_entry(path, payload)
    except OSError as exc:  # a read-only cache costs the build, nothing else
        log.info("cannot write model cache entry %s: %s", path, exc)
    return result


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

    @property
    def loaded(self) -> bool:
        """Whether the session has been built (nothing is loaded until the first ``get()``)."""
        return self._session is not None

    def get(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._build()
        return self._session
