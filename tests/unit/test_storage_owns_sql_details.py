"""Row locks and database-dialect branches live in storage/ only (issue 14 item 4): the
services ask a repository function (lock_account, reread_locked, waiting_jobs, ...)."""

from __future__ import annotations

import re
from pathlib import Path

import reelforge

SRC = Path(reelforge.__file__).parent
SQL_DETAIL = re.compile(r"with_for_update|dialect\.name|\.dialect\s*==|FOR UPDATE")


def test_row_locks_and_dialect_branches_only_in_storage() -> None:
    found = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).parts[0] != "storage"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SQL_DETAIL.search(line)
    ]
    assert found == []
    assert any(SQL_DETAIL.search(p.read_text()) for p in (SRC / "storage").glob("*.py"))
