"""Checks of outside strings that reach the database or a URL: lengths and control
characters (PostgreSQL text refuses NUL; a control character in an id or URL is never
legitimate)."""

from __future__ import annotations

from reelforge.errors import InvalidRequest


def has_control(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def check_text(value: str, field: str, max_chars: int) -> str:
    """`value` if it is 1..max_chars long with no control characters; else InvalidRequest."""
    if not value or len(value) > max_chars:
        raise InvalidRequest(f"{field} must be 1 to {max_chars} characters", field=field)
    if has_control(value):
        raise InvalidRequest(f"{field} must not contain control characters", field=field)
    return value
