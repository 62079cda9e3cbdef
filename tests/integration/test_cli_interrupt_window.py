"""Ctrl-C in `reelforge generate` after the job was submitted but before the progress bar
follows it (while the in-process worker starts): the job exists, so it is cancelled and its
credits released, not left queued holding them for the next worker to run (issue 12 item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelforge.cli import app, sample_image
from reelforge.cli.generate import INTERRUPTED
from reelforge.worker.loop import Worker


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key in list(__import__("os").environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def test_ctrl_c_while_the_worker_starts_cancels_the_submitted_job(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(self: Worker) -> Worker:
        raise KeyboardInterrupt

    start = Worker.start
    monkeypatch.setattr(Worker, "start", interrupted)
    out = tmp_path / "never.mp4"
    r = cli.invoke(
        app,
        ["generate", "--image", str(sample_image()), "--prompt", "zoom", "--out", str(out)],
    )
    assert r.exit_code == INTERRUPTED, r.output
    monkeypatch.setattr(Worker, "start", start)
    listed = json.loads(cli.invoke(app, ["jobs", "list", "--json"]).stdout)["data"]
    assert [(j["status"], j["billing"]) for j in listed] == [("cancelled", "released")], listed
    assert f"cancelled {listed[0]['id']}" in r.output
    assert not out.exists()
