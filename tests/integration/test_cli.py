"""The `reelforge` command, run in-process with the embedded defaults in a temp data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelforge.cli import app, sample_image
from reelforge.media.probe import probe_video


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key in list(__import__("os").environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def test_generate_json_and_decodable_output(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    r = cli.invoke(
        app,
        [
            "generate",
            "--image",
            str(sample_image()),
            "--prompt",
            "zoom",
            "--camera",
            "zoom_in",
            "--duration",
            "2",
            "--aspect",
            "1:1",
            "--resolution",
            "480p",
            "--seed",
            "1",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["status"] == "succeeded" and result["output_path"] == str(out.resolve())
    assert (result["frames"], result["width"], result["height"]) == (48, 480, 480)
    assert {"render", "encode", "total"} <= set(result["timings"])
    info = probe_video(out)
    assert (info.frames, info.width, info.height) == (48, 480, 480)

    listed = json.loads(cli.invoke(app, ["jobs", "list", "--json"]).stdout)
    assert [j["id"] for j in listed["data"]] == [result["id"]]
    shown = json.loads(cli.invoke(app, ["jobs", "show", result["id"], "--json"]).stdout)
    assert shown["status"] == "succeeded" and shown["seed"] == 1
    r = cli.invoke(app, ["jobs", "cancel", result["id"]])
    assert r.exit_code == 2 and "job_finished" in r.output


@pytest.mark.slow
def test_demo_prints_the_path_of_a_real_clip(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo.mp4"
    r = cli.invoke(app, ["demo", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert str(out.resolve()) in r.stdout
    assert probe_video(out).frames == 4 * 24


def test_text_only_request_explains_how_to_add_a_model(cli: CliRunner, tmp_path: Path) -> None:
    r = cli.invoke(app, ["generate", "--prompt", "a cat surfing", "--out", str(tmp_path / "x.mp4")])
    assert r.exit_code == 2
    assert "no_text2video_model" in r.output and "reelforge models add" in r.output
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--duration", "0"], "invalid_request"),
        (["--duration", "1000"], "invalid_request"),
        (["--prompt", "x" * 2501], "invalid_request"),
    ],
)
def test_bad_arguments_fail_before_anything_is_stored(
    cli: CliRunner, tmp_path: Path, args: list[str], code: str
) -> None:
    r = cli.invoke(
        app, ["generate", "--image", str(sample_image()), "--out", str(tmp_path / "x.mp4"), *args]
    )
    assert r.exit_code == 2 and code in r.output
    assert not (tmp_path / "data" / "blobs").exists() or not any(
        p.is_file() for p in (tmp_path / "data" / "blobs").rglob("*")
    )


def test_not_an_image(cli: CliRunner, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("hello")
    r = cli.invoke(app, ["generate", "--image", str(bogus), "--out", str(tmp_path / "x.mp4")])
    assert r.exit_code == 2 and "invalid_image" in r.output
    r = cli.invoke(
        app,
        ["generate", "--image", str(tmp_path / "missing.png"), "--out", str(tmp_path / "x.mp4")],
    )
    assert r.exit_code == 2 and "cannot read" in r.output


def test_keys_create_prints_a_working_key(cli: CliRunner) -> None:
    from reelforge.app.bootstrap import bootstrap
    from reelforge.config import Settings
    from reelforge.services.accounts import accounts

    r = cli.invoke(app, ["keys", "create", "--account", "acme", "--json"])
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    assert made["key"].startswith("rf_") and made["webhook_secret"].startswith("whsec_")
    p = bootstrap(Settings())
    try:
        assert accounts.authenticate(p, made["key"]).name == "acme"
    finally:
        p.close()
    r = cli.invoke(app, ["keys", "revoke", made["key_id"]])
    assert r.exit_code == 0
