"""The studio's commerce batch page in a real browser, with the served app's own worker: a
merchant checks a 2-product CSV with its images (a bad row shown with its error), starts the
batch, watches the product-by-aspect grid reach done (static/commerce.js polling, no inline
script), and downloads the zip holding both products' clips and the manifest."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.studio_server import photo, sign_up, watch_problems
from tests.browser.studio_server import studio_server as studio_server  # the fixture
from tests.browser.test_accessibility import run_axe

CATALOG = (
    "sku,title,description,price,currency,images\n"
    "MUG-1,Stoneware mug,Glazed by hand,14.00,EUR,mug.jpg\n"
    "TEA-2,Cast iron teapot,,39.50,EUR,teapot.jpg\n"
    "BAD-3,No price,,,EUR,mug.jpg\n"
)


def test_a_catalogue_batch_runs_to_its_zip(
    page: Page, studio_server: Callable[..., str], tmp_path: Path
) -> None:
    url = studio_server()
    problems = watch_problems(page)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_up(page, url, "merchant@example.com")
    catalog = tmp_path / "spring.csv"
    catalog.write_text(CATALOG, encoding="utf-8")
    images = [photo(tmp_path / "mug.jpg"), photo(tmp_path / "teapot.jpg")]

    def fill() -> None:
        page.get_by_label("Catalogue (CSV or products JSON)").set_input_files(catalog)
        page.get_by_label("Product images (JPEG, PNG or WebP)").set_input_files(images)
        page.get_by_label("Showcase", exact=False).check()
        page.get_by_label("16:9 landscape (video sites)").uncheck()
        page.get_by_label("Resolution").select_option("480p")
        page.get_by_label("Length").select_option("short")

    page.get_by_role("link", name="Promo clips").click()
    expect(page).to_have_url(url + "/studio/commerce")
    fill()
    page.get_by_role("button", name="Check the catalogue").click()
    expect(page.get_by_text("2 of 3 products can be used. Clips to make: 4.")).to_be_visible()
    expect(page.locator("#row-errors")).to_contain_text("missing_field")
    violations = [f"{v['id']}: {v['help']} {v['nodes']}" for v in run_axe(page)]
    assert not violations, violations
    fill()
    page.get_by_role("button", name="Start the batch").click()
    expect(page).to_have_url(re.compile(r"/studio/commerce/cb_[0-9a-f]+$"))
    grid = page.locator("#batch-grid")
    expect(grid.locator("td.cell")).to_have_count(4)
    expect(page.locator("#row-errors")).to_contain_text("BAD-3")
    expect(grid).to_have_attribute("data-status", "done", timeout=30_000)
    expect(grid.locator("td.succeeded")).to_have_count(4)
    expect(page.locator("#batch-status")).to_have_text("Finished")
    expect(page.locator("#batch-counts")).to_have_text("4 of 4 clips done, 0 failed.")
    violations = [f"{v['id']}: {v['help']} {v['nodes']}" for v in run_axe(page)]
    assert not violations, violations
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the zip (clips and manifest)").click()
    saved = tmp_path / "batch.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        names = set(archive.namelist())
        assert names == {
            "manifest.csv",
            "9x16/MUG-1.mp4",
            "1x1/MUG-1.mp4",
            "9x16/TEA-2.mp4",
            "1x1/TEA-2.mp4",
        }
        assert all(archive.read(n)[4:8] == b"ftyp" for n in names if n.endswith(".mp4"))
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert sorted((r["sku"], r["aspect"], r["status"]) for r in rows) == [
        ("MUG-1", "1:1", "succeeded"),
        ("MUG-1", "9:16", "succeeded"),
        ("TEA-2", "1:1", "succeeded"),
        ("TEA-2", "9:16", "succeeded"),
    ]
    assert not problems, problems
