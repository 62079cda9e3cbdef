"""Write-then-rename: the one way a file is written whole or not at all (a reader sees the
old file, the new one, or none; never a half-written one). Blobs, downloads, media, the
governance model cache and the provenance credentials all write through here."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def temp_path_beside(dest: Path, *, prefix: str | None = None, mode: int = 0o666) -> Path:
    """Create an empty, uniquely named temp file next to `dest` and return its path:
    `.NAME.RANDOM.part`, or `PREFIX RANDOM` where the caller looks for its leftovers.

    Same directory, so the final `os.replace` is an atomic rename on the same filesystem.
    Unlike `tempfile.mkstemp` (always mode 0600), the file gets `mode` & ~umask (by default
    0666: a published video or poster is readable by whoever may read the directory).
    """
    while True:
        token = secrets.token_hex(6)
        name = f"{prefix}{token}" if prefix else f".{dest.name}.{token}.part"
        candidate = dest.with_name(name)
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate


@contextmanager
def replacing(dest: Path, *, prefix: str | None = None, mode: int = 0o666) -> Iterator[Path]:
    """A temp file beside `dest` to write; when the block ends it replaces `dest` (atomic
    rename), and on any error (the block's or the rename's) it is removed."""
    tmp = temp_path_beside(dest, prefix=prefix, mode=mode)
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_writer(
    dest: Path, *, prefix: str | None = None, mode: int = 0o666, fsync: bool = False
) -> Iterator[BinaryIO]:
    """`replacing(dest)` opened for writing; `fsync` makes the bytes durable before the
    rename (blobs, downloads, cache entries: a crash never leaves a renamed empty file)."""
    with replacing(dest, prefix=prefix, mode=mode) as tmp, open(tmp, "wb") as fh:
        yield fh
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())


def write_atomic(
    dest: Path, data: bytes, *, prefix: str | None = None, mode: int = 0o666, fsync: bool = False
) -> None:
    """Write `data` as the whole of `dest` (see atomic_writer)."""
    with atomic_writer(dest, prefix=prefix, mode=mode, fsync=fsync) as fh:
        fh.write(data)
