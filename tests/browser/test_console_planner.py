"""The capacity planner's page in a real browser: an operator reaches it from the console's
navigation, runs the planner on a small simulated population, and every chart's canvas holds
drawn data (no CSP violation, no error); at 390 px nothing runs off the side."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.console_server import Site, collect_problems, console_site, sign_in_operator
from tests.browser.test_accessibility import run_axe

__all__ = ["console_site"]  # the fixture, used by name

# For one canvas: how many of its pixels are painted, and how many non-zero values its chart
# holds (numbers, or {x, y} points).
DRAWN = """canvas => {
  const ctx = canvas.getContext("2d");
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
  const chart = Chart.getChart(canvas);
  const values = chart.data.datasets.flatMap(d => d.data)
    .map(v => (v && typeof v === "object") ? v.y : v)
    .filter(v => v !== null && v !== undefined && v !== 0);
  return {painted, values: values.length, type: chart.config.type};
}"""
CANVASES = ("chart-utilisation", "chart-wait", "chart-wait-time", "chart-margin")


def test_the_planner_draws_its_charts(page: Page, console_site: Site) -> None:
    url = console_site.url
    problems = collect_problems(page)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_operator(page, url)
    page.goto(url + "/console")
    page.get_by_role("link", name="Capacity planner").click()
    page.get_by_label("Simulated population (users, days, seed)").check()
    page.get_by_label("Users (at most 20000)").fill("100")
    page.get_by_label("Days (at most 365)").fill("7")
    page.get_by_label("Seed", exact=True).fill("1")
    page.get_by_label("Policy").select_option("default")
    page.get_by_label("Target margin in % (optional: the price that reaches it)").fill("30")
    page.get_by_role("button", name="Run the planner").click()
    expect(page.locator("#planner-charts[data-ready]")).to_have_count(1)
    expect(page.locator("#plan-pricing")).to_be_visible()

    for name in CANVASES:
        canvas = page.locator(f"#{name}")
        expect(canvas).to_have_attribute("data-drawn", "1")
        drawn = canvas.evaluate(DRAWN)
        assert drawn["values"] > 0, (name, drawn)
        assert drawn["painted"] > 500, (name, drawn)  # lines or bars, not a blank
    # the margin chart holds the report's margins (per cent, one decimal)
    margins = page.locator("#chart-margin").evaluate("c => Chart.getChart(c).data.datasets[0].data")
    assert any(m is not None for m in margins), margins
    page.locator("#planner-charts details").first.locator("summary").click()
    violations = [f"{v['id']}: {v['help']} {v['nodes']}" for v in run_axe(page)]
    assert not violations, violations
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # 390 px: the page fits (tables scroll inside their box)
    assert not problems, problems
