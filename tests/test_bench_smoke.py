"""`python -m bench --tiny --load`: every benchmark still runs (at a tiny size), so none rots.

The figures of a tiny run measure nothing; the test only asks that each bench finished and
printed its rows. A bench that cannot run here (no PostgreSQL or Redis) is a 'skipped' row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHES = (
    "motion",
    "neural",
    "moderation",
    "frames",
    "provenance",
    "submit",
    "cold_start",
    "providers",
    "planner",
    "interpolation",
    "commerce",
    "load",
)


@pytest.mark.e2e
@pytest.mark.timeout(400)
def test_every_bench_runs_at_a_tiny_size() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--load"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=380,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "FAILED" not in report, report
    table = done.stdout.split("\n\n")[-2]  # the table, then the closing line
    assert table.startswith("bench "), report
    for name in BENCHES:
        assert any(line.startswith(name + " ") for line in table.splitlines()[1:]), (name, report)
    # the load test reports its 5xx count; the target is zero
    five = [line for line in table.splitlines() if line.startswith("load") and "5xx" in line]
    assert not five or " 0 count" in five[0], report
