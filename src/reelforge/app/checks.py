"""Start-up checks: each part a deployment needs, tried for real, with a one-line fix when it
fails. `reelforge serve` and `reelforge worker` run them before taking work (and refuse to
start on a failure); /healthz reports the blob store and data directory from them."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass

from reelforge.app.platform import Platform
from reelforge.config import mask_url
from reelforge.errors import ReelforgeError

log = logging.getLogger(__name__)
HEALTH_TTL = 30.0  # seconds a passing blob-store probe is reused by /healthz


@dataclass(frozen=True)
class Check:
    name: str  # database, queue, blobs, data_dir, provenance
    ok: bool
    detail: str  # what was found (on failure: what is wrong, then the fix)
    code: str | None = None  # the error code on failure
    warning: str | None = None  # passing, but an operator should know

    @property
    def fix(self) -> str | None:
        """The fix: the last clause of a failure's message ("...: create it or set RF_X")."""
        return self.detail.rsplit(": ", 1)[-1] if not self.ok and ": " in self.detail else None

    def line(self) -> str:
        if not self.ok:
            return f"error   {self.name:<10} [{self.code}] {self.detail}"
        if self.warning:
            return f"warning {self.name:<10} {self.detail}; {self.warning}"
        return f"ok      {self.name:<10} {self.detail}"


def _failed(name: str, exc: Exception, code: str, detail: str) -> Check:
    if isinstance(exc, ReelforgeError):
        return Check(name, False, exc.message, exc.code)
    return Check(name, False, detail, code)


def database(p: Platform) -> Check:
    url = mask_url(p.settings.resolved_database_url)
    try:
        current, head = p.db.schema_revision()
    except Exception as exc:
        return _failed(
            "database",
            exc,
            "database_unreachable",
            f"cannot reach the database at {url} ({exc}): fix RF_DATABASE_URL",
        )
    if current != head:
        return Check(
            "database",
            False,
            f"{url} is at schema {current or 'none'}, this code "
            f"needs {head}: run `reelforge migrate`",
            "database_not_migrated",
        )
    applied = p.db.applied_migrations
    now = f"; applied now: {', '.join(applied)}" if applied else ""
    return Check("database", True, f"{url}: newest schema ({head}){now}")


def queue(p: Platform) -> Check:
    url = mask_url(p.settings.resolved_queue_url)
    names = p.backends.queues() or ["motion"]
    try:
        depth = p.queue.size(names[0])
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200]
        return _failed(
            "queue",
            exc,
            "queue_unreachable",
            f"cannot reach the queue at {url} ({type(exc).__name__}: {reason}): "
            "start it, or fix RF_QUEUE_URL",
        )
    return Check(
        "queue",
        True,
        f"{url} (namespace {p.settings.queue_namespace!r}, {names[0]}: {depth} waiting)",
    )


def blobs(p: Platform) -> Check:
    """Store a small probe and remove it: the store exists and takes writes."""
    url = mask_url(p.settings.resolved_blob_url)
    try:
        stored = p.blobs.put_bytes(
            b"reelforge write check " + os.urandom(16), "application/octet-stream"
        )
        p.blobs.delete(stored.key)
    except Exception as exc:
        return _failed(
            "blobs",
            exc,
            "blob_store_error",
            f"the blob store {url} refused a write ({exc}): fix RF_BLOB_URL",
        )
    return Check("blobs", True, f"{url} (writable)")


def data_dir(p: Platform) -> Check:
    where = p.settings.data_dir
    try:
        with tempfile.NamedTemporaryFile(dir=where, prefix=".write-check-"):
            pass
    except OSError as exc:
        return Check(
            "data_dir",
            False,
            f"the data directory {where} is not writable "
            f"({exc.strerror or exc}): fix its permissions or set RF_DATA_DIR",
            "data_dir_not_writable",
        )
    return Check("data_dir", True, f"{where} (writable)")


def provenance(p: Platform) -> Check:
    from reelforge.services.provenance.marking import credentials_check

    try:
        detail, warning = credentials_check(p)
    except Exception as exc:
        return _failed(
            "provenance",
            exc,
            "signing_failed",
            f"the signing credentials cannot be used ({exc}): fix RF_C2PA_*",
        )
    return Check("provenance", True, detail, warning=warning)


def startup_checks(p: Platform) -> list[Check]:
    """Every check, in order; provenance only where this platform signs outputs."""
    from reelforge.services.provenance.marking import Provenance

    checks = [database(p), queue(p), blobs(p), data_dir(p)]
    if any(isinstance(step, Provenance) for step in p.output_steps):
        checks.append(provenance(p))
    for check in checks:
        if not check.ok:
            log.error("start-up check %s failed: [%s] %s", check.name, check.code, check.detail)
        elif check.warning:
            log.warning("start-up check %s: %s", check.name, check.warning)
    return checks


# store → when its probe last passed (weak: a store that is gone is forgotten, never mistaken
# for a new one at the same address)
_passed: weakref.WeakKeyDictionary[object, float] = weakref.WeakKeyDictionary()
_passed_lock = threading.Lock()


def health(p: Platform) -> dict[str, str]:
    """For /healthz: the blob store and the data directory, "ok" or "error: code: message".
    A passing blob probe is reused for HEALTH_TTL seconds (load balancers poll often); a
    failing one is retried on every call, so recovery shows at once."""
    out: dict[str, str] = {}
    with _passed_lock:
        last = _passed.get(p.blobs)
        fresh = last is not None and time.monotonic() - last < HEALTH_TTL
    if fresh:
        out["blobs"] = "ok"
    else:
        check = blobs(p)
        out["blobs"] = "ok" if check.ok else f"error: {check.code}: {check.detail}"
        if check.ok:
            with _passed_lock:
                _passed[p.blobs] = time.monotonic()
    check = data_dir(p)
    out["data_dir"] = "ok" if check.ok else f"error: {check.code}: {check.detail}"
    return out
