"""Real people named through a title rather than a list ("Olympic skater Yuzuru Hanyu", "the
Canadian rapper who made 'Hotline Bling'"), and listed names misspelled by one letter
("greg rutkowsky").

The public-figure list cannot hold everyone famous. Two shapes of prompt point at a real person
without it:

- a fame title (athlete, musician, actor, politician, executive...) directly followed by a
  capitalised first and last name;
- a fame title followed by "who" and a famous deed whose object is quoted or capitalised (a
  song, a film, a team, a company).

Case is the signal, so both read the prompt as written, not its normalised forms. A prompt
written in Title Case carries no such signal and is skipped, as are titles followed by words
that open a place or product name ("Star Light Cafe") more often than a person's name. A single
name after a title ("Prince Charming", "King Arthur", "a pop star named Luna") is not enough.

Misspellings: a prompt word of 8 or more letters one edit (a letter changed, added, dropped or
two swapped) from a one-word entry of the artist, public-figure or politician lists counts as
that name; so does a two-word name with one word exact and the other one edit off (5+
letters, or 6+ when the exact word has 3): "yayoi kusamma", "tayler swift", "wes andersen".
Entries one edit from an English word ("metallica"/"metallic", "fewocious"/"ferocious": found
by checking every entry against the MiniLM vocabulary) are left out, and an artist's name
needs a word about style nearby.
"""

from __future__ import annotations

import re

from reelforge.governance.signals import Category, Signal
from reelforge.governance.text.terms import Index

SCORE = 0.8

_ROLES = (
    "superstar|megastar|star|legend|icon|champion|olympian|medalist|medallist|athlete|skater|"
    "gymnast|sprinter|swimmer|striker|footballer|soccer player|quarterback|pitcher|golfer|"
    "tennis player|basketball player|cricketer|batsman|boxer|wrestler|racer|racing driver|"
    "rapper|singer|popstar|pop star|pop icon|diva|idol|k-pop idol|actor|actress|comedian|"
    "talk show host|tv host|news anchor|anchor|youtuber|influencer|streamer|tiktoker|"
    "billionaire|tycoon|ceo|mogul|founder|entrepreneur|president|prime minister|senator|"
    "governor|congressman|congresswoman|chancellor|minister|filmmaker|director|supermodel|"
    "celebrity chef|drummer|guitarist|frontman|bassist|pianist|musician|songwriter|"
    "dj|producer|author|novelist|journalist"
)
_NAME_WORD = r"(?:Mc|Mac|O'|D')?[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'\u2019-]+"
_TITLED_NAME = re.compile(
    rf"(?<![A-Za-z])(?i:{_ROLES})\s+(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,2}}"
    rf"|{_NAME_WORD}\s+(?:[IVX]{{1,4}}|Jr\.?|Sr\.?))(?![A-Za-z])"
)
_DEED = re.compile(
    rf"(?<![A-Za-z])(?i:{_ROLES})\s+who\s+(?i:made|sang|sings|wrote|writes|starred in|stars in|"
    r"won|wins|directed|founded|invented|released|recorded|hosts|hosted|plays for|played for|"
    r"coaches|owns|created|leads|led|runs|ran)\s+(?:the\s+)?(?:[\"'\u2018\u201c][^\"'\u2019\u201d]{2,60}[\"'\u2019\u201d]"
    rf"|{_NAME_WORD})"
)
_NOT_NAMES = frozenset(
    {
        "The",
        "A",
        "An",
        "Of",
        "In",
        "On",
        "At",
        "And",
        "Or",
        "With",
        "From",
        "To",
        "For",
        "By",
        "Is",
        "Are",
        "Was",
        "Were",
        "As",
        "Into",
        "Over",
        "Under",
        "Wars",
        "Trek",
        "Light",
        "Lights",
        "Cafe",
        "Café",
        "Hotel",
        "Bar",
        "Restaurant",
        "Club",
        "Studio",
        "Studios",
        "Records",
        "Academy",
        "Energy",
        "Drink",
        "Brand",
        "Style",
        "Award",
        "Awards",
        "Show",
        "Tour",
        "Night",
        "Day",
        "City",
        "Street",
        "Road",
        "Avenue",
        "Park",
        "Arena",
        "Stadium",
        "Hall",
        "Theatre",
        "Theater",
        "Museum",
        "School",
        "Festival",
        "Market",
        "Burger",
        "Pizza",
        "Coffee",
    }
)


