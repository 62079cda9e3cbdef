"""Write-then-rename helpers, so a reader never sees a half-written media file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def temp_path_beside(dest: Path) -> Path:
    """Create an empty, uniquely named temp file next to `dest` and return its path.

    Same directory, so the final `os.replace` is an atomic rename on the same filesystem.
    Unlike `tempfile.mkstemp` (always mode 0600), the file gets the usual 0666 & ~umask, so a
    published video or poster is readable by whoever may read the directory.
    """
    while True:
        candidate = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.part")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
