"""Page weight: the JavaScript and CSS each page loads (its <script src> and stylesheet
links), gzip-compressed as a compressing proxy would serve them (the app itself serves them
as they are), per page and in total, against a budget. Run with -s to see the table."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest

from tests.browser.site import Site, shared_site, walk

# Per page, gzip-compressed: the KPI dashboard's chart library is the heaviest part.
JS_BUDGET = 120_000
CSS_BUDGET = 16_000


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest) -> Site:
    return shared_site(request)


def assets(html: str) -> list[str]:
    scripts = re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', html)
    styles = [
        href
        for tag in re.findall(r"<link\b[^>]*>", html)
        if re.search(r'rel="stylesheet"', tag)
        for href in re.findall(r'href="([^"]+)"', tag)
    ]
    return scripts + styles


def test_page_weight(site: Site) -> None:
    sizes: dict[str, tuple[int, int]] = {}  # path -> (raw, gzip -9)
    table: list[tuple[str, int, int, int, int]] = []
    over: list[str] = []
    with httpx.Client(base_url=site.url, timeout=30) as client:
        for _who, path in walk(site):
            html = site.extra["html"][path]
            js = css = js_raw = css_raw = 0
            for url in assets(html):
                if url not in sizes:
                    r = client.get(url)
                    assert r.status_code == 200, url
                    sizes[url] = (len(r.content), len(gzip.compress(r.content, 9)))
                raw, packed = sizes[url]
                if url.endswith(".css"):
                    css, css_raw = css + packed, css_raw + raw
                else:
                    js, js_raw = js + packed, js_raw + raw
            table.append((path, js, js_raw, css, css_raw))
            if js > JS_BUDGET or css > CSS_BUDGET:
                over.append(f"{path}: JS {js} B, CSS {css} B gzipped")
    print("\npage                                        JS gz (raw)          CSS gz (raw)")
    for path, js, js_raw, css, css_raw in table:
        kb = [f"{n / 1000:6.1f}" for n in (js, js_raw, css, css_raw)]
        print(f"{path:42s} {kb[0]} kB ({kb[1]})   {kb[2]} kB ({kb[3]})")
    js_all = sum(g for u, (_r, g) in sizes.items() if not u.endswith(".css"))
    css_all = sum(g for u, (_r, g) in sizes.items() if u.endswith(".css"))
    print(f"all files once: JS {js_all / 1000:.1f} kB, CSS {css_all / 1000:.1f} kB gzipped")
    assert table and not over, over