def _title_cased(text: str) -> bool:
    words = re.findall("[A-Za-z][A-Za-z'\u2019-]*", text)
    long_words = [w for w in words if len(w) > 3]
    if len(long_words) < 4:
        return False
    capitalised: int = sum(w[0].isupper() for w in long_words)
    return capitalised / len(long_words) > 0.6


def name_signals(text: str, source: str) -> list[Signal]:
    """Public-figure signals for titled names and famous-deed descriptions in ``text``."""
    out: list[Signal] = []
    if _title_cased(text):
        return out
    for match in _TITLED_NAME.finditer(text):
        words = match.group("name").split()
        if not any(w in _NOT_NAMES for w in words):
            rule = "pattern:titled_name"
            out.append(Signal(Category.PUBLIC_FIGURE, SCORE, rule, source, match.group(0)))
            break
    deed = _DEED.search(text)
    if deed:
        rule = "pattern:famous_deed"
        out.append(Signal(Category.PUBLIC_FIGURE, SCORE, rule, source, deed.group(0)))
    return out


FUZZY_MIN = 8
_FUZZY_LISTS = {
    "artists_living": Category.ARTIST_STYLE,
    "public_figures": Category.PUBLIC_FIGURE,
    "politicians": Category.PUBLIC_FIGURE,
}
# one edit from a word of the MiniLM vocabulary (see the module docstring)
_FUZZY_EXCLUDED = frozenset(
    {"fewocious", "glorilla", "gorillaz", "metallica", "saweetie", "valkyrae", "hockney"}
)
_STYLE_WORDS = frozenset(
    {
        "style",
        "styled",
        "like",
        "inspired",
        "by",
        "art",
        "artwork",
        "painting",
        "painted",
        "illustration",
        "aesthetic",
        "look",
        "vibe",
        "vibes",
        "artstation",
        "manner",
        "homage",
        "estilo",
        "stil",
        "gaya",
        "ala",
        "manera",
    }
)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


_Table = dict[str, list[tuple[str, Category]]]
_Pairs = dict[str, list[tuple[str, str, Category]]]
_TABLES: dict[int, tuple[Index, _Table, _Pairs]] = {}


def _fuzzy_tables(index: Index) -> tuple[_Table, _Pairs]:
    """One-word entries (8+ letters) and their one-letter deletions -> (entry, category), and
    for two-word entries each word -> (the other word, entry, category). Built once per index
    (the index is loaded once per process)."""
    cached = _TABLES.get(id(index))
    if cached is not None and cached[0] is index:
        return cached[1], cached[2]
    table: _Table = {}
    pairs: _Pairs = {}
    for name, category in _FUZZY_LISTS.items():
        term_list = index.lists.get(name)
        for entry in term_list.entries if term_list else ():
            term = entry.term
            if entry.needs or entry.stem or term in _FUZZY_EXCLUDED:
                continue
            words = term.split()
            if len(words) == 2:
                first, last = words
                pairs.setdefault(first, []).append((last, term, category))
                pairs.setdefault(last, []).append((first, term, category))
            elif len(words) == 1 and len(term) >= FUZZY_MIN:
                for key in {term, *_deletes(term)}:
                    table.setdefault(key, []).append((term, category))
    _TABLES[id(index)] = (index, table, pairs)
    return table, pairs


def _one_edit(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = diff if len(diff) == 2 else (0, 0)
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def misspelled_names(index: Index, words: list[str], source: str) -> list[Signal]:
    """Signal for the first prompt word (or pair) one edit away from a listed name."""
    table, pairs = _fuzzy_tables(index)
    for pos, word in enumerate(words):
        found: list[tuple[str, str, Category]] = []
        if len(word) >= FUZZY_MIN - 1:
            found += [
                (word, term, category)
                for key in {word, *_deletes(word)}
                for term, category in table.get(key, ())
                if _one_edit(word, term)
            ]
        for other_pos in (pos - 1, pos + 1):
            if 0 <= other_pos < len(words):
                other = words[other_pos]
                found += [
                    (other, term, category)
                    for partner, term, category in pairs.get(word, ())
                    if len(partner) >= (5 if len(word) >= 4 else 6)
                    and len(word) >= 3
                    and _one_edit(other, partner)
                    and (other_pos > pos) == (term.split()[1] == partner)
                ]
        for spelled, term, category in found:
            nearby = set(words[max(0, pos - 5) : pos + 6])
            if category is Category.ARTIST_STYLE and not nearby & _STYLE_WORDS:
                continue
            detail = f"{spelled} ~ {term}"
            return [Signal(category, SCORE, "pattern:misspelled_name", source, detail)]
    return []
