"""Real people named through a title rather than a list: "Olympic skater Yuzuru Hanyu",
"javelin star Neeraj Chopra", "the Canadian rapper who made 'Hotline Bling'".

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
"""

from __future__ import annotations

import re

from reelforge.governance.signals import Category, Signal

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
    capitalised = sum(w[0].isupper() for w in long_words)
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
