"""Catalogue import as a merchant meets it: bad rows are reported one by one (row, SKU, field,
code) while the good rows go on; duplicates keep the first row; prices must be numbers;
missing and broken images are caught at import; a 10,000-row file is handled and a larger
one refused with a clear error; Shopify's products.json imports one product per variant."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from reelforge.commerce.catalog import MAX_ROWS, read_catalog
from reelforge.errors import InvalidImage, InvalidRequest, NotFound
from reelforge.media.images import inspect_image, sample_image_path


def _check_in(folder: Path):  # type: ignore[no-untyped-def]
    def check(ref: str) -> None:
        path = folder / ref
        if not path.exists():
            raise NotFound(f"no image file {ref}", code="image_not_found")
        inspect_image(path.read_bytes())

    return check


def test_bad_rows_are_reported_and_good_rows_kept(tmp_path: Path) -> None:
    (tmp_path / "cup.jpg").write_bytes(sample_image_path().read_bytes())
    (tmp_path / "broken.jpg").write_bytes(sample_image_path().read_bytes()[:300])
    csv_text = (
        "SKU,Title,Description,Price,Currency,Images,URL\n"
        "A1,Cup,Porcelain,12.50,eur,cup.jpg,https://shop.example/a1\n"
        'A2,Mug,,"12,99",EUR,cup.jpg,\n'
        "A3,Plate,,free,EUR,cup.jpg,\n"
        "A1,Second cup,,3,EUR,cup.jpg,\n"
        "A4,Bowl,,-1,EUR,cup.jpg,\n"
        "A5,Saucer,,4,EUR,nothere.jpg,\n"
        "A6,Spoon,,4,EUR,broken.jpg,\n"
        "A7,,,4,EUR,cup.jpg,\n"
        "A8,Jug,,4,EURO,cup.jpg,\n"
        "A9,Tray,,4,EUR,,\n"
        "has space,Tray,,4,EUR,cup.jpg,\n"
        "B1,Teapot\x01,,4,EUR,cup.jpg,\n"
        "B2,Teapot,,NaN,EUR,cup.jpg,\n"
        "\n"
        "B3,Kettle,Steel,19,USD,cup.jpg|cup.jpg,\n"
    )
    catalog = read_catalog(csv_text.encode(), "c.csv", check_image=_check_in(tmp_path))
    assert [p.sku for p in catalog.products] == ["A1", "B3"]
    assert catalog.products[0].price == Decimal("12.50") and catalog.products[0].currency == "EUR"
    assert catalog.products[1].images == ("cup.jpg", "cup.jpg")
    got = {(e.row, e.sku, e.field, e.code) for e in catalog.errors}
    assert got == {
        (2, "A2", "price", "invalid_price"),
        (3, "A3", "price", "invalid_price"),
        (4, "A1", "sku", "duplicate_sku"),
        (5, "A4", "price", "invalid_price"),
        (6, "A5", "images", "image_not_found"),
        (7, "A6", "images", "invalid_image"),
        (8, "A7", "title", "missing_field"),
        (9, "A8", "currency", "invalid_currency"),
        (10, "A9", "images", "missing_image"),
        (11, "has space", "sku", "invalid_sku"),
        (12, "B1", "title", "control_characters"),
        (13, "B2", "price", "invalid_price"),
    }
    messages = {e.sku: e.message for e in catalog.errors}
    assert "use a dot" in messages["A2"] and "already on row 1" in messages["A1"]
    assert catalog.rows == 14


def test_ten_thousand_rows_import_and_more_are_refused() -> None:
    rows = "".join(f"S{i},Product {i},,{i % 100}.99,USD,cup.jpg,\n" for i in range(MAX_ROWS))
    header = "sku,title,description,price,currency,images,url\n"
    checked: list[str] = []
    started = time.perf_counter()
    catalog = read_catalog((header + rows).encode(), check_image=checked.append)
    elapsed = time.perf_counter() - started
    assert len(catalog.products) == MAX_ROWS and not catalog.errors
    assert checked == ["cup.jpg"]  # each image is checked once, however many rows use it
    assert elapsed < 10, elapsed
    with pytest.raises(InvalidRequest) as refused:
        read_catalog((header + rows + "X,x,,1,USD,cup.jpg,\n").encode())
    assert refused.value.code == "catalog_too_large"


def test_shopify_products_json_one_product_per_variant() -> None:
    doc = {
        "products": [
            {
                "title": "Linen shirt",
                "body_html": "<p>Breathable <b>linen</b> &amp; cotton</p>",
                "handle": "linen-shirt",
                "images": [{"src": "https://cdn.example/shirt.jpg"}],
                "variants": [
                    {"sku": "SH-S", "title": "S", "price": "39.00", "compare_at_price": "49.00"},
                    {"sku": "SH-M", "title": "M", "price": "39.00", "compare_at_price": None},
                    {"sku": "SH-S", "title": "S again", "price": "39.00"},
                    {"sku": "", "title": "L", "price": "39.00"},
                ],
            },
            "not a product",
        ]
    }
    catalog = read_catalog(json.dumps(doc).encode(), "products.json", default_currency="EUR")
    assert [(p.sku, p.title) for p in catalog.products] == [
        ("SH-S", "Linen shirt - S"),
        ("SH-M", "Linen shirt - M"),
    ]
    first = catalog.products[0]
    assert first.description == "Breathable linen & cotton"
    assert first.compare_at_price == Decimal("49.00") and first.currency == "EUR"
    assert first.url == "/products/linen-shirt" and first.images == (
        "https://cdn.example/shirt.jpg",
    )
    assert [(e.row, e.code) for e in catalog.errors] == [
        (3, "duplicate_sku"),
        (4, "missing_field"),
        (5, "invalid_row"),
    ]


def test_unreadable_files_are_one_clear_error() -> None:
    for data, name in (
        (b"\xff\xfe\x00bad", "c.csv"),
        (b"{not json", "c.json"),
        (b"a,b\n1,2\n", "c.csv"),
    ):
        with pytest.raises(InvalidRequest) as bad:
            read_catalog(data, name)
        assert bad.value.code == "invalid_catalog", data
    with pytest.raises(InvalidImage):
        inspect_image(b"not an image")
