"""Checks of outside strings that reach the database or a URL: lengths and control
characters (PostgreSQL text refuses NUL; a control character in an id or URL is never
legitimate), and the edge rule every entry point applies to the strings a request carries
(`bad_character`, `check_string`, `check_filename`: the API's app-wide check in
api/validation.py and the studio's and console's form fields)."""

from __future__ import annotations

import re
import unicodedata

from reelforge.errors import InvalidCharacters, InvalidRequest

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def has_control(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def check_text(value: str, field: str, max_chars: int) -> str:
    """`value` if it is 1..max_chars long with no control characters; else InvalidRequest."""
    if not value or len(value) > max_chars:
        raise InvalidRequest(f"{field} must be 1 to {max_chars} characters", field=field)
    if has_control(value):
        raise InvalidRequest(f"{field} must not contain control characters", field=field)
    return value


def bad_character(value: str, *, free_text: bool = False) -> str | None:
    """What is wrong with `value` under the edge rule (a short phrase), or None:

    - a control character (C0, DEL, C1) — free text (prose a person wrote, a file's text)
      keeps tab, newline and carriage return;
    - a lone surrogate (`"\\ud800"` in JSON): it cannot be encoded, stored or sent;
    - outside free text, an invisible format character (bidi overrides such as U+202E,
      zero-width characters, BOM): they make an id or a file name read differently."""
    match = (_CONTROL_IN_TEXT if free_text else _CONTROL).search(value)
    if match is not None:
        c = match.group()
        if 0xD800 <= ord(c) <= 0xDFFF:
            return "a lone surrogate (unpaired UTF-16 half)"
        return "NUL" if c == "\x00" else f"a control character (U+{ord(c):04X})"
    if not free_text and _NON_ASCII.search(value):
        for c in value:
            if ord(c) > 0x7F and unicodedata.category(c) == "Cf":
                return f"an invisible format character (U+{ord(c):04X})"
    return None


def check_string(value: str, field: str, *, free_text: bool = False) -> str:
    """`value` if the edge rule allows it; else InvalidCharacters (422 `invalid_characters`)
    naming `field`."""
    problem = bad_character(value, free_text=free_text)
    if problem is not None:
        raise InvalidCharacters(f"{field} must not contain {problem}", field=field)
    return value


def check_filename(name: str, field: str) -> str:
    """An uploaded file's name: the edge rule, and a plain name — no directory part, not `.`
    or `..` (`invalid_filename`)."""
    check_string(name, field)
    if "/" in name or "\\" in name or name.strip() in (".", ".."):
        raise InvalidRequest(
            f"the file name of `{field}` must be a plain name, without a "
            f"directory (got {name[:80]!r})",
            code="invalid_filename",
            field=field,
        )
    return name
