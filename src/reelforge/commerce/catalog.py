"""Catalogue import: CSV or Shopify-style products JSON → validated products, per-row errors.

CSV columns (header row, any order, case-insensitive): sku, title, description, price,
currency, compare_at_price, images (several separated by `|`), image / image_1..image_8,
url. JSON: `{"products": [...]}` as Shopify's products.json (title, body_html, handle,
variants[].sku/price/compare_at_price, images[].src; one product per variant SKU), or a
plain list of objects with the CSV's keys. Every row is checked on its own: a bad row becomes
a `RowError` (row number, SKU, field, code, message) and the others go on. The first row of
a SKU wins; later ones are `duplicate_sku` errors. Images are references (a path, a file
attached to the request, or an https URL); `check_image` decides whether one is usable.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from reelforge.errors import InvalidRequest, ReelforgeError

MAX_CATALOG_BYTES = 32 * 1024 * 1024
MAX_ROWS = 10_000
MAX_IMAGES = 8
MAX_SKU = 64
MAX_TITLE = 300
MAX_DESCRIPTION = 2000
MAX_PRICE = Decimal("100000000")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TAGS = re.compile(r"<[^>]{0,2000}>")
_SKU = re.compile(r"^[^\s/\\]{1,64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    description: str
    price: Decimal
    currency: str
    images: tuple[str, ...]
    url: str | None = None
    compare_at_price: Decimal | None = None
    row: int = 0


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (CSV: the header is row 0); JSON: the product's index + 1
    sku: str | None
    field: str
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Catalog:
    products: list[Product] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0


class _RowInvalid(Exception):
    def __init__(self, field: str, code: str, message: str):
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


ImageCheck = Callable[[str], None]  # raises ReelforgeError when a reference is not usable


def read_catalog(
    data: bytes,
    name: str = "catalog.csv",
    *,
    check_image: ImageCheck | None = None,
    default_currency: str = "USD",
) -> Catalog:
    """Parse and validate a whole catalogue. A file that cannot be read at all (too large,
    not UTF-8, not CSV/JSON, more than MAX_ROWS rows) raises InvalidRequest; everything
    else is reported per row."""
    if len(data) > MAX_CATALOG_BYTES:
        raise InvalidRequest(
            f"the catalogue is {len(data)} bytes; the limit is {MAX_CATALOG_BYTES}",
            code="catalog_too_large",
            field="catalog",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"the catalogue is not UTF-8 text (byte {exc.start})",
            code="invalid_catalog",
            field="catalog",
        ) from None
    stripped = text.lstrip()
    is_json = name.lower().endswith(".json") or stripped.startswith(("{", "["))
    rows = list(_json_rows(text) if is_json else _csv_rows(text))
    if len(rows) > MAX_ROWS:
        raise InvalidRequest(
            f"the catalogue has {len(rows)} products; at most {MAX_ROWS} per batch",
            code="catalog_too_large",
            field="catalog",
        )
    catalog = Catalog(rows=len(rows))
    seen: dict[str, int] = {}
    checked: dict[str, ReelforgeError | None] = {}
    for number, raw in rows:
        sku = str(raw.get("sku") or "").strip() or None
        try:
            product = _product(number, raw, default_currency)
            if product.sku in seen:
                raise _RowInvalid(
                    "sku",
                    "duplicate_sku",
                    f"SKU {product.sku!r} is already on row {seen[product.sku]}; the first wins",
                )
            for ref in product.images:
                if check_image is None:
                    break
                if ref not in checked:
                    try:
                        check_image(ref)
                        checked[ref] = None
                    except ReelforgeError as exc:
                        checked[ref] = exc
                problem = checked[ref]
                if problem is not None:
                    raise _RowInvalid("images", problem.code, f"image {ref!r}: {problem}")
        except _RowInvalid as bad:
            catalog.errors.append(
                RowError(number, sku and sku[:MAX_SKU], bad.field, bad.code, bad.message)
            )
            continue
        seen[product.sku] = number
        catalog.products.append(product)
    return catalog


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text.replace("\x00", "\ufffd"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InvalidRequest(
            f"the CSV header cannot be read: {exc}", code="invalid_catalog"
        ) from None
    keys = [h.strip().lower() for h in header]
    if "sku" not in keys:
        raise InvalidRequest(
            "the CSV has no `sku` column (columns: sku, title, description, price, currency, "
            "compare_at_price, images, url)",
            code="invalid_catalog",
            field="catalog",
        )
    number = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield number, {"__error__": str(exc)}
            continue
        number += 1
        if not any(v.strip() for v in values):
            number -= 1  # blank lines are not rows
            continue
        row: dict[str, Any] = {}
        images: list[str] = []
        for key, value in zip(keys, values, strict=False):
            if key == "images":
                images += [v.strip() for v in value.split("|") if v.strip()]
            elif key == "image" or re.fullmatch(r"image_\d+", key):
                if value.strip():
                    images.append(value.strip())
            else:
                row[key] = value
        row["images"] = images
        yield number, row


def _json_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidRequest(
            f"the catalogue is not valid JSON: {exc}", code="invalid_catalog"
        ) from None
    items = doc.get("products") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InvalidRequest(
            'a JSON catalogue is {"products": [...]} (Shopify products.json) or a list',
            code="invalid_catalog",
            field="catalog",
        )
    number = 0
    for item in items:
        if not isinstance(item, dict):
            number += 1
            yield number, {"__error__": "not an object"}
            continue
        variants = item.get("variants")
        images = [str(i.get("src") if isinstance(i, dict) else i) for i in item.get("images") or []]
        if isinstance(item.get("image"), dict) and not images:
            images = [str(item["image"].get("src"))]
        description = item.get("description")
        if description is None and isinstance(item.get("body_html"), str):
            description = html.unescape(_TAGS.sub(" ", item["body_html"]))
        url = item.get("url") or (f"/products/{item['handle']}" if item.get("handle") else None)
        base = {
            "title": item.get("title"),
            "description": description or "",
            "currency": item.get("currency"),
            "url": url,
            "images": images,
        }
        if isinstance(variants, list) and variants:
            for variant in variants:
                number += 1
                if not isinstance(variant, dict):
                    yield number, {"__error__": "a variant is not an object"}
                    continue
                title = base["title"]
                extra = variant.get("title")
                if isinstance(title, str) and isinstance(extra, str) and extra != "Default Title":
                    title = f"{title} - {extra}"
                yield (
                    number,
                    {
                        **base,
                        "title": title,
                        "sku": variant.get("sku"),
                        "price": variant.get("price"),
                        "compare_at_price": variant.get("compare_at_price"),
                    },
                )
        else:
            number += 1
            yield number, {**base, **{k: item.get(k) for k in ("sku", "price", "compare_at_price")}}


def _text(raw: dict[str, Any], key: str, limit: int, *, required: bool) -> str:
    value = raw.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str | int | float):
        raise _RowInvalid(key, "invalid_value", f"{key} must be text")
    value = " ".join(str(value).split())
    if _CONTROL.search(value):
        raise _RowInvalid(key, "control_characters", f"{key} contains control characters")
    if required and not value:
        raise _RowInvalid(key, "missing_field", f"{key} is missing")
    if len(value) > limit:
        raise _RowInvalid(key, "too_long", f"{key} is {len(value)} characters; at most {limit}")
    return value


def _price(raw: dict[str, Any], key: str, *, required: bool) -> Decimal | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _RowInvalid(key, "missing_field", f"{key} is missing")
        return None
    text = str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        hint = " (use a dot for decimals: 12.99)" if re.fullmatch(r"\d+,\d{1,2}", text) else ""
        raise _RowInvalid(
            key, "invalid_price", f"{key} {text[:40]!r} is not a number{hint}"
        ) from None
    if isinstance(value, bool) or not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        raise _RowInvalid(key, "invalid_price", f"{key} {text[:40]!r} is not a price")
    return amount


def _product(number: int, raw: dict[str, Any], default_currency: str) -> Product:
    if "__error__" in raw:
        raise _RowInvalid("row", "invalid_row", f"row cannot be read: {raw['__error__']}")
    sku = _text(raw, "sku", MAX_SKU, required=True)
    if not _SKU.fullmatch(sku):
        raise _RowInvalid("sku", "invalid_sku", "a SKU has no spaces or slashes")
    title = _text(raw, "title", MAX_TITLE, required=True)
    description = _text(raw, "description", MAX_DESCRIPTION, required=False)
    price = _price(raw, "price", required=True)
    assert price is not None
    compare_at = _price(raw, "compare_at_price", required=False)
    currency = (_text(raw, "currency", 16, required=False) or default_currency).upper()
    if not _CURRENCY.fullmatch(currency):
        raise _RowInvalid("currency", "invalid_currency", f"currency {currency!r} is not ISO 4217")
    images = raw.get("images") or []
    if not isinstance(images, list) or not images:
        raise _RowInvalid("images", "missing_image", "the product has no image")
    refs = []
    for ref in images[:MAX_IMAGES]:
        ref = str(ref).strip()
        if not ref or _CONTROL.search(ref) or len(ref) > 2048:
            raise _RowInvalid("images", "invalid_image_ref", "an image reference is empty or bad")
        refs.append(ref)
    url = _text(raw, "url", 2048, required=False) or None
    return Product(
        sku=sku,
        title=title,
        description=description,
        price=price,
        currency=currency,
        images=tuple(refs),
        url=url,
        compare_at_price=compare_at,
        row=number,
    )
