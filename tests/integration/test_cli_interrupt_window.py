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


def test_ctrl_c_inside_the_submit_cancels_the_job_it_stored(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signal arrives after submit_job stored the job but before it returned its id (a real
    SIGINT to this process, as the terminal sends it): the job is cancelled once its id is
    known, not left queued holding its credits."""
    import os
    import signal

    from reelforge.cli import generate as generate_cli

    real_submit = generate_cli.submit_job

    def submit_then_ctrl_c(*args: object, **kwargs: object) -> object:
        stored = real_submit(*args, **kwargs)  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGINT)  # delivered before the id is handed back
        return stored

    monkeypatch.setattr(generate_cli, "submit_job", submit_then_ctrl_c)
    out = tmp_path / "never.mp4"
    r = cli.invoke(
        app,
        ["generate", "--image", str(sample_image()), "--prompt", "zoom", "--out", str(out)],
    )
    assert r.exit_code == INTERRUPTED, r.output
    monkeypatch.setattr(generate_cli, "submit_job", real_submit)
    listed = json.loads(cli.invoke(app, ["jobs", "list", "--json"]).stdout)["data"]
    assert [(j["status"], j["billing"]) for j in listed] == [("cancelled", "released")], listed
    assert not out.exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_an_ignored_ctrl_c_stays_ignored_while_the_job_is_stored() -> None:
    """A generate started with SIGINT ignored (nohup, a shell's background job) must not
    start to take Ctrl-C inside the submit window: it would cancel the job the user meant to
    keep running, and the handler put back afterwards must still be SIG_IGN."""
    import os
    import signal

    from reelforge.cli.generate import _interrupt_held

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _interrupt_held() as held:
            os.kill(os.getpid(), signal.SIGINT)  # as the terminal's Ctrl-C reaches the group
        assert not held.pending  # before: held, and the job cancelled
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
