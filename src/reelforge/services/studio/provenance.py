"""The studio's provenance report of a video: the verify service (visible label, AIGC
metadata, watermark, C2PA) run on the job's stored MP4. A few run at once per process (a
busy process says so rather than queueing decodes), and a report is kept per stored file:
the bytes never change, so a page reloaded again and again decodes them once."""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.errors import RateLimited
from reelforge.services.jobs import queries
from reelforge.services.provenance.marking import verify

AT_ONCE = 2  # verifications decoding at the same time in this process
KEPT = 256  # reports kept (by the stored file's SHA-256)

_running = threading.BoundedSemaphore(AT_ONCE)
_reports: OrderedDict[str, dict[str, Any]] = OrderedDict()
_lock = threading.Lock()


def report(p: Platform, account: AccountRef, video_id: str) -> dict[str, Any]:
    """What the account's video carries (`reelforge verify`'s report); NotFound for another
    account's video or one without a file; RateLimited `verify_busy` when the process is
    verifying AT_ONCE files already."""
    content = queries.job_content(p, account, video_id)  # scoped to the account
    with _lock:
        kept = _reports.get(content.key)
        if kept is not None:
            _reports.move_to_end(content.key)
            return kept
    if not _running.acquire(blocking=False):
        raise RateLimited("the provenance check is busy; try again", code="verify_busy")
    try:
        with tempfile.TemporaryDirectory(prefix="reelforge-studio-verify-") as tmp:
            local = Path(tmp) / "video.mp4"
            queries.save_content(p, account, video_id, local)  # the stored bytes, checked
            result = verify(p, local)
    finally:
        _running.release()
    with _lock:
        _reports[content.key] = result
        while len(_reports) > KEPT:
            _reports.popitem(last=False)
    return result
