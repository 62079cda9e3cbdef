"""Term lists and combination patterns, loaded from ``governance/data/*.txt``.

A term list file starts with header comments::

    # category: sexual          (a signals.Category value, or "none" for a word class)
    # score: 1.0                (default score of an entry)
    # also: political=0.6       (optional: a second category every hit also reports)

and then holds one entry per line: ``term [| needs: a, b] [| unless: c, d] [| window: N]
[| score: S]``. A trailing ``*`` makes the last word a prefix ("decapitat*"); plurals ("-s",
"-es" after s, x, z, ch, sh or o, "-ies") match by themselves; "spider man" also matches
"spiderman" and "spider-man".
``needs`` keeps a hit only if one of the phrases (or a hit of ``@list``) occurs within
``window`` tokens (default 6); ``unless`` drops it if one occurs within ``window`` tokens (default
3). Every hit is also dropped when negated ("no nudity", "without blood or gore"). Entries in
Chinese/Japanese/Korean script match as substrings of the prompt.

``patterns.txt`` combines lists: ``name | category | score | kind: spec [| unless: a, b]`` with
kinds ``all: a, b`` (each operand present anywhere), ``near N: a, b`` (within N tokens, any
order), ``seq N: a, b, c`` (in this order, each within N tokens of the previous one) and
``re: regex`` (``{list}`` expands to the list's terms; run only when the first list named
(or every operand of ``gate``) had a hit).
An operand is a list name, ``cat:<category>`` (any signal of that category found so far) or
alternatives joined with ``/``. Pattern ``unless`` phrases apply anywhere in the prompt.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from reelforge.governance.signals import Category
from reelforge.governance.text.normalize import normalize_term, tokens

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_NEGATORS = frozenset(
    {
        "no",
        "not",
        "without",
        "zero",
        "avoid",
        "never",
        "non",
        "nor",
        "dont",
        "exclude",
        "excluding",
        "minus",
    }
)
_CONNECTORS = frozenset(
    {
        "or",
        "and",
        "any",
        "explicit",
        "graphic",
        "visible",
        "real",
        "actual",
        "a",
        "the",
        "of",
        "depictions",
        "scenes",
        "content",
        "signs",
        "other",
    }
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
MAX_NGRAM = 5
MIN_JOINED = 7  # shortest one-token spelling of a multi-word entry that counts


@dataclass(frozen=True)
class Entry:
    """One line of a term list."""

    term: str
    list_name: str
    score: float
    needs: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    needs_window: int = 6
    unless_window: int = 3
    stem: bool = False


@dataclass(frozen=True)
class TermList:
    """A category's (or a word class's) entries, as read from its data file."""

    name: str
    category: Category | None
    score: float
    also: tuple[tuple[Category, float], ...]
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Hit:
    """A matched entry: token span ``[start, end)`` in ``form`` (-1 for substring hits)."""

    entry: Entry
    form: int
    start: int
    end: int


class LazyRegex:
    """A pattern's regex, compiled on its first search: the ~90 ``re:`` patterns (alternations
    of whole term lists) took ~1 s to compile in every process, and a prompt only reaches the
    ones whose gate lists it hits. ``compile()`` forces it (the tests check every one does)."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    def compile(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:  # two threads may both compile; either result is the same
            compiled = self._compiled = re.compile(self.source)
        return compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self.compile().search(text)


@dataclass(frozen=True)
class Pattern:
    """A combination rule from patterns.txt."""

    name: str
    category: Category | None  # None: a helper other patterns use as "pat:<name>"
    score: float
    kind: str
    window: int
    operands: tuple[tuple[str, ...], ...]
    regex: LazyRegex | None = None
    unless: tuple[str, ...] = ()


