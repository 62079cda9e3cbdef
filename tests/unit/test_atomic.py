"""The one write-then-rename helper: a reader sees the old file, the new one or none."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from reelforge.atomic import atomic_writer, replacing, write_atomic


def _others(d: Path, name: str) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name != name)


def test_write_replaces_the_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old")
    write_atomic(dest, b"new bytes", mode=0o600, fsync=True)
    assert dest.read_bytes() == b"new bytes"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert _others(tmp_path, "out.bin") == []


def test_an_error_keeps_the_old_file_and_removes_the_temp(tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old")
    seen: list[Path] = []
    with pytest.raises(RuntimeError, match="half"), atomic_writer(dest) as fh:
        fh.write(b"half written")
        seen.append(Path(fh.name))
        raise RuntimeError("half")
    assert dest.read_bytes() == b"old"
    assert not seen[0].exists() and _others(tmp_path, "out.bin") == []


def test_the_temp_is_beside_the_destination_named_for_leftover_checks(tmp_path: Path) -> None:
    dest = tmp_path / "blob"
    with replacing(dest, prefix=".incoming-") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".incoming-")
        assert not dest.exists()  # nothing visible under the final name while writing
        tmp.write_bytes(b"x")
    with replacing(dest) as tmp:
        assert tmp.name.startswith(".blob.") and tmp.name.endswith(".part")
        tmp.write_bytes(b"y")
    assert dest.read_bytes() == b"y"


def test_the_default_mode_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "poster.jpg", b"jpeg")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "poster.jpg").stat().st_mode) == 0o644
