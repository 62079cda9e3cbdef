"""The language of a prompt, offline: which languages it is written in, so moderation knows
whether a stage that can judge it is configured.

Identification is py3langid 0.4 (a fork of langid.py, BSD-3): a naive Bayes model over byte
n-grams that ships inside the wheel as an LZMA-compressed npz, read with NumPy (no pickle, no
network), ~0.2 ms a prompt here. Its probabilities are normalised (``norm_probs``) and it is
restricted to ``CANDIDATES`` (the widely written languages; the model's rarer labels, such as
Nigerian Pidgin or Shona, otherwise claim short English prompts).

Short and mixed text. A language is *asserted* only where the text says so clearly:

* the letters of each non-Latin script (Han, kana, Hangul, Cyrillic, Greek, Arabic, Hebrew,
  Devanagari, Thai, ...) — one character of a syllabic script, ``MIN_SCRIPT_CHARS`` of an
  alphabet — make a language of the prompt whatever its length: the script's main language
  (Han with kana is Japanese, Han alone Chinese, Cyrillic Russian, Devanagari Hindi) unless
  the identifier is ``CONFIDENT`` of another of that script's languages;
* the Latin-script rest counts when it has at least ``MIN_WORDS`` words and the identifier
  gives its language at least ``LIKELY`` and English under ``ENGLISH_DOUBT`` (English itself:
  at least ``LIKELY``), as a whole or clause by clause (a Spanish clause inside an English
  prompt is found). Close relatives share the probability (Spanish/Galician, Indonesian/
  Malay), hence ``LIKELY`` below ``CONFIDENT``; the English guard keeps English prompts that
  read a little like Tagalog ("Making napalm at home": tl 0.87, en 0.07) from being
  misjudged;
* anything shorter or less certain (``"pikachu surfing"``, ``"bees"``, a list of tags) asserts
  nothing: its ``languages`` is empty, and an empty reading is covered by any stage. Short
  Latin-script prompts are mostly tags and names that read alike in many languages; the term
  lists, which carry entries in several languages, still check them.

``covered(reading, languages)`` says whether every asserted language is among those a
configured stage declares (``TextModerator.stage_languages``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Any

CONFIDENT = 0.9  # a script's other language (Ukrainian in Cyrillic) needs this probability
LIKELY = 0.6  # a Latin-script language is asserted from this probability ...
ENGLISH_DOUBT = 0.02  # ... when English is less likely than this (else nothing is asserted)
MIN_WORDS = 3  # Latin-script words a text or clause needs before its language is asserted
MIN_SCRIPT_CHARS = 2  # letters of a non-Latin alphabet that make that script's language count
_SYLLABIC = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL"})  # one character is a word
CANDIDATES = tuple(
    [
        "af",
        "am",
        "ar",
        "az",
        "be",
        "bg",
        "bn",
        "bs",
        "ca",
        "cs",
        "cy",
        "da",
        "de",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "fi",
        "fr",
        "ga",
        "gl",
        "gu",
        "he",
        "hi",
        "hr",
        "hu",
        "hy",
        "id",
        "is",
        "it",
        "ja",
        "ka",
        "kk",
        "km",
        "kn",
        "ko",
        "ky",
        "la",
        "lo",
        "lt",
        "lv",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "my",
        "ne",
        "nl",
        "no",
        "pa",
        "pl",
        "ps",
        "pt",
        "ro",
        "ru",
        "si",
        "sk",
        "sl",
        "so",
        "sq",
        "sr",
        "sv",
        "sw",
        "ta",
        "te",
        "th",
        "tl",
        "tr",
        "uk",
        "ur",
        "uz",
        "vi",
        "zh",
    ]
)

# script of a letter, from its Unicode name's first word; the languages each script means
_SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "CJK": ("zh", "ja"),
    "HIRAGANA": ("ja",),
    "KATAKANA": ("ja",),
    "HANGUL": ("ko",),
    "CYRILLIC": ("ru", "uk", "bg", "be", "sr", "mk", "kk", "ky", "mn"),
    "GREEK": ("el",),
    "ARABIC": ("ar", "fa", "ur", "ps"),
    "HEBREW": ("he",),
    "DEVANAGARI": ("hi", "mr", "ne"),
    "BENGALI": ("bn",),
    "GURMUKHI": ("pa",),
    "GUJARATI": ("gu",),
    "TAMIL": ("ta",),
    "TELUGU": ("te",),
    "KANNADA": ("kn",),
    "MALAYALAM": ("ml",),
    "SINHALA": ("si",),
    "THAI": ("th",),
    "LAO": ("lo",),
    "KHMER": ("km",),
    "MYANMAR": ("my",),
    "GEORGIAN": ("ka",),
    "ARMENIAN": ("hy",),
    "ETHIOPIC": ("am",),
}
_CLAUSE = re.compile(r"[,.;:!?\n\r\t()\[\]{}\"\u201c\u201d\u00ab\u00bb\u2013\u2014|/]+")
_WORD = re.compile(r"[^\W\d_]{2,}")


def _script(ch: str) -> str | None:
    """The script of a letter ("LATIN", "CJK", ...), None for anything else."""
    if not ch.isalpha():
        return None
    if ch.isascii():
        return "LATIN"
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0]
    if first in ("CJK", "IDEOGRAPHIC"):
        return "CJK"
    if first in ("HALFWIDTH", "FULLWIDTH"):  # (after NFKC, only a few): the next word
        parts = name.split(" ")
        return parts[1] if len(parts) > 1 else None
    return first


@dataclass(frozen=True)
class LanguageReading:
    """What was found: the main language (most letters; None when nothing was asserted),
    every asserted language, and the identifier's confidence in the main one."""

    language: str | None
    languages: tuple[str, ...] = ()
    confidence: float = 0.0
    scripts: dict[str, int] = field(default_factory=dict)  # letters per script

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "languages": list(self.languages),
            "confidence": round(self.confidence, 4),
        }


