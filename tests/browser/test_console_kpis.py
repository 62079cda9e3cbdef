"""The KPI dashboard draws its charts from a simulated population (`reelforge simulate`'s
driver, run here on the served database): every chart's canvas holds drawn data, each
chart has its table, and a table's CSV downloads."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.console_server import Site, collect_problems, console_site, sign_in_operator
from tests.web.simulated import simulate_population

__all__ = ["console_site"]  # the fixture, used by name

CHARTS = (
    "conversion_funnel",
    "cost_over_time",
    "gross_margin_by_plan",
    "cohort_retention",
    "segment_shares",
    "waste_by_cause",
    "revenue_by_source",
)

# For one canvas: how many of its pixels are painted, and whether its chart holds data.
DRAWN = """canvas => {
  const ctx = canvas.getContext("2d");
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
  const chart = Chart.getChart(canvas);
  const values = chart.data.datasets.flatMap(d => d.data)
    .map(v => (v && typeof v === "object") ? v.v : v)
    .filter(v => v !== null && v !== undefined && v !== 0);
  return {painted, values: values.length, type: chart.config.type};
}"""


def test_kpi_dashboard_draws_charts_from_a_simulated_population(
    page: Page, console_site: Site
) -> None:
    url, p = console_site.url, console_site.platform
    simulate_population(p.settings)

    problems = collect_problems(page)
    sign_in_operator(page, url)
    page.goto(url + "/console")
    page.get_by_role("link", name="KPI dashboard").click()
    page.get_by_label("Simulated data (from reelforge simulate)").check()
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Showing simulated data.")).to_be_visible()
    expect(page.locator("#kpi-charts[data-ready]")).to_have_count(1)

    for name in CHARTS:
        canvas = page.locator(f"#chart-{name}")
        expect(canvas).to_have_attribute("data-drawn", str(canvas.get_attribute("data-drawn")))
        drawn = canvas.evaluate(DRAWN)
        assert drawn["values"] > 0, (name, drawn)
        assert drawn["painted"] > 500, (name, drawn)  # bars, lines or squares, not a blank
        card = page.locator("section.chart-card", has=canvas)
        card.locator("summary").click()  # the chart's table, for screen readers and keyboards
        expect(card.get_by_role("table")).to_be_visible()
        assert card.get_by_role("row").count() >= 2
    assert page.locator("#chart-cohort_retention").evaluate(DRAWN)["type"] == "scatter"

    with page.expect_download() as download:
        page.locator("a[href^='/console/kpis/waste_by_cause.csv']").click()
    text = download.value.path().read_text(encoding="utf-8")
    assert text.splitlines()[0] == "cause,jobs,cost_usd,share"

    page.set_viewport_size({"width": 390, "height": 800})  # a phone: charts fit the width
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not problems, problems


# The charts' money: value-axis labels and tooltips of each money chart, and its formatter
# (a tick callback) on sample values, to compare with reelforge.domain.money.usd_text.
MONEY = """canvas => {
  const chart = Chart.getChart(canvas);
  const o = chart.options;
  const axis = chart.config.type === "doughnut" ? null : "y";
  const samples = [1234.5, 0.5, -0.34, 0, 0.004, 0.00068754, 0.0687, 0.009999,
                   0.125, 0.015, 2.675, 0.995];
  const label = o.plugins.tooltip.callbacks.label;
  const ctx = axis ? {parsed: {x: 0, y: 1234.5}, dataset: {label: "d"}}
    : {parsed: 1234.5, label: "l"};
  return {
    ticks: axis ? chart.scales[axis].ticks.map(t => t.label) : [],
    formatted: axis ? samples.map(v => o.scales[axis].ticks.callback(v)) : [],
    tooltip: label(ctx),
  };
}"""


def test_kpi_charts_show_money_as_the_tables_do(page: Page, console_site: Site) -> None:
    """Issue 12 item 14: a money chart's axis and tooltips read as the report's and the
    tables' money (`$0.50`, 4 significant digits for a unit price under $1), not `0.5`."""
    from reelforge.domain.money import usd_text
    from tests.analytics.test_kpis import seed

    seed(console_site.platform)
    sign_in_operator(page, console_site.url)
    page.goto(console_site.url + "/console/kpis?since=2026-01-01&until=2026-02-01")
    expect(page.locator("#kpi-charts[data-ready]")).to_have_count(1)
    samples = [1234.5, 0.5, -0.34, 0, 0.004, 0.00068754, 0.0687, 0.009999]
    samples += [0.125, 0.015, 2.675, 0.995]  # halves: both sides round them alike
    for name, unit in (
        ("cost_over_time", True),
        ("gross_margin_by_plan", False),
        ("waste_by_cause", False),
        ("revenue_by_source", False),
    ):
        money = page.locator(f"#chart-{name}").evaluate(MONEY)
        if name != "revenue_by_source":
            assert money["formatted"] == [usd_text(v, unit=unit) for v in samples], name
            assert money["ticks"] and all(t.startswith(("$", "-$")) for t in money["ticks"])
        assert money["tooltip"].endswith(": $1,234.50"), (name, money["tooltip"])
