"""A 10,000-row catalogue becomes one batch of 30,000 items (three aspects) in one
transaction, on both deployment shapes; its progress is read without loading the items, and
naming the batch again resumes it instead of writing a second one."""

from __future__ import annotations

import time

import pytest

from reelforge.app.platform import Platform
from reelforge.commerce import batch as batches
from reelforge.commerce.catalog import MAX_ROWS, read_catalog
from reelforge.services.accounts import accounts


@pytest.mark.slow
def test_ten_thousand_products_make_one_batch(platform: Platform) -> None:
    account = accounts.ensure_account(platform, "shop")
    rows = "".join(f"S{i},Product {i} espresso cup,{i % 50}.99,USD,upload:upl_x\n" for i in
                   range(MAX_ROWS))  # fmt: skip
    catalog = read_catalog(("sku,title,price,currency,images\n" + rows).encode())
    started = time.perf_counter()
    view = batches.create_batch(
        platform, account, catalog, batches.BatchOptions(), catalog_name="big.csv",
        batch_id="big",
    )  # fmt: skip
    created = time.perf_counter() - started
    assert view["total"] == 3 * MAX_ROWS and view["counts"]["pending"] == 3 * MAX_ROWS
    assert created < 30, created
    started = time.perf_counter()
    counts = batches.refresh(platform, account, "big", items=False)
    assert "items" not in counts and counts["status"] == "running"
    assert time.perf_counter() - started < 2
    again = batches.create_batch(
        platform, account, catalog, batches.BatchOptions(), catalog_name="big.csv",
        batch_id="big",
    )  # fmt: skip
    assert again["total"] == 3 * MAX_ROWS  # the same batch, nothing written twice
