"""Languages of the web pages: message catalogues (gettext .po files under locale/, read with
Babel and compiled in memory at start-up) and one Jinja2 environment per language, with
autoescaping on. English is the source language; the browser's Accept-Language chooses,
and the `rf_lang` cookie set by the switcher overrides it."""

from __future__ import annotations

import gettext
from functools import cache
from importlib import resources
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, PackageLoader, select_autoescape

from reelforge.domain.money import usd_text

# language code → (label in that language, html lang attribute)
LANGUAGES: dict[str, tuple[str, str]] = {"en": ("English", "en"), "zh": ("简体中文", "zh-Hans")}
DEFAULT = "en"


def N_(message: str) -> str:
    """Marks a string for the catalogue (extracted by Babel) without translating it here."""
    return message


@cache
def translations(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT:
        return gettext.NullTranslations()
    # one .po file per page family (messages.po, studio.po, console.po, ...), merged here
    folder = resources.files("reelforge.web").joinpath(f"locale/{lang}/LC_MESSAGES")
    catalog = None
    for po in sorted((f for f in folder.iterdir() if f.name.endswith(".po")), key=lambda f: f.name):
        with po.open("rb") as f:
            part = read_po(f, locale=lang)
        if catalog is None:
            catalog = part
            continue
        for msg in part:
            if msg.id and msg.id not in catalog:
                catalog[msg.id] = msg
    assert catalog is not None, f"no catalogue for {lang}"
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("reelforge.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["usd"] = usd_text  # money reads as in `reelforge report`: {{ v | usd }}
    return env


def gettext_for(lang: str) -> gettext.NullTranslations:
    return translations(lang if lang in LANGUAGES else DEFAULT)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The switcher's choice if any, else the best of Accept-Language, else English."""
    if cookie in LANGUAGES:
        return str(cookie)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "")[:1000].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()))
    for neg_q, _i, tag in sorted(ranked):
        if neg_q >= 0:
            break
        base = tag.split("-")[0]
        if base in LANGUAGES:
            return base
    return DEFAULT
