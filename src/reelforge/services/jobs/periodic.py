"""What every periodic duty (reaper, moderation reaper, webhook dispatcher, retention sweep)
does with an error: an outage of the database or the queue stops the pass (the worker's loop
backs off and logs one line); any other error belongs to the one job or row being handled —
it is logged, that row is dealt with (services.jobs.reaper fails a job it cannot finish), and
the pass goes on, so one bad row never stalls the duty for everyone."""

from __future__ import annotations

import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import exc as sa_exc

from reelforge.errors import ReelforgeError

log = logging.getLogger(__name__)

_OUTAGE_TYPES = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sqlite3.OperationalError,
    ConnectionError,
    TimeoutError,
)
_reported: OrderedDict[str, None] = OrderedDict()  # tracebacks logged once per row per process
_REPORTED_MAX = 1000


def is_outage(exc: BaseException) -> bool:
    """The database or queue unreachable, locked or busy (retry the whole pass later), as
    opposed to an error of one row's data."""
    if isinstance(exc, _OUTAGE_TYPES):
        return True
    if isinstance(exc, ReelforgeError) and exc.http_status == 503:
        return True
    return any(c.__module__.split(".")[0] == "redis" for c in type(exc).__mro__)


def isolated(duty: str, key: str, action: Callable[[], object]) -> Exception | None:
    """Run `action` for one row; an outage propagates, any other error is logged (with its
    traceback the first time for this row) and returned."""
    try:
        action()
    except Exception as exc:
        if is_outage(exc):
            raise
        report(duty, key, exc)
        return exc
    return None


def report(duty: str, key: str, exc: BaseException) -> None:
    first = f"{duty}:{key}" not in _reported
    if first:
        _reported[f"{duty}:{key}"] = None
        while len(_reported) > _REPORTED_MAX:
            _reported.popitem(last=False)
    log.error(
        "%s: %s failed (%s: %s); skipping it and going on",
        duty,
        key,
        type(exc).__name__,
        str(exc).splitlines()[0][:200] if str(exc) else "",
        exc_info=exc if first else None,
    )
