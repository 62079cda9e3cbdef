"""Tiny random-weight pipelines for every family and task, built once per test session and
saved with save_pretrained, so tests load them through reelforge's own loading code."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reelforge.cli import app
from tests.neural.tiny import SUPPORTED, TINY_CONSTRAINTS, build_tiny_pipeline

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: nothing may reach a hub


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is in the `neural` tier (tiny torch/diffusers pipelines)."""
    for item in items:
        if "tests/neural/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.neural)


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        (family, task): build_tiny_pipeline(family, task, root / f"{family}-{task}")
        for family, tasks in SUPPORTED.items()
        for task in tasks
    }


def tiny_size(family: str) -> tuple[int, int, int]:
    """(width, height, frames) that each family's tiny pipeline renders fast."""
    width, height, frames = TINY_CONSTRAINTS[family]["example"]
    return int(width), int(height), int(frames)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key in list(os.environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RF_PROGRESS_INTERVAL", "0")
    monkeypatch.setenv("RF_RESULT_CACHE", "off")  # every generate renders (seed tests)
    return CliRunner()


Invoke = Callable[..., Any]


@pytest.fixture
def rf(cli: CliRunner) -> Iterator[Invoke]:
    """Run `reelforge ARGS...`; with --json, return the parsed last line of stdout."""

    def invoke(*args: str, code: int = 0) -> Any:
        result = cli.invoke(app, list(args))
        assert result.exit_code == code, result.output
        if "--json" in args and code == 0:
            return json.loads(result.stdout.strip().splitlines()[-1])
        return result

    yield invoke
