"""Structured log lines: `job.submit job=vid_... account=acc_... status=queued`, one per job
state change, as text (key=value) or, with RF_LOG_FORMAT=json, one JSON object per line.

`event(log, "job.cancel", job=..., status=...)` writes such a line; the JSON formatter also
reads key=value pairs out of plain lines that start with a dotted event name (the worker's
`job.start ...` lines), so every state change is a JSON object with the same keys.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z0-9_:.@/+-]+$")
_EVENT = re.compile(r"^([a-z_]+\.[a-z_.]+)( |$)")
_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def _value(value: Any) -> str:
    """A value safe on one line: quoted (JSON string escapes) when it has anything but plain
    characters, so a hostile string cannot forge fields or lines."""
    text = value if isinstance(value, str) else str(value)
    return text if text and _PLAIN.match(text) else json.dumps(text)


def line(name: str, **fields: Any) -> str:
    """`name k=v k=v` (fields that are None are left out)."""
    return " ".join([name, *(f"{k}={_value(v)}" for k, v in fields.items() if v is not None)])


def event(log: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """One structured line; the JSON formatter gets the fields as they are."""
    if log.isEnabledFor(level):
        kept = {k: v for k, v in fields.items() if v is not None}
        log.log(level, "%s", line(name, **kept), extra={"rf_event": name, "rf_fields": kept})


def _fields_of(message: str) -> tuple[str | None, dict[str, Any]]:
    match = _EVENT.match(message)
    if match is None:
        return None, {}
    fields: dict[str, Any] = {}
    for key, raw in _PAIR.findall(message[match.end() :]):
        value: Any = raw
        if raw.startswith('"'):
            with contextlib.suppress(ValueError):
                value = json.loads(raw)
        elif re.fullmatch(r"-?\d+", raw):
            value = int(raw)
        elif re.fullmatch(r"-?\d+\.\d+", raw):
            value = float(raw)
        fields[key] = value
    return match.group(1), fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, event and its fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        name = getattr(record, "rf_event", None)
        fields = getattr(record, "rf_fields", None)
        if name is None:
            name, fields = _fields_of(message)
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": message,
        }
        if name is not None:
            body["event"] = name
            for key, value in (fields or {}).items():
                body.setdefault(key, value if isinstance(value, int | float | bool) else str(value))
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
_SHORTEST_SECRET = 4  # a shorter value would mask ordinary words; settings refuse none


class MaskingFormatter(logging.Formatter):
    """Any secret's value in a formatted line (message, arguments, traceback; as written or
    JSON-escaped) becomes `***`: a Stripe key or webhook secret that reaches a log line
    through an exception or a third party's message is never written out."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        found = {s for s in secrets if len(s) >= _SHORTEST_SECRET}
        found |= {json.dumps(s, ensure_ascii=False)[1:-1] for s in found}
        self.secrets = sorted(found, key=len, reverse=True)  # a longer one first

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def handler(fmt: str = "text", secrets: Iterable[str] = ()) -> logging.Handler:
    """A stderr handler writing text (the default) or JSON lines, secrets masked."""
    out = logging.StreamHandler(sys.stderr)
    inner = JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    out.setFormatter(MaskingFormatter(inner, secrets))
    return out


def configure(level: str, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """The process's log handler on stderr: text (the default) or JSON lines, with the
    values of `secrets` (the settings' SecretStr values) masked on every line."""
    # as basicConfig: a root logger that already has handlers (a test's) is left alone
    logging.basicConfig(level=level.upper(), handlers=[handler(fmt, secrets)])
