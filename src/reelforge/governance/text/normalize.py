"""Text normalisation for prompt moderation: undo the usual evasion tricks before matching.

``normalize(text)`` gives one canonical string: Unicode NFKC, casefold, accents and zero-width /
format characters stripped, control characters removed (tabs and newlines become spaces),
Cyrillic/Greek/small-capital look-alikes folded to Latin, apostrophes dropped ("mcdonald's" ->
"mcdonalds"), spaced-out letters joined ("k i l l", "k.i.l.l", "k-i-l-l" -> "kill") and
the emoji dealers use for drugs written as words (pill, snowflake, plug, mushroom) and the
sexual ones as marker words, and
leetspeak undone inside words ("p0rn", "k1ll", "$ex", "n4ked"), but only in tokens that carry at
least two letters, do not start with two digits and are not a number with a unit, so "4k", "1080p",
"60fps", "3d", "35mm" or "1st" stay as they are.

``variants(text)`` gives every form the term matcher checks (see ``Variants``): the canonical
form, the form without leetspeak undone, one reading "1" as "l" ("ki11"), a "squashed" form
where punctuation inside a word is removed ("spider-man" -> "spiderman", "n_a_k_e_d" ->
"naked") and "squeezed" forms where runs of three or more identical letters are cut to one and
to two ("kiiiill" -> "kill", "sexxxx" -> "sex"). Everything is str.translate / compiled
regexes, well under 1 ms for a 2,500-char prompt.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Look-alike letters -> Latin, written as escapes (the literal characters are confusable on
# purpose, which is what linters warn about).
_HOMOGLYPHS = {
    # Cyrillic (lower case; casefold runs first)
    "\u0430": "a",
    "\u0431": "b",
    "\u0432": "b",
    "\u0433": "r",
    "\u0434": "d",
    "\u0435": "e",
    "\u0451": "e",
    "\u0436": "x",
    "\u0437": "3",
    "\u0438": "u",
    "\u0439": "u",
    "\u043a": "k",
    "\u043b": "n",
    "\u043c": "m",
    "\u043d": "h",
    "\u043e": "o",
    "\u043f": "n",
    "\u0440": "p",
    "\u0441": "c",
    "\u0442": "t",
    "\u0443": "y",
    "\u0444": "f",
    "\u0445": "x",
    "\u0446": "u",
    "\u0447": "4",
    "\u0448": "w",
    "\u0449": "w",
    "\u044a": "b",
    "\u044b": "bi",
    "\u044c": "b",
    "\u044d": "e",
    "\u044e": "io",
    "\u044f": "r",
    "\u0455": "s",
    "\u0456": "i",
    "\u0457": "i",
    "\u0458": "j",
    "\u0501": "d",
    "\u04bb": "h",
    "\u051b": "q",
    "\u051d": "w",
    "\u04cf": "l",
    "\u04af": "y",
    "\u04ab": "c",
    "\u04c4": "k",
    "\u0261": "g",
    # Greek
    "\u03b1": "a",
    "\u03b2": "b",
    "\u03b3": "y",
    "\u03b4": "d",
    "\u03b5": "e",
    "\u03b6": "z",
    "\u03b7": "n",
    "\u03b8": "o",
    "\u03b9": "i",
    "\u03ba": "k",
    "\u03bb": "l",
    "\u03bc": "u",
    "\u03bd": "v",
    "\u03be": "e",
    "\u03bf": "o",
    "\u03c0": "n",
    "\u03c1": "p",
    "\u03c3": "o",
    "\u03c2": "c",
    "\u03c4": "t",
    "\u03c5": "u",
    "\u03c6": "f",
    "\u03c7": "x",
    "\u03c8": "w",
    "\u03c9": "w",
    "\u03f2": "c",
    "\u03f3": "j",
    # small capitals, IPA and other Latin look-alikes
    "\u1d00": "a",
    "\u0299": "b",
    "\u1d04": "c",
    "\u1d05": "d",
    "\u1d07": "e",
    "\ua730": "f",
    "\u0262": "g",
    "\u029c": "h",
    "\u026a": "i",
    "\u1d0a": "j",
    "\u1d0b": "k",
    "\u029f": "l",
    "\u1d0d": "m",
    "\u0274": "n",
    "\u1d0f": "o",
    "\u1d18": "p",
    "\u0280": "r",
    "\ua731": "s",
    "\u1d1b": "t",
    "\u1d1c": "u",
    "\u1d20": "v",
    "\u1d21": "w",
    "\u028f": "y",
    "\u1d22": "z",
    "\u0251": "a",
    "\u0131": "i",
    "\u0237": "j",
    "\u0142": "l",
    "\u00f8": "o",
    "\u0111": "d",
    "\u0127": "h",
    "\u00e6": "ae",
    "\u0153": "oe",
    "\u0192": "f",
    "\u028b": "u",
    "\u0269": "i",
    "\u0250": "a",
    "\u01dd": "e",
    "\u0254": "c",
    "\u026f": "m",
    "\u0287": "t",
    "\u028e": "y",
    "\u0279": "r",
    # apostrophes vanish so possessives and contractions become one token
    "'": "",
    "\u2019": "",
    "\u02bc": "",
    "`": "",
    "\u00b4": "",
    "\u2018": "",
}

_LEET_DIGITS = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
)
_LEET_DIGITS_L = str.maketrans(
    {"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
)  # "ki11", "ske1eton": 1 as l
_LEET_SYMBOLS = {"@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"}

_UNIT = r"[a-z0-9@$]"
_SEP = r"[\s.\-_*·•|/\\,+~:;=^\"!?]"
_SPACED_RUN = re.compile(rf"(?<![a-z0-9@$])(?:{_UNIT}{_SEP}{{1,3}}){{2,}}{_UNIT}(?![a-z0-9@$])")
_SEP_RE = re.compile(_SEP)
_LEET_SYMBOL_RE = re.compile(
    r"(?<=[a-z0-9])[@$!|+€](?=[a-z0-9])|(?<![a-z0-9])[@$](?=[a-z])|(?<=[a-z0-9]{3})@(?![a-z0-9])"
)  # inside a word, at its start ("$ex"), or an "@" ending one ("n1gg@"; not "@handle")
_LEET_TOKEN_RE = re.compile(r"[a-z0-9]*[0-9][a-z0-9]*")
_UNIT_TOKEN = re.compile(
    r"\d+(?:st|nd|rd|th|s|fps|mm|cm|km|kg|lbs?|ml|gb|tb|mb|mph|kph|hz|khz|"
    r"yo|am|pm|min|mins|sec|secs|hr|hrs|ft|in|px|bit|bpm|mp)"
)
_INWORD_PUNCT = re.compile(r"(?<=[a-z0-9])[.\-_*·•|/\\~+=^:]+(?=[a-z0-9])")
_RUN3 = re.compile(r"([a-z])\1{2,}")
_TOKEN_RE = re.compile(r"[a-z0-9]+")
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


@lru_cache(maxsize=1)
def _table() -> dict[int, str | None]:
    """Translate table: drop combining marks and format characters (zero-width joiners, bidi
    controls, soft hyphens, tag characters), turn control characters into spaces, fold
    homoglyphs. Built once (~50 ms) from the Unicode database."""
    table: dict[int, str | None] = {}
    for cp in range(0x20000):
        cat = unicodedata.category(chr(cp))
        if cat in ("Mn", "Me", "Cf"):
            table[cp] = None
        elif cat == "Cc":  # tab/newline are spaces; other controls vanish ("k\x00ill")
            table[cp] = " " if chr(cp) in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85" else None
        elif cat in ("Zl", "Zp"):
            table[cp] = " "
    for cp in range(0xE0000, 0xE0080):  # tag characters
        table[cp] = None
    for cp in range(0xFE00, 0xFE10):  # variation selectors
        table[cp] = None
    for src, dst in _HOMOGLYPHS.items():
        table[ord(src)] = dst
    for cp, word in _EMOJI_WORDS.items():
        table[cp] = f" {word} "
    return table


# Emoji that stand for drugs in dealers' ads (with sale words they make a drug_sale hit) or,
# in pairs, for sex acts.
_EMOJI_WORDS = {
    0x1F48A: "pills",
    0x2744: "snow",
    0x1F50C: "plug",
    0x1F344: "shrooms",
    # and the sexual ones, as words no prompt uses otherwise (data/sexual_emoji.txt)
    0x1F346: "emojieggplant",
    0x1F351: "emojipeach",
    0x1F4A6: "emojisplash",
    0x1F445: "emojitongue",
}


def _join_spaced(match: re.Match[str]) -> str:
    run = match.group(0)
    # "a k i l l" / "i s e x": keep a leading English one-letter word apart from the run
    if run[0] in "ai" and run[1].isspace() and len(_SEP_RE.sub("", run)) >= 4:
        return run[0] + " " + _SEP_RE.sub("", run[1:])
    return _SEP_RE.sub("", run)


def _leet_token(match: re.Match[str], table: dict[int, str] = _LEET_DIGITS) -> str:
    token = match.group(0)
    letters = sum(c.isalpha() for c in token)
    if letters < 2 or token[:2].isdigit() or _UNIT_TOKEN.fullmatch(token):
        return token
    return token.translate(table)


def _leet_token_l(match: re.Match[str]) -> str:
    return _leet_token(match, _LEET_DIGITS_L)


def _base(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFKD", text).translate(_table())
    text = unicodedata.normalize("NFC", text)
    text = " ".join(text.split())
    return _SPACED_RUN.sub(_join_spaced, text)


def _deleet(text: str, one_as_l: bool = False) -> str:
    text = _LEET_SYMBOL_RE.sub(lambda m: _LEET_SYMBOLS[m.group(0)], text)
    return _LEET_TOKEN_RE.sub(_leet_token_l if one_as_l else _leet_token, text)


def normalize(text: str) -> str:
    """The canonical matching form of ``text`` (see the module docstring)."""
    return _deleet(_base(text))


@dataclass(frozen=True)
class Variants:
    """All forms of one text that term matching checks; ``forms`` has no duplicates and starts
    with ``canonical`` (leetspeak undone)."""

    canonical: str
    forms: tuple[str, ...]
    has_cjk: bool


_STARRED = re.compile(r"(?<=[a-z])\*+(?=[a-z])")


def variants(text: str) -> Variants:
    """Canonical, no-leet, starred-vowel, squashed and squeezed forms of ``text``,
    deduplicated."""
    base = _base(text)
    canonical = _deleet(base)
    forms = [canonical, base]
    if "1" in base:
        forms.append(_deleet(base, one_as_l=True))
    if "*" in canonical:  # a starred-out vowel: "p*rn", "n*de", "r*pe"
        forms.extend(_STARRED.sub(vowel, canonical) for vowel in "aeiou")
    squashed = _INWORD_PUNCT.sub("", canonical)
    forms.append(squashed)
    if _RUN3.search(squashed):
        forms.append(_RUN3.sub(r"\1", squashed))
        forms.append(_RUN3.sub(r"\1\1", squashed))
    unique = tuple(dict.fromkeys(forms))
    return Variants(canonical, unique, bool(_CJK_RE.search(canonical)))


def tokens(form: str) -> list[str]:
    """Latin-script word tokens of a normalised form."""
    return _TOKEN_RE.findall(form)


def normalize_term(term: str) -> str:
    """Normalise a list entry the way prompts are normalised (no leetspeak: entries such as
    "ak-47" keep their digits)."""
    return _base(term)


if __name__ == "__main__":  # pragma: no cover - manual check
    for line in sys.argv[1:]:
        print(variants(line))
