"""Done when (issue 18): a 50-product catalogue renders in all three aspects end to end —
`reelforge commerce batch` with the smallest presets (480p, length short), two in-process
workers: 150 real MP4s of the right sizes, a manifest row and a zip entry for each (117 s
for the batch, 125 s for the test, on 2 shared cores)."""

from __future__ import annotations

import csv
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from bench.commerce_batch import make_catalog
from typer.testing import CliRunner

from reelforge.cli import app
from reelforge.media.probe import probe_video

SIZES = {"9:16": (480, 854), "1:1": (480, 480), "16:9": (854, 480)}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_fifty_products_in_three_aspects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    catalog = make_catalog(tmp_path, 50)
    out = tmp_path / "out"
    started = time.perf_counter()
    r = CliRunner().invoke(
        app,
        [
            "commerce", "batch", "--catalog", str(catalog), "--template", "showcase",
            "--aspect", "9:16,1:1,16:9", "--resolution", "480p", "--length", "short",
            "--workers", "2", "--out", str(out), "--json",
        ],
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["clips"] == 150 and not result["failed"] and not result["rejected_rows"]
    manifest = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(manifest) == 150 and {r["status"] for r in manifest} == {"succeeded"}
    assert {(r["sku"], r["aspect"]) for r in manifest} == {
        (f"SKU-{i}", a) for i in range(50) for a in SIZES
    }
    for row in manifest:
        info = probe_video(out / row["path"])
        assert (info.width, info.height) == SIZES[row["aspect"]], row
    with zipfile.ZipFile(out / "batch.zip") as archive:
        assert len(archive.namelist()) == 151
    print(f"50 products x 3 aspects: {elapsed:.1f} s, {150 * 60 / elapsed:.1f} clips/min")
