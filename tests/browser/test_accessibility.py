"""Accessibility of every page, in English and in Chinese: axe-core (vendored, injected by
the test, never loaded by a page) finds no serious or critical violation; keyboard focus is
visible on every control Tab reaches; no horizontal scroll at 390 px (a phone) nor at
1440 px. The pages are discovered from the app's routes (GET routes of the web pages;
those with ids are reached through links on the other pages), so pages added later are
checked without changing this file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.site import (
    AXE,
    Site,
    shared_site,
    walk,
)

# Pages that exist whatever else lands: the walk must reach them (a broken discovery fails).
KNOWN = {"/signin", "/signup", "/account", "/account/password", "/billing"}
TABS = 10  # focus stops checked per page

_AXE_SOURCE = AXE.read_text(encoding="utf-8")


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and
    AA rules and axe's best practices). axe comes in through the DevTools protocol (an init
    script of the context, or evaluated here), which the page's Content-Security-Policy
    does not govern; the page itself is untouched."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_AXE_SOURCE)
    result: dict[str, Any] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return {violations: r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)
                    .slice(0, 5)}))};
        }"""
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def no_horizontal_scroll(page: Page, width: int) -> str | None:
    page.set_viewport_size({"width": width, "height": 900})
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll > width:
        wide = page.evaluate(
            """(w) => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > w + 1)
                .slice(0, 3).map(e => e.tagName + (e.id ? '#' + e.id : '')
                    + '.' + [...e.classList].join('.'))""",
            width,
        )
        return f"scrollWidth {scroll} > {width} ({', '.join(wide)})"
    return None


# Records, at each focus change, whether the focused control shows a ring (an outline of
# 2 px or more, or a box shadow) and is on screen; collected after the Tab presses.
FOCUS_RECORDER = """() => {
    window.__focus = [];
    document.addEventListener('focusin', () => {
        const el = document.activeElement;
        if (!el || el === document.body) return;
        const cs = getComputedStyle(el);
        const r = el.getBoundingClientRect();
        window.__focus.push({
            what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' '
                + (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 30),
            ring: (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2)
                || (!!cs.boxShadow && cs.boxShadow !== 'none'),
            shown: r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0
                && r.left < innerWidth,
        });
    });
}"""


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest) -> Site:
    return shared_site(request)


def _context(browser: Browser, site: Site, who: str | None, lang: str = "en") -> BrowserContext:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies(site.cookies(who, lang))  # type: ignore[arg-type]
    # axe in every page of the context before the page's own scripts (through the DevTools
    # protocol: not governed by the page's CSP); cheaper than evaluating it on each page
    context.add_init_script(script=_AXE_SOURCE)
    return context


@pytest.fixture(scope="module")
def pages(site: Site) -> list[tuple[str | None, str]]:
    """(who, path) for every HTML page the app's routes give: console pages as the
    operator, the others as the creator, or signed out where a signed-in browser is sent
    elsewhere (sign-in). Routes with ids get one from a link on an earlier page."""
    found = walk(site)
    reached = {path for _, path in found}
    assert reached >= KNOWN, (KNOWN - reached, found)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_is_accessible(
    browser: Browser, site: Site, pages: list[tuple[str | None, str]], lang: str
) -> None:
    """axe and both widths in each language; the keyboard walk in English (the focus ring
    does not depend on the language)."""
    problems: list[str] = []
    contexts: dict[str | None, BrowserContext] = {}
    try:
        for who, path in pages:
            if who not in contexts:
                contexts[who] = _context(browser, site, who, lang)
                contexts[who].new_page()
            page = contexts[who].pages[0]
            page.set_viewport_size({"width": 1440, "height": 900})
            page.goto(site.url + path)
            assert page.locator("html").get_attribute("lang") == (
                "zh-Hans" if lang == "zh" else "en"
            ), path
            for v in run_axe(page):
                problems.append(f"{lang} {path}: {v['impact']} {v['id']}: {v['help']} {v['nodes']}")
            if lang == "en":
                problems += focus_problems(page, path)
            for width in (1440, 390):
                if wide := no_horizontal_scroll(page, width):
                    problems.append(f"{lang} {path} at {width} px: {wide}")
    finally:
        for c in contexts.values():
            c.close()
    assert not problems, "\n".join(problems)


def focus_problems(page: Page, path: str) -> list[str]:
    """Tab through the first controls of the page: each shows a focus ring, on screen."""
    page.evaluate(FOCUS_RECORDER)
    for _ in range(TABS):
        page.keyboard.press("Tab")
    stops = page.evaluate("() => window.__focus")
    if not stops:
        return [f"{path}: Tab reaches no control"]
    return [f"{path}: focus not visible on {s}" for s in stops if not (s["ring"] and s["shown"])]


def test_axe_harness_reports_a_violation(browser: Browser, site: Site) -> None:
    """The harness itself: a page made inaccessible on purpose fails it (so a clean report
    above means something)."""
    context = _context(browser, site, None)
    try:
        page = context.new_page()
        page.goto(site.url + "/signin")
        assert run_axe(page) == []
        # a field without a label and a button without a name, as a careless template makes
        page.evaluate(
            """() => {
                const main = document.querySelector('main');
                main.append(document.createElement('input'), document.createElement('button'));
            }"""
        )
        ids = {v["id"] for v in run_axe(page)}
        assert {"label", "button-name"} <= ids, ids
    finally:
        context.close()


def test_axe_is_vendored_with_its_licence() -> None:
    folder = Path(AXE).parent
    assert _AXE_SOURCE.startswith("/*! axe v4.")
    assert "Mozilla Public License" in (folder / "axe.LICENSE").read_text(encoding="utf-8")