@dataclass
class Index:
    """Lookup structures over all term lists."""

    lists: dict[str, TermList]
    spaced: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))
    joined: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))
    stems: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))
    multi_stems: dict[str, list[tuple[tuple[str, ...], Entry]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    first_tokens: set[str] = field(default_factory=set)
    joined_prefixes: set[str] = field(default_factory=set)
    stem_lengths: set[int] = field(default_factory=set)
    cjk: list[Entry] = field(default_factory=list)
    cjk_re: re.Pattern[str] | None = None
    patterns: list[Pattern] = field(default_factory=list)


def _split_items(value: str) -> tuple[str, ...]:
    items = []
    for raw in value.split(","):
        raw = raw.strip()
        if raw:
            items.append(raw if raw.startswith(("@", "cat:")) else normalize_term(raw))
    return tuple(items)


def parse_list(name: str, text: str) -> TermList:
    """Parse one term-list file (see the module docstring for the format)."""
    category: Category | None = None
    score = 1.0
    also: list[tuple[Category, float]] = []
    entries: list[Entry] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            key, value = key.strip().lower(), value.strip()
            if key == "category":
                category = None if value == "none" else Category(value)
            elif key == "score":
                score = float(value)
            elif key == "also":
                for part in value.split(","):
                    cat, _, sc = part.partition("=")
                    also.append((Category(cat.strip()), float(sc or score)))
            continue
        if not line:
            continue
        term, *options = (p.strip() for p in line.split("|"))
        opts: dict[str, str] = {}
        for opt in options:
            key, _, value = opt.partition(":")
            opts[key.strip().lower()] = value.strip()
        stem = term.endswith("*")
        window = int(opts["window"]) if "window" in opts else None
        entries.append(
            Entry(
                term=normalize_term(term.rstrip("*")),
                list_name=name,
                score=float(opts.get("score", score)),
                needs=_split_items(opts.get("needs", "")),
                unless=_split_items(opts.get("unless", "")),
                stem=stem,
                needs_window=window if window is not None else 6,
                unless_window=window if window is not None else 3,
            )
        )
    return TermList(name, category, score, tuple(also), tuple(entries))


def _alternation(entries: tuple[Entry, ...]) -> str:
    parts = []
    for e in sorted(entries, key=lambda e: -len(e.term)):
        if _CJK.search(e.term):
            continue
        body = r"[ ]?".join(re.escape(w) for w in e.term.split())
        parts.append(body + (r"[a-z0-9]*" if e.stem else r"(?:s|es)?"))
    return r"(?<![a-z0-9])(?:" + "|".join(parts) + r")(?![a-z0-9])"


def _parse_patterns(text: str, lists: dict[str, TermList]) -> list[Pattern]:
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, category, score, spec, *rest = (p.strip() for p in line.split(" | "))
        cat = None if category == "none" else Category(category)
        opts = {k.strip(): v for k, _, v in (o.partition(":") for o in rest)}
        unless = _split_items(opts.get("unless", ""))
        kind, _, body = spec.partition(":")
        kind_name, *win = kind.split()
        if kind_name == "re":
            body = body.strip()
            if "gate" in opts:
                gate = _operands(opts["gate"], lists, name)
            else:  # the first list the regex names must have a hit
                gate = tuple((m,) for m in re.findall(r"\{([a-z_]+)\}", body)[:1])
            expanded = re.sub(
                r"\{([a-z_]+)\}", lambda m: _alternation(lists[m.group(1)].entries), body
            )
            patterns.append(
                Pattern(name, cat, float(score), "re", 0, gate, LazyRegex(expanded), unless)
            )
            continue
        patterns.append(
            Pattern(
                name,
                cat,
                float(score),
                kind_name,
                int(win[0]) if win else 0,
                _operands(body, lists, name),
                unless=unless,
            )
        )
    return patterns


def _operands(spec: str, lists: dict[str, TermList], name: str) -> tuple[tuple[str, ...], ...]:
    operands = tuple(tuple(o.strip() for o in op.split("/")) for op in spec.split(","))
    for alternatives in operands:
        for op in alternatives:
            if not op.startswith(("cat:", "pat:")) and op not in lists:
                raise ValueError(f"pattern {name}: unknown list {op}")
    return operands


@lru_cache(maxsize=1)
def load_index(data_dir: Path = DATA_DIR) -> Index:
    """Read every term list and patterns.txt from ``data_dir`` (cached)."""
    lists = {}
    for path in sorted(data_dir.glob("*.txt")):
        if path.stem in ("patterns", "semantic_exemplars"):
            continue
        lists[path.stem] = parse_list(path.stem, path.read_text(encoding="utf-8"))
    index = Index(lists)
    for tl in lists.values():
        for e in tl.entries:
            if _CJK.search(e.term):
                index.cjk.append(e)
                continue
            words = tokens(e.term)
            if not words:
                continue
            if e.stem and len(words) == 1:
                index.stems[words[0]].append(e)
                index.stem_lengths.add(len(words[0]))
                continue
            if e.stem:  # "child porn*": exact words, then a prefix for the last one
                index.multi_stems[words[0]].append((tuple(words), e))
            index.spaced[" ".join(words)].append(e)
            if len(words) > 1:
                index.first_tokens.add(words[0])
                key = "".join(words)
                index.joined[key].append(e)
                index.joined_prefixes.update(key[:i] for i in range(1, len(key)))
    if index.cjk:
        alts = sorted({e.term for e in index.cjk}, key=len, reverse=True)
        index.cjk_re = re.compile("|".join(re.escape(a) for a in alts))
    index.patterns = _parse_patterns((data_dir / "patterns.txt").read_text(encoding="utf-8"), lists)
    return index


def _plural_keys(key: str) -> list[str]:
    keys = [key]
    if key.endswith("ies"):
        keys.append(key[:-3] + "y")
    if key.endswith("es") and key[:-2].endswith(("s", "x", "z", "ch", "sh", "o")):
        keys.append(key[:-2])  # "boxes", "heroes"; not "spices" (a "spice", no slur)
    if key.endswith("s"):
        keys.append(key[:-1])
    return keys


def find_hits(
    index: Index,
    forms: tuple[str, ...],
    form_tokens: list[list[str]],
    canonical: str,
    has_cjk: bool,
) -> list[Hit]:
    """Every entry that occurs in any form, before context rules."""
    hits: list[Hit] = []
    spaced, joined, stems = index.spaced, index.joined, index.stems
    for f, toks in enumerate(form_tokens):
        n = len(toks)
        for i, tok in enumerate(toks):
            for key in _plural_keys(tok):
                for e in spaced.get(key, ()):
                    hits.append(Hit(e, f, i, i + 1))
                if len(key) >= MIN_JOINED:  # "spiderman" for "spider man", not "huge" for "hu ge"
                    for e in joined.get(key, ()):
                        hits.append(Hit(e, f, i, i + 1))
            for length in index.stem_lengths:
                if len(tok) >= length:
                    for e in stems.get(tok[:length], ()):
                        hits.append(Hit(e, f, i, i + 1))
            for words, e in index.multi_stems.get(tok, ()):
                end = i + len(words)
                if (
                    end <= n
                    and toks[end - 1].startswith(words[-1])
                    and all(toks[i + k] == w for k, w in enumerate(words[:-1]))
                ):
                    hits.append(Hit(e, f, i, end))
            if tok in index.first_tokens:
                for size in range(2, min(MAX_NGRAM, n - i) + 1):
                    for key in _plural_keys(" ".join(toks[i : i + size])):
                        for e in spaced.get(key, ()):
                            hits.append(Hit(e, f, i, i + size))
            if tok in index.joined_prefixes:
                acc = tok
                for j in range(i + 1, min(i + MAX_NGRAM, n)):
                    acc += toks[j]
                    for key in _plural_keys(acc):
                        for e in joined.get(key, ()):
                            hits.append(Hit(e, f, i, j + 1))
                    if acc not in index.joined_prefixes:
                        break
    if has_cjk and index.cjk_re is not None:
        by_term = {e.term: e for e in index.cjk}
        for m in index.cjk_re.finditer(canonical):
            hits.append(Hit(by_term[m.group(0)], 0, -1, -1))
    # one hit per (entry, form, start): joined and spaced lookups can both match
    return list({(id(h.entry), h.form, h.start, h.end): h for h in hits}.values())


def _phrase_near(phrase: str, toks: list[str], lo: int, hi: int) -> bool:
    window = toks[max(lo, 0) : hi]
    if phrase.endswith("*"):
        return any(t.startswith(phrase[:-1]) for t in window)
    hay = " " + " ".join(window) + " "
    return f" {phrase} " in hay or (" " in phrase and phrase.replace(" ", "") in window)


def _context_present(
    items: tuple[str, ...],
    hit: Hit,
    window: int,
    toks: list[str],
    raw_by_list: dict[str, list[Hit]],
) -> bool:
    lo, hi = hit.start - window, hit.end + window
    for item in items:
        if item.startswith("@"):
            for other in raw_by_list.get(item[1:], ()):
                if other.form == hit.form and other.end > lo and other.start < hi:
                    return True
        elif _phrase_near(item, toks, lo, hi):
            return True
    return False


def is_negated(toks: list[str], start: int, hit_starts: set[int]) -> bool:
    """True when a negator precedes the hit, possibly across a list of other hits and
    connectors: "no nudity", "without any blood or gore", "not explicit"."""
    i, steps = start - 1, 0
    while i >= 0 and steps < 6:
        tok = toks[i]
        if tok in _NEGATORS:
            return True
        if tok not in _CONNECTORS and i not in hit_starts:
            return False
        i, steps = i - 1, steps + 1
    return False


def filter_hits(hits: list[Hit], form_tokens: list[list[str]], canonical: str) -> list[Hit]:
    """Apply each entry's needs/unless context and negation."""
    raw_by_list: dict[str, list[Hit]] = defaultdict(list)
    starts: dict[int, set[int]] = defaultdict(set)
    for h in hits:
        raw_by_list[h.entry.list_name].append(h)
        starts[h.form].add(h.start)
        starts[h.form].update(range(h.start, h.end))
    kept = []
    whole = [tokens(canonical)]
    for h in hits:
        e = h.entry
        if h.start < 0:  # substring (CJK) hit: context anywhere in the prompt
            probe = Hit(e, 0, 0, len(whole[0]))
            if e.needs and not _context_present(e.needs, probe, 0, whole[0], raw_by_list):
                continue
            if e.unless and _context_present(e.unless, probe, 0, whole[0], raw_by_list):
                continue
            kept.append(h)
            continue
        toks = form_tokens[h.form]
        if e.needs and not _context_present(e.needs, h, e.needs_window, toks, raw_by_list):
            continue
        if e.unless and _context_present(e.unless, h, e.unless_window, toks, raw_by_list):
            continue
        if is_negated(toks, h.start, starts[h.form]):
            continue
        kept.append(h)
    return kept