def covered(reading: LanguageReading, languages: set[str] | frozenset[str]) -> bool:
    """Whether every asserted language of ``reading`` is one a stage covers (nothing
    asserted: covered)."""
    return all(lang in languages for lang in reading.languages)


class LanguageIdentifier:
    """py3langid's model, loaded on first use (~0.3 s), shared, thread-safe for reading."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None

    @staticmethod
    def available() -> bool:
        import importlib.util

        return importlib.util.find_spec("py3langid") is not None

    def _get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from py3langid.langid import MODEL_FILE
                    from py3langid.langid import LanguageIdentifier as Model

                    model = Model.from_model_file(MODEL_FILE, norm_probs=True)
                    model.set_languages(CANDIDATES)
                    self._model = model
        return self._model

    def warm(self) -> None:
        """Load the model now (~0.3-1 s: its LZMA-compressed arrays are unpacked)."""
        self._get()

    def rank(self, text: str, among: tuple[str, ...] | None = None) -> list[tuple[str, float]]:
        """Languages by probability, best first, optionally only ``among`` (renormalised)."""
        ranked: list[tuple[str, float]] = self._get().rank(text)
        if among is None:
            return ranked
        kept = [(lang, p) for lang, p in ranked if lang in among]
        total = sum(p for _, p in kept) or 1.0
        return [(lang, p / total) for lang, p in kept]

    def identify(self, text: str) -> LanguageReading:
        """The languages of ``text`` (see the module docstring)."""
        text = unicodedata.normalize("NFKC", text)
        counts: dict[str, int] = {}
        runs: dict[str, list[str]] = {}
        latin: list[str] = []
        for ch in text:
            script = _script(ch)
            if script is None:
                latin.append(" " if ch.isspace() else ch)
                continue
            counts[script] = counts.get(script, 0) + 1
            if script == "LATIN":
                latin.append(ch)
            else:
                runs.setdefault(script, []).append(ch)
                latin.append(" ")
        found: dict[str, float] = {}  # language -> letters
        best_conf: dict[str, float] = {}
        has_kana = "HIRAGANA" in counts or "KATAKANA" in counts
        for script, letters in runs.items():
            if len(letters) < (1 if script in _SYLLABIC else MIN_SCRIPT_CHARS):
                continue
            options = _SCRIPT_LANGUAGES.get(script)
            if options is None:
                continue
            if script == "CJK":
                options = ("ja",) if has_kana else ("zh",)
            if script in ("HIRAGANA", "KATAKANA", "CJK") and has_kana:
                lang, conf = "ja", 1.0
            elif len(options) == 1:
                lang, conf = options[0], 1.0
            else:  # the script's main language unless another is clearly more likely
                lang, conf = self.rank("".join(letters), options)[0]
                if conf < CONFIDENT:
                    lang = options[0]
            found[lang] = found.get(lang, 0) + len(letters)
            best_conf[lang] = max(best_conf.get(lang, 0.0), conf)
        rest = "".join(latin)
        clauses = [c for c in _CLAUSE.split(rest) if c.strip()]
        pieces = [rest, *clauses] if len(clauses) > 1 else clauses
        for piece in pieces:
            words = _WORD.findall(piece)
            if len(words) < MIN_WORDS:
                continue
            ranked = self.rank(" ".join(words))
            lang, conf = ranked[0]
            english = next((p for code, p in ranked if code == "en"), 0.0)
            if conf >= LIKELY and (lang == "en" or english < ENGLISH_DOUBT):
                found[lang] = found.get(lang, 0) + sum(len(w) for w in words)
                best_conf[lang] = max(best_conf.get(lang, 0.0), conf)
        if not found:
            return LanguageReading(None, (), 0.0, counts)
        ordered = sorted(found, key=lambda k: -found[k])
        return LanguageReading(ordered[0], tuple(ordered), best_conf[ordered[0]], counts)


_identifier = LanguageIdentifier()


def identify(text: str) -> LanguageReading:
    """The languages of ``text`` with the process's shared identifier."""
    return _identifier.identify(text)


def warm() -> None:
    """Load the shared identifier's model ahead of the first prompt."""
    _identifier.warm()
