"""/console/planner over HTTP (TestClient): operators only, CSRF on the form, a run on the
simulator's population renders the three charts' tables with the report's own figures (the
same run as POST /v1/admin/plan), the bounds of that route, errors next to their field, a
CSV demand, the wait-target search and the pricing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from reelforge.api.routes import planner as api_planner
from reelforge.app.platform import Platform
from reelforge.domain.money import usd_text
from reelforge.planner import demand as demands
from reelforge.planner.fleet import parse_fleet
from reelforge.planner.plan import plan_for
from reelforge.planner.policy import POLICIES
from reelforge.services.accounts import signin
from reelforge.web.console import planner
from tests.web.conftest import PASSWORD, Browser, csrf_of

ROOT = Path(__file__).parents[2]
FORM = {"demand": "population", "users": "100", "days": "7", "seed": "1", "policy": "default"}


@pytest.fixture
def operator(web_platform: Platform, app_client: TestClient) -> Browser:
    signin.create_with_login(web_platform, "ops", "ops@example.com", PASSWORD, operator=True)
    b = Browser(TestClient(app_client.app, base_url="http://testserver"))
    assert b.sign_in("ops@example.com").status_code == 200
    return b


def _run(b: Browser, **fields: str) -> Any:
    data = {**FORM, "fleet": planner.DEFAULT_FLEET, "measured": "1", **fields}
    return b.submit("/console/planner", "/console/planner", data)


def _cells(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, table_id
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    return [[c.strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows]


def test_the_default_fleet_is_the_documented_one_and_the_bounds_the_apis() -> None:
    documented = yaml.safe_load((ROOT / "docs/fleet-scale-from-zero.yaml").read_text())
    assert yaml.safe_load(planner.DEFAULT_FLEET) == documented
    assert planner.MAX_ARRIVALS == api_planner.MAX_API_ARRIVALS
    fields = api_planner.PlanRequest.model_fields
    assert [m.le for m in fields["users"].metadata if hasattr(m, "le")] == [planner.MAX_USERS]
    assert [m.le for m in fields["days"].metadata if hasattr(m, "le")] == [planner.MAX_DAYS]
    assert fields["demand_csv"].metadata[0].max_length == planner.MAX_CSV_BYTES


def test_creators_get_403_and_signed_out_visitors_sign_in(
    visitor: Browser, new_browser: Any
) -> None:
    r = visitor.client.get("/console/planner", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    creator = new_browser()
    assert creator.sign_up("maker@example.com").status_code == 200
    r = creator.client.get("/console/planner")
    assert r.status_code == 403 and "for operators" in r.text
    token = csrf_of(creator.get("/account").text)
    r = creator.client.post(
        "/console/planner", data={**FORM, "fleet": planner.DEFAULT_FLEET, "csrf_token": token}
    )
    assert r.status_code == 403 and "for operators" in r.text and "plan-plans" not in r.text


def test_the_form_needs_its_csrf_token(operator: Browser) -> None:
    page = operator.get("/console/planner")
    assert page.status_code == 200
    html = page.text
    assert 'href="/console/planner" aria-current="page"' in html
    # every control has its label
    for control in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html):
        assert f'for="{control}"' in html, control
    assert "kind: H200, count: 0" in html  # the documented fleet, prefilled
    r = operator.client.post("/console/planner", data={**FORM, "fleet": planner.DEFAULT_FLEET})
    assert r.status_code == 403 and "expired" in r.text
    r = operator.client.post(
        "/console/planner",
        data={**FORM, "fleet": planner.DEFAULT_FLEET, "csrf_token": "x" * 40},
    )
    assert r.status_code == 403 and "plan-plans" not in r.text


def test_a_run_renders_the_reports_figures(operator: Browser, web_platform: Platform) -> None:
    r = _run(operator, target_margin="30")
    assert r.status_code == 200, r.text[-3000:]
    html = r.text
    # the same run through the planner itself (what POST /v1/admin/plan answers)
    arrivals = demands.from_population(100, 7, 1)
    report = plan_for(
        web_platform,
        arrivals,
        parse_fleet(yaml.safe_load(planner.DEFAULT_FLEET)),
        POLICIES["default"],
        target_margin=0.3,
        seed=1,
    )
    assert f"{len(arrivals):,} arrivals" in html

    util = _cells(html, "table-utilisation")
    assert len(util) == len(report["utilisation_over_time"]) > 0
    for row, want in zip(util, report["utilisation_over_time"], strict=True):
        assert row == [
            str(want["hour"]),
            f"{want['devices']:.2f}",
            f"{want['utilisation'] * 100:.1f} %",
        ]
    waits = _cells(html, "table-wait")
    assert [w[0] for w in waits] == list(report["plans"])
    for row, (name, plan) in zip(waits, report["plans"].items(), strict=True):
        assert row == [name, f"{plan['wait_p50_s']:.1f}", f"{plan['wait_p95_s']:.1f}"]
    over_time = _cells(html, "table-wait-time")
    assert len(over_time) == len(report["wait_over_time"]) > 0
    assert over_time[0][:3] == [
        str(report["wait_over_time"][0]["hour"]),
        report["wait_over_time"][0]["plan"],
        f"{report['wait_over_time'][0]['wait_p95_s']:.1f}",
    ]
    margins = {row[0]: row for row in _cells(html, "table-margin")}
    paid = [n for n, p in report["plans"].items() if p["margin"] is not None]
    assert paid, report["plans"]
    for name in paid:
        plan = report["plans"][name]
        # money as `reelforge report` shows it (issue 12 item 14: it was 0.5000 / 1,234.56)
        assert margins[name][1:3] == [usd_text(plan["revenue_usd"]), usd_text(plan["cost_usd"])]
        assert margins[name][4] == usd_text(plan["fleet_cost_usd"])
        assert margins[name][3] == f"{plan['margin'] * 100:.1f} %"
        assert margins[name][5] == f"{plan['fleet_margin'] * 100:.1f} %"
    per_plan = {row[0]: row for row in _cells(html, "plan-plans")}
    for name, plan in report["plans"].items():
        assert per_plan[name][5] == usd_text(plan["cost_per_clip_usd"], unit=True)
    totals = report["totals"]
    assert (
        f"Totals: revenue {usd_text(totals['revenue_usd'])}, job cost "
        f"{usd_text(totals['cost_usd'])}, fleet cost {usd_text(totals['fleet_cost_usd'])}."
    ) in html
    pricing = {row[0]: row for row in _cells(html, "plan-pricing")}
    assert pricing["All plans"][1] == f"{report['pricing']['price_multiplier']:.4f}"
    # the charts' data, for static/planner.js (no inline script)
    assert "data-report='{\"" in html and "<script>" not in html
    assert '<script src="/static/web/planner.js" defer></script>' in html


def test_errors_are_shown_next_to_their_field(operator: Browser) -> None:
    r = _run(operator, users="20001", measured="0")
    assert 'name="measured" value="1">' in r.text  # kept unticked
    assert r.status_code == 422 and 'id="users-error"' in r.text
    assert 'aria-describedby="users-error"' in r.text
    r = _run(operator, fleet="devices: [")
    assert r.status_code == 422 and 'id="fleet-error"' in r.text
    assert "devices: [" in r.text  # the operator's text is kept
    r = _run(operator, fleet="devices:\n  - {kind: H200, hourly_usd: -1}\n")
    assert r.status_code == 422 and 'id="fleet-error"' in r.text and "hourly_usd" in r.text
    r = _run(operator, fleet="a: &x [1]\nb: *x\n")
    assert r.status_code == 422 and "aliases" in r.text
    r = _run(operator, policy="/etc/passwd")  # never a file on the server
    assert r.status_code == 422 and 'id="policy-error"' in r.text
    r = _run(operator, target_margin="100")
    assert r.status_code == 422 and 'id="target_margin-error"' in r.text
    r = _run(operator, demand="jobs")  # no job on this platform yet
    assert r.status_code == 422 and "no arrivals" in r.text and "no jobs" in r.text


def test_a_csv_demand_and_the_wait_target_search(operator: Browser) -> None:
    text = demands.to_csv(demands.from_population(30, 2, 4))
    token = csrf_of(operator.get("/console/planner").text)
    data = {
        **FORM,
        "demand": "csv",
        "fleet": "devices:\n  - {kind: H200, count: 1, hourly_usd: 3.5}\n"
        "  - {kind: cpu, count: 1, hourly_usd: 0.05}\n",
        "target_free": "3600",
        "csrf_token": token,
    }
    r = operator.client.post(
        "/console/planner", data=data, files={"demand_csv": ("arrivals.csv", text, "text/csv")}
    )
    assert r.status_code == 200, r.text[-3000:]
    assert f"{text.count(chr(10)) - 1:,} arrivals" in r.text
    found = dict((row[0], row[1]) for row in _cells(r.text, "plan-search"))
    assert set(found) == {"H200", "cpu"} and all(int(v) >= 1 for v in found.values())
    bad = operator.client.post(
        "/console/planner",
        data=data,
        files={"demand_csv": ("arrivals.csv", "at,model\n1,wan\n", "text/csv")},
    )
    assert bad.status_code == 422 and 'id="demand_csv-error"' in bad.text


def test_chinese_page(operator: Browser) -> None:
    r = operator.client.get("/console/planner", headers={"accept-language": "zh-CN"})
    assert "容量规划" in r.text and "运行规划" in r.text
    operator.client.cookies.set("rf_lang", "zh")
    r = _run(operator, target_margin="30", target_free="3600")
    assert r.status_code == 200, r.text[-3000:]
    assert "各套餐利润率" in r.text and "满足等待目标的最小设备群" in r.text
    assert "达到 30.0 % 利润率的定价" in r.text


@pytest.mark.slow  # the simulation writes its population's jobs (about 10 s)
def test_the_platforms_simulated_jobs_as_demand(operator: Browser, web_platform: Platform) -> None:
    from tests.web.simulated import simulate_population

    simulate_population(web_platform.settings)
    r = _run(operator, demand="simulated")
    assert r.status_code == 200, r.text[-3000:]
    jobs = _cells(r.text, "plan-plans")
    assert sum(int(row[1]) for row in jobs) > 0  # submitted per plan, from the simulated jobs
