"""Prompt moderation: normalisation + term lists + combination patterns + semantic scores.

``TextModerator().signals(text, source)`` returns one ``Signal`` per (category, rule) that
fired, strongest first. Rules: ``terms:<list>`` (score of the entry: 1.0 for a definite term,
lower for weak ones such as a plain "gun"), ``pattern:<name>`` (combinations in
``data/patterns.txt``) and ``semantic:<category>`` (embedding similarity, emitted from
``SEMANTIC_FLOOR``). The policy applies its thresholds; 0.5 is the ``default`` profile's, and the
scores are calibrated so that 0.5 separates harmful from benign on ``bench/policy_eval``.

A negative prompt lists what the user wants to avoid, so its terms are not findings; what
counts there is a request to avoid clothing (a way to ask for nudity) and slurs.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from reelforge.governance.language import LanguageReading, identify
from reelforge.governance.language import warm as warm_language
from reelforge.governance.signals import Category, Signal
from reelforge.governance.text.multilingual import MultilingualStage
from reelforge.governance.text.names import misspelled_names, name_signals
from reelforge.governance.text.normalize import tokens, variants
from reelforge.governance.text.semantic import SemanticClassifier
from reelforge.governance.text.terms import Hit, Index, Pattern, filter_hits, find_hits, load_index

log = logging.getLogger(__name__)

RULES_LANGUAGES = frozenset({"en"})
SEMANTIC_LANGUAGES = frozenset({"en"})  # all-MiniLM-L6-v2 was trained on English text
SEMANTIC_FLOOR = 0.15  # below the lowest review threshold of the built-in profiles (0.2)
CHUNK = 10_000
OVERLAP = 200
_NEGATIVE_CLOTHING = frozenset(
    {
        "clothes",
        "clothing",
        "clothed",
        "dressed",
        "underwear",
        "bra",
        "bikini",
        "swimsuit",
        "censored",
        "censorship",
        "censor",
        "mosaic",
        "covered",
        "modest",
        "panties",
    }
)


class TextModerator:
    """Runs the text checks; cheap to construct, model loaded lazily (or with ``warm()``)."""

    def __init__(
        self, semantic: bool = True, multilingual: MultilingualStage | None = None
    ) -> None:
        self._index: Index = load_index()
        self._semantic = SemanticClassifier() if semantic else None
        self.multilingual = multilingual  # an operator's multilingual embedding stage
        # Scores of recent texts (deterministic for one model): retries and repeated
        # prompts skip the embedding.
        self._cached_scores = lru_cache(maxsize=4096)(self._scores)

    def _scores(self, text: str) -> dict[Category, float]:
        assert self._semantic is not None
        return self._semantic.scores(text)

    def stage_languages(self) -> dict[str, frozenset[str]]:
        """The languages each of this moderator's stages can judge: the term lists and
        patterns were written and measured in English (their entries in other languages are a
        fast first pass, not coverage), and so was the MiniLM model."""
        stages = {"rules": RULES_LANGUAGES}
        if self.semantic_available:
            stages["minilm"] = SEMANTIC_LANGUAGES
        if self.multilingual is not None:
            stages["multilingual"] = self.multilingual.languages
        return stages

    def language(self, text: str) -> LanguageReading:
        """The languages ``text`` is written in (governance/language.py)."""
        return identify(text)

    @property
    def semantic_available(self) -> bool:
        """Whether semantic scores are part of the signals."""
        return self._semantic is not None and self._semantic.available()

    @property
    def semantic_loaded(self) -> bool:
        """Whether the semantic model is loaded (it loads with the first non-empty prompt)."""
        return self._semantic is not None and self._semantic.loaded

    def warm(self) -> None:
        """Load term lists, the model and the exemplar embeddings ahead of the first request."""
        self.signals("warm up")
        warm_language()
        if self._semantic is not None and self._semantic.available():
            self._semantic.warm()

    def signals(self, text: str, source: str = "prompt") -> list[Signal]:
        """Every finding in ``text``; ``source`` is copied into the signals."""
        if not text or not text.strip():
            return []
        if source == "negative_prompt":
            return self._negative(text, source)
        found: dict[tuple[Category, str], Signal] = {}
        for start in range(0, len(text), CHUNK):
            chunk = text[max(0, start - OVERLAP) : start + CHUNK]
            for sig in self._rule_signals(chunk, source):
                _keep(found, sig)
        for cat, score in self._semantic_scores(text).items():
            if score >= SEMANTIC_FLOOR:
                _keep(found, Signal(cat, score, f"semantic:{cat}", source))
        for sig in self._multilingual_signals(text, source):
            _keep(found, sig)
        return sorted(found.values(), key=lambda s: (-s.score, s.category, s.rule))

    def _semantic_scores(self, text: str) -> dict[Category, float]:
        if self._semantic is None or not self._semantic.usable():
            return {}
        try:  # the embedding is the costly part (~7 ms); the same prompt often comes back
            return dict(self._cached_scores(text))
        except Exception:  # a broken model install must not take the rules down with it
            log.exception("semantic classifier failed; using term rules only")
            self._semantic = None
            return {}

    def _multilingual_signals(self, text: str, source: str) -> list[Signal]:
        stage = self.multilingual
        if stage is None:
            return []
        try:
            return stage.signals(text, source)
        except Exception:  # a broken operator model must not take the other stages down
            log.exception("multilingual stage failed; continuing without it")
            self.multilingual = None
            return []

    def _negative(self, text: str, source: str) -> list[Signal]:
        """A negative prompt names what to keep out, so its terms are no request — except
        asking clothing away, and slurs, which count wherever they are written."""
        found = [s for s in self._rule_signals(text, source) if s.category is Category.HATE]
        words = set(tokens(variants(text).canonical))
        hit = sorted(words & _NEGATIVE_CLOTHING)
        if hit:
            found.append(
                Signal(Category.SEXUAL, 0.7, "pattern:negative_prompt_clothing", source, hit[0])
            )
        return found

    def _rule_signals(self, text: str, source: str) -> list[Signal]:
        v = variants(text)
        form_tokens = [tokens(f) for f in v.forms]
        raw = find_hits(self._index, v.forms, form_tokens, v.canonical, v.has_cjk)
        kept = filter_hits(raw, form_tokens, v.canonical)
        out: dict[tuple[Category, str], Signal] = {}
        for h in kept:
            tl = self._index.lists[h.entry.list_name]
            if tl.category is not None:
                _keep(
                    out,
                    Signal(tl.category, h.entry.score, f"terms:{tl.name}", source, h.entry.term),
                )
            for cat, score in tl.also:
                _keep(
                    out,
                    Signal(
                        cat, min(score, h.entry.score), f"terms:{tl.name}", source, h.entry.term
                    ),
                )
        for pattern, detail in _run_patterns(self._index, raw, kept, v.forms, form_tokens, out):
            if pattern.category is not None:
                _keep(
                    out,
                    Signal(
                        pattern.category, pattern.score, f"pattern:{pattern.name}", source, detail
                    ),
                )
        for sig in [
            *name_signals(text, source),
            *misspelled_names(self._index, form_tokens[0], source),
        ]:
            _keep(out, sig)
        return list(out.values())


def _keep(found: dict[tuple[Category, str], Signal], sig: Signal) -> None:
    key = (sig.category, sig.rule)
    if key not in found or found[key].score < sig.score:
        found[key] = sig


def _present(alternatives: Iterable[str], lists: set[str], cats: set[str], fired: set[str]) -> bool:
    for op in alternatives:
        if op.startswith("cat:"):
            if op[4:] in cats:
                return True
        elif op.startswith("pat:"):
            if op[4:] in fired:
                return True
        elif op in lists:
            return True
    return False


def _hits_for(alternatives: Iterable[str], by_list: dict[str, list[Hit]]) -> list[Hit]:
    return [h for op in alternatives for h in by_list.get(op, ()) if h.start >= 0]


def _gap(a: Hit, b: Hit) -> int | None:
    """Tokens between two disjoint spans of the same form; None if they overlap."""
    if a.form != b.form or (a.start < b.end and b.start < a.end):
        return None
    return b.start - a.end if b.start >= a.end else a.start - b.end


def _near(p: Pattern, by_list: dict[str, list[Hit]]) -> str | None:
    first, second = (_hits_for(op, by_list) for op in p.operands[:2])
    for a in first:
        for b in second:
            gap = _gap(a, b)
            if gap is not None and gap <= p.window:
                return f"{a.entry.term} ~ {b.entry.term}"
    return None


def _seq(p: Pattern, by_list: dict[str, list[Hit]]) -> str | None:
    chains: list[list[Hit]] = [[h] for h in _hits_for(p.operands[0], by_list)]
    for op in p.operands[1:]:
        nxt = _hits_for(op, by_list)
        chains = [
            [*c, h]
            for c in chains
            for h in nxt
            if h.form == c[-1].form and 0 <= h.start - c[-1].end <= p.window
        ]
        if not chains:
            return None
    return " > ".join(h.entry.term for h in chains[0]) if chains else None


def _unless(p: Pattern, hay: str, lists: set[str], cats: set[str]) -> bool:
    for item in p.unless:
        if item.startswith("@"):
            if item[1:] in lists:
                return True
        elif item.startswith("cat:"):
            if item[4:] in cats:
                return True
        elif f" {item} " in hay:
            return True
    return False


def _run_patterns(
    index: Index,
    raw: list[Hit],
    kept: list[Hit],
    forms: tuple[str, ...],
    form_tokens: list[list[str]],
    found: dict[tuple[Category, str], Signal],
) -> list[tuple[Pattern, str]]:
    by_list: dict[str, list[Hit]] = defaultdict(list)
    for h in kept:
        by_list[h.entry.list_name].append(h)
    lists = set(by_list)
    raw_lists = {h.entry.list_name for h in raw}
    cats = {str(c) for c, _ in found}
    fired: set[str] = set()
    hays = [" " + " ".join(t) + " " for t in form_tokens]
    results: list[tuple[Pattern, str]] = []
    for p in index.patterns:
        detail: str | None = None
        if p.kind == "re":
            if p.regex is None or not all(
                _present(op, raw_lists, cats, fired) for op in p.operands
            ):
                continue
            for form in forms:
                m = p.regex.search(form)
                if m:
                    detail = m.group(0)
                    break
        elif p.kind == "all":
            if all(_present(op, lists, cats, fired) for op in p.operands):
                detail = "+".join(sorted(lists & {o for op in p.operands for o in op}))
        elif p.kind == "near":
            detail = _near(p, by_list)
        elif p.kind == "seq":
            detail = _seq(p, by_list)
        if detail is None or any(_unless(p, hay, lists, cats) for hay in hays[:1]):
            continue
        fired.add(p.name)
        if p.category is not None:
            cats.add(str(p.category))
        results.append((p, detail))
    return results
