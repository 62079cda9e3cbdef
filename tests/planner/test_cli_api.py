"""`reelforge plan` and POST /v1/admin/plan: the same report from a demand CSV, a simulated
population or the platform's own jobs; bad files and fields are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.cli import app as cli
from reelforge.domain.money import usd_text
from reelforge.errors import InvalidRequest
from reelforge.planner.demand import from_population, parse_csv, to_csv
from reelforge.services.accounts import accounts
from tests.conftest import make_settings
from tests.fakes import GradientBackend

FLEET = """
devices:
  - {kind: H200, count: 2, hourly_usd: 3.5, memory_gb: 141, startup_s: 120}
  - {kind: cpu, count: 1, hourly_usd: 0.05}
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "fleet.yaml").write_text(FLEET)
    return tmp_path


def test_cli_plan_from_a_csv_and_the_population(env: Path) -> None:
    demand = env / "demand.csv"
    demand.write_text(to_csv(from_population(80, 5, seed=3)))
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "plan",
            "--demand",
            str(demand),
            "--fleet",
            str(env / "fleet.yaml"),
            "--json",
            "--target",
            "pro=300",
            "--target",
            "free=3600",
            "--target-margin",
            "0.25",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["object"] == "capacity_plan" and report["demand"]["arrivals"] > 0
    assert set(report["search"]["fleet"]) == {"H200", "cpu"}
    assert report["pricing"]["target_margin"] == 0.25
    assert {r["source"].split(" ")[0] for r in report["profiles"]} == {"cited"}
    saved = env / "saved.csv"
    table = runner.invoke(
        cli,
        [
            "plan",
            "--demand",
            "population",
            "--users",
            "50",
            "--days",
            "3",
            "--fleet",
            str(env / "fleet.yaml"),
            "--save-demand",
            str(saved),
        ],
    )
    assert table.exit_code == 0, table.output
    assert "per plan" in table.stdout and "utilisation" in table.stdout
    assert parse_csv(saved.read_text()) == from_population(50, 3, seed=1)
    # money reads as in `reelforge report` (issue 12 item 14): $/clip is a unit price, 4
    # significant digits under $1 (it was rounded to the cent), totals to the cent
    same = runner.invoke(
        cli,
        ["plan", "--demand", str(saved), "--fleet", str(env / "fleet.yaml"), "--json"],
    )
    plans = json.loads(same.stdout)["plans"]
    clips = [pl["cost_per_clip_usd"] for pl in plans.values() if pl["cost_per_clip_usd"]]
    assert clips
    for value in clips:
        assert usd_text(value, unit=True) in table.stdout, (value, table.stdout)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("at,model\n1,wan\n", "invalid_demand"),  # missing columns
        ("at,model,resolution,duration\nsoon,wan,480p,5\n", "invalid_demand"),
        ("at,model,resolution,duration\n1,wan,4k,5\n", "invalid_demand"),
        ("at,model,resolution,duration\n1,wa\x00n,480p,5\n", "invalid_demand"),
        ("at,model,resolution,duration\n1,wan,480p,nan\n", "invalid_demand"),
    ],
)
def test_bad_demand_rows_name_the_row(content: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_csv(content)
    assert err.value.code == code


def test_cli_bad_fleet_and_policy_exit_2(env: Path) -> None:
    bad = env / "bad.yaml"
    bad.write_text("devices: [{kind: H200, hourly_usd: -1}]\n")
    demand = env / "d.csv"
    demand.write_text("at,model,resolution,duration\n0,wan,480p,5\n")
    runner = CliRunner()
    r = runner.invoke(cli, ["plan", "--demand", str(demand), "--fleet", str(bad)])
    assert r.exit_code == 2 and "invalid_fleet" in r.stderr
    r = runner.invoke(
        cli,
        ["plan", "--demand", str(demand), "--fleet", str(env / "fleet.yaml"), "--policy", "nope"],
    )
    assert r.exit_code == 2 and "invalid_policy" in r.stderr
    r = runner.invoke(
        cli,
        ["plan", "--demand", str(demand), "--fleet", str(env / "fleet.yaml"), "--target", "pro"],
    )
    assert r.exit_code == 2 and "invalid_target" in r.stderr


def test_api_plan_is_for_operators_and_replays_the_platforms_jobs(tmp_path: Path) -> None:
    p = bootstrap(make_settings(tmp_path), backends=[GradientBackend()])
    try:
        admin = accounts.create_api_key(p, "ops", admin=True).key
        user = accounts.create_api_key(p, "creator").key
        fleet = {
            "devices": [
                {"kind": "H200", "count": 1, "hourly_usd": 3.5},
                {"kind": "cpu", "count": 1, "hourly_usd": 0.05},
            ]
        }
        with TestClient(create_app(p)) as c:
            body = {"demand": "population", "users": 40, "days": 3, "fleet": fleet}
            r = c.post("/v1/admin/plan", json=body, headers={"Authorization": f"Bearer {user}"})
            assert r.status_code == 403
            auth = {"Authorization": f"Bearer {admin}"}
            r = c.post("/v1/admin/plan", json=body, headers=auth)
            assert r.status_code == 200, r.text
            assert r.json()["object"] == "capacity_plan" and r.json()["plans"]
            # the platform's own jobs: none yet → a clear error, not an empty report
            r = c.post("/v1/admin/plan", json={**body, "demand": "jobs"}, headers=auth)
            assert (r.status_code, r.json()["error"]["code"]) == (422, "empty_demand")
            r = c.post("/v1/admin/plan", json={**body, "fleet": {"devices": []}}, headers=auth)
            assert r.json()["error"]["code"] == "invalid_fleet"
            # a real job on the motion backend, then replayed from the job records
            job = c.post(
                "/v1/videos",
                json={
                    "prompt": "a slow pan over hills",
                    "model": "gradient",
                    "duration": 1,
                    "resolution": "480p",
                },
                headers=auth,
            )
            assert job.status_code == 202, job.text
            r = c.post("/v1/admin/plan", json={**body, "demand": "jobs"}, headers=auth)
            assert r.status_code == 200, r.text
            assert r.json()["demand"]["arrivals"] == 1
            csv_body = {
                "demand_csv": "at,model,resolution,duration,plan\n0,wan,480p,5,pro\n",
                "fleet": fleet,
            }
            r = c.post("/v1/admin/plan", json=csv_body, headers=auth)
            assert r.status_code == 200, r.text
            assert r.json()["plans"]["pro"]["completed"] == 1
    finally:
        p.close()
