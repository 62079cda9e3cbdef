"""The README's screenshots, taken by the suite from the served app (docs/screenshots/*.png):
the studio's create form, a finished clip's video page, and the KPI dashboard drawn from a
small simulated population (8 users, 35 days: some convert to paid). Each file is checked
to be a picture of the page (its size, and not blank)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Browser, Page, expect

from tests.browser.site import Site, shared_site

SHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
SIZE = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest) -> Site:
    return shared_site(request)


def shoot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled", caret="initial")
    with Image.open(path) as img:
        assert img.size == (SIZE["width"], SIZE["height"]), img.size
        spread = ImageStat.Stat(img.convert("L")).stddev[0]
        assert spread > 10, f"{name}: the picture is nearly blank ({spread:.1f})"
    return path


def simulate(site: Site) -> None:
    """A simulated population in the site's database, for the dashboard (once)."""
    if site.extra.get("simulated"):
        return
    from reelforge.simulation.simulate import SimClock, Simulation, simulation_platform

    clock = SimClock(datetime.now(UTC))
    sim = simulation_platform(site.platform.settings, clock)
    try:
        Simulation(sim, clock, users=8, days=35, seed=7).run_all()
    finally:
        sim.close()
    site.extra["simulated"] = True


@pytest.mark.slow
def test_screenshots_for_the_readme(browser: Browser, site: Site) -> None:
    creator = browser.new_context(viewport=SIZE, reduced_motion="reduce")
    creator.add_cookies(site.cookies("creator"))  # type: ignore[arg-type]
    operator = browser.new_context(viewport=SIZE, reduced_motion="reduce")
    operator.add_cookies(site.cookies("operator"))  # type: ignore[arg-type]
    try:
        page = creator.new_page()
        page.goto(site.url + "/studio")
        expect(page.locator("form").filter(has=page.locator("textarea")).first).to_be_visible()
        shoot(page, "studio")

        page.goto(f"{site.url}/videos/{site.video_id}")
        page.wait_for_function(
            "() => { const v = document.querySelector('video');"
            " return v && v.readyState >= 2 && v.duration > 0; }"
        )
        shoot(page, "video")

        simulate(site)
        page = operator.new_page()
        page.goto(site.url + "/console/kpis?simulated=1")
        expect(page.locator("#kpi-charts[data-ready]")).to_have_count(1)
        assert page.locator("canvas[data-drawn]").count() >= 3
        shoot(page, "kpis")
    finally:
        creator.close()
        operator.close()
