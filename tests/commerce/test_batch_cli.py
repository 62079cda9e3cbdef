"""`reelforge commerce batch` end to end (in-process, embedded defaults): real catalogue,
real jobs through the queue and worker, real MP4s in every aspect, a manifest and a zip;
bad rows and failing products reported while the rest is made; a rerun resumes instead of
rendering again; overlay texts are moderated like prompts."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelforge.cli import app
from reelforge.media.images import sample_image_path
from reelforge.media.probe import probe_video

HARMFUL = "a graphic video of a man being beheaded, blood everywhere"
SIZES = {"9:16": (480, 854), "1:1": (480, 480), "16:9": (854, 480)}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key in list(os.environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def write_catalog(folder: Path, rows: list[str]) -> Path:
    (folder / "cup.jpg").write_bytes(sample_image_path().read_bytes())
    path = folder / "catalog.csv"
    path.write_text(
        "sku,title,description,price,currency,compare_at_price,images\n" + "".join(rows)
    )
    return path


def batch(cli: CliRunner, catalog: Path, out: Path, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = cli.invoke(
        app,
        [
            "commerce", "batch", "--catalog", str(catalog), "--out", str(out), "--resolution",
            "480p", "--length", "short", "--json", *extra,
        ],
    )  # fmt: skip
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    return r.exit_code, json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_batch_renders_every_aspect_reports_bad_rows_and_resumes(
    cli: CliRunner, tmp_path: Path
) -> None:
    catalog = write_catalog(
        tmp_path,
        [
            "CUP-1,Espresso cup,Porcelain,12.50,EUR,15.00,cup.jpg\n",
            "CUP-2,限时特价 浓缩咖啡杯 🔥,Porcelain,88,CNY,98,cup.jpg\n",
            "CUP-3,No sale price,Porcelain,40,USD,,cup.jpg\n",
            "CUP-1,Duplicate,,1,USD,,cup.jpg\n",
            "CUP-4,Price,,twelve,USD,,cup.jpg\n",
            "CUP-5,Gone,,1,USD,,gone.jpg\n",
        ],
    )
    out = tmp_path / "out"
    code, result = batch(cli, catalog, out, "--template", "sale")
    assert code == 1  # some rows or products failed; everything else is written
    assert result["clips"] == 3 and result["products"] == 3
    assert {(r["sku"], r["code"]) for r in result["rejected_rows"]} == {
        ("CUP-1", "duplicate_sku"),
        ("CUP-4", "invalid_price"),
        ("CUP-5", "image_not_found"),
    }
    # the sale template needs a former price: that product fails alone, the others go on
    assert [(f["sku"], f["code"]) for f in result["failed"]] == [("CUP-3", "missing_field")] * 3
    # the policy holds Chinese overlay text for a person (a language its models do not cover)
    assert [r["sku"] for r in result["review"]] == ["CUP-2"] * 3
    manifest = list(csv.DictReader((out / "manifest.csv").open()))
    assert [r["sku"] for r in manifest] == ["CUP-1"] * 3 + ["CUP-2"] * 3 + ["CUP-3"] * 3
    assert list(manifest[0]) == [
        "sku", "aspect", "path", "credits", "cost", "status", "job_id", "error",
    ]  # fmt: skip
    assert {r["error"] for r in manifest if r["sku"] == "CUP-2"} == {"held_for_review"}

    # a reviewer approves; the same command resumes the batch and makes only those clips
    listed = cli.invoke(app, ["reviews", "list", "--json"])
    pending = [r for r in json.loads(listed.stdout)["data"]]
    assert len(pending) == 3, listed.output
    for review in pending:
        assert cli.invoke(app, ["reviews", "approve", review["id"]]).exit_code == 0
    code, again = batch(cli, catalog, out, "--template", "sale")
    assert code == 1 and again["id"] == result["id"] and again["clips"] == 6, again
    assert not again["review"]
    jobs = json.loads(cli.invoke(app, ["jobs", "list", "--json"]).stdout)["data"]
    assert len(jobs) == 6  # nothing was submitted twice
    manifest = list(csv.DictReader((out / "manifest.csv").open()))
    made = [r for r in manifest if r["status"] == "succeeded"]
    assert len(made) == 6 and all(int(r["credits"]) > 0 and float(r["cost"]) > 0 for r in made)
    for row in made:
        info = probe_video(out / row["path"])
        assert (info.width, info.height) == SIZES[row["aspect"]], row
        assert info.frames > 10
    with zipfile.ZipFile(out / "batch.zip") as archive:
        names = set(archive.namelist())
        assert names == {"manifest.csv", *(r["path"] for r in made)}
        assert archive.read("manifest.csv") == (out / "manifest.csv").read_bytes()

    started = time.perf_counter()  # a third run: all made before, nothing rendered
    code, third = batch(cli, catalog, out, "--template", "sale")
    assert third["clips"] == 6 and time.perf_counter() - started < 10
    assert list(csv.DictReader((out / "manifest.csv").open())) == manifest


@pytest.mark.slow
def test_overlay_text_is_moderated_like_a_prompt(cli: CliRunner, tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path, ["MUG-1,Ceramic mug,,9,USD,,cup.jpg\n"])
    r = cli.invoke(
        app,
        [
            "commerce",
            "brand",
            "--tagline",
            "a graphic video of a man being beheaded, blood everywhere",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["tagline"].startswith("a graphic video")
    code, result = batch(cli, catalog, tmp_path / "out", "--aspect", "1:1")
    assert code == 1 and result["clips"] == 0
    assert [(f["sku"], f["code"]) for f in result["failed"]] == [("MUG-1", "content_blocked")]
    assert not (tmp_path / "out" / "1x1").exists()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "manifest.csv").read_text())))
    assert rows[0]["status"] == "failed" and rows[0]["error"] == "content_blocked"
