"""The commerce benches still run at a tiny size (as tests/test_bench_smoke.py does for the
others): each finishes and prints its figures and its ratio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
@pytest.mark.timeout(200)
def test_interpolation_bench_runs_at_a_tiny_size() -> None:
    done = subprocess.run(
        [sys.executable, "bench/interpolation.py", "--tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "optical flow  PSNR" in done.stdout and "cross-fade    PSNR" in done.stdout
    assert "ratio (flow / cross-fade, dB):" in done.stdout


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_commerce_batch_bench_runs_at_a_tiny_size() -> None:
    done = subprocess.run(
        [sys.executable, "bench/commerce_batch.py", "--tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "commerce batch (showcase)  6 clips" in done.stdout, done.stdout
    assert "plain motion jobs (peer)   6 clips" in done.stdout, done.stdout
    assert "ratio (batch / plain jobs, clips per minute):" in done.stdout
