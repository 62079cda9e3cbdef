"""/studio/commerce over HTTP (TestClient) with a real worker: the form (every control
labelled), "Check" shows the per-row errors and stores nothing, "Start" writes the batch with
the attached images as the account's uploads and opens its grid, status.json follows the
clips to done, the zip holds the clips and the manifest; another account gets 404 on every
route of the batch; CSRF on the form; a signed-out visitor is sent to sign in."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.backends.motion import MotionBackend
from reelforge.commerce import batch as batches
from reelforge.media.images import sample_image_path
from reelforge.storage.tables import Upload
from reelforge.worker.loop import Worker
from tests.conftest import make_settings
from tests.helpers import wait_for
from tests.web.conftest import Browser, csrf_of

CUP = sample_image_path().read_bytes()
CATALOG = (
    "sku,title,description,price,currency,images\n"
    "CUP-1,Espresso cup,Porcelain,9.99,USD,cup.jpg\n"
    "CUP-2,Mug,,nine,USD,cup.jpg\n"
    "CUP-3,Saucer,,4.50,USD,missing.jpg\n"
    "CUP-4,Broken,,4.50,USD,broken.jpg\n"
    "CUP-1,Again,,1,USD,cup.jpg\n"
)
ERRORS = {
    ("CUP-2", "invalid_price"),
    ("CUP-3", "image_not_found"),
    ("CUP-4", "invalid_image"),
    ("CUP-1", "duplicate_sku"),
}


@pytest.fixture
def motion_platform(tmp_path: Path) -> Iterator[Platform]:
    p = bootstrap(make_settings(tmp_path, worker_queues=["motion"]), backends=[MotionBackend()])
    yield p
    p.close()


@pytest.fixture
def client(motion_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(motion_platform), base_url="http://testserver") as c:
        yield c


def _browser(client: TestClient, email: str) -> Browser:
    b = Browser(TestClient(client.app, base_url="http://testserver"))
    assert b.sign_up(email).status_code == 200
    return b


def _post(b: Browser, action: str, extra: bytes = b"", **fields: Any) -> Any:
    token = csrf_of(b.get("/studio/commerce").text)
    data: dict[str, Any] = {
        "template": "showcase",
        "aspects": ["9:16", "16:9"],
        "resolution": "480p",
        "length": "short",
        "action": action,
        "csrf_token": token,
        **fields,
    }
    files = [
        ("catalog", ("spring.csv", CATALOG.encode(), "text/csv")),
        ("images", ("cup.jpg", CUP, "image/jpeg")),
        ("images", ("broken.jpg", b"\xff\xd8\xff not a jpeg", "image/jpeg")),
    ]
    if extra:
        files.append(("images", ("unused.jpg", extra, "image/jpeg")))
    return b.client.post("/studio/commerce", data=data, files=files, follow_redirects=False)


def _row_errors(html: str) -> set[tuple[str, str]]:
    body = re.search(r'<table id="row-errors">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, html[-2000:]
    rows = re.findall(
        r"<tr><td>\d+</td><td>([^<]*)</td><td>[^<]*</td><td><code>([^<]+)</code>", body.group(1)
    )
    return set(rows)


def test_the_form_and_its_labels(client: TestClient) -> None:
    r = client.get("/studio/commerce", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    b = _browser(client, "shop@example.com")
    html = b.get("/studio/commerce").text
    for control in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html):
        assert f'for="{control}"' in html, control
    for value in ("showcase", "sale", "sequence", "9:16", "1:1", "16:9"):
        assert f'value="{value}"' in html
    # no file, no batch: the field says so
    token = csrf_of(html)
    r = b.client.post("/studio/commerce", data={"csrf_token": token, "aspects": "1:1"})
    assert r.status_code == 422 and 'id="catalog-error"' in r.text
    # CSRF
    r = b.client.post("/studio/commerce", data={"aspects": "1:1"})
    assert r.status_code == 403 and "expired" in r.text


def test_the_forms_body_limits(motion_platform: Platform) -> None:
    from reelforge.api.limits import limit_for
    from reelforge.commerce.catalog import MAX_CATALOG_BYTES
    from reelforge.web import commerce
    from reelforge.web.console import planner

    limit = limit_for(motion_platform.settings)
    images = commerce.IMAGES_BYTES_IN_UPLOADS * motion_platform.settings.max_upload_bytes
    assert limit("POST", "/studio/commerce") >= MAX_CATALOG_BYTES + images
    assert limit("POST", "/console/planner") >= planner.MAX_CSV_BYTES + 4 * planner.MAX_FLEET_CHARS


def test_check_shows_row_errors_and_stores_nothing(
    client: TestClient, motion_platform: Platform
) -> None:
    b = _browser(client, "shop@example.com")
    r = _post(b, "check", extra=b"\0" * 3 * 2**20)  # past the JSON routes' 1 MiB
    assert r.status_code == 200, r.text[-2000:]
    assert _row_errors(r.text) == ERRORS
    assert "1 of 5 products can be used. Clips to make: 2." in r.text
    assert _uploads(motion_platform, "shop@example.com") == 0
    assert batches.list_batches(motion_platform, _ref(motion_platform, "shop@example.com")) == []
    # a Shopify-style products.json names its images the same way
    products = {
        "products": [
            {
                "title": "Espresso cup",
                "body_html": "<p>Porcelain</p>",
                "handle": "espresso-cup",
                "images": [{"src": "photos/cup.jpg"}],
                "variants": [
                    {"sku": "CUP-W", "price": "9.99", "title": "White"},
                    {"sku": "CUP-B", "price": "oops", "title": "Black"},
                ],
            }
        ]
    }
    token = csrf_of(b.get("/studio/commerce").text)
    r = b.client.post(
        "/studio/commerce",
        data={"csrf_token": token, "action": "check", "template": "sale", "aspects": ["1:1"]},
        files=[
            ("catalog", ("products.json", json.dumps(products).encode(), "application/json")),
            ("images", ("cup.jpg", CUP, "image/jpeg")),
        ],
    )
    assert r.status_code == 200, r.text[-2000:]
    assert "1 of 2 products can be used. Clips to make: 1." in r.text
    assert _row_errors(r.text) == {("CUP-B", "invalid_price")}
    r = _post(b, "check", aspects=[])
    assert r.status_code == 422 and 'id="aspects-error"' in r.text
    r = _post(b, "check", template="nope")
    assert r.status_code == 422 and 'id="template-error"' in r.text


def _ref(p: Platform, email: str) -> Any:
    from reelforge.services.accounts import signin

    session = signin.sign_in(p, email, "correct horse battery")
    return session.user.account


def _uploads(p: Platform, email: str) -> int:
    account = _ref(p, email)
    with p.db.session(write=False) as s:
        return int(
            s.scalar(
                select(func.count()).select_from(Upload).where(Upload.account_id == account.id)
            )
            or 0
        )


@pytest.mark.slow
def test_a_batch_runs_to_its_zip_and_stays_the_accounts_own(
    client: TestClient, motion_platform: Platform
) -> None:
    b = _browser(client, "shop@example.com")
    r = _post(b, "start")
    assert r.status_code == 303, r.text[-2000:]
    page = r.headers["location"]
    batch_id = page.rsplit("/", 1)[-1]
    html = b.get(page).text
    assert _row_errors(html) == ERRORS
    assert f'data-src="/studio/commerce/{batch_id}/status.json"' in html
    assert '<script src="/static/web/commerce.js" defer></script>' in html
    assert html.count('class="cell ') == 2  # one product x two aspects
    # the attached image is the account's upload, stored once
    assert _uploads(motion_platform, "shop@example.com") == 1

    other = _browser(client, "rival@example.com")
    for path in ("", "/status.json", "/batch.zip", "/manifest.csv"):
        assert other.client.get(page + path).status_code == 404, path
    assert other.client.get("/studio/commerce/cb_nothing").status_code == 404

    worker = Worker(motion_platform, queues=["motion"], concurrency=1).start()
    try:
        view = wait_for(
            lambda: (v := b.client.get(page + "/status.json").json())["status"] == "done" and v,
            timeout=120,
            interval=0.2,
        )
    finally:
        worker.stop(hand_back=True, timeout=10)
    assert view["counts"]["succeeded"] == 2 and view["progress"] == 1.0, view
    (product,) = view["products"]
    assert product["sku"] == "CUP-1"
    assert {product[a]["status"] for a in ("9:16", "16:9")} == {"succeeded"}
    assert product["9:16"]["label"] == "Done"

    z = b.client.get(page + "/batch.zip")
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.content)) as archive:
        assert set(archive.namelist()) == {"manifest.csv", "9x16/CUP-1.mp4", "16x9/CUP-1.mp4"}
        assert archive.read("9x16/CUP-1.mp4")[4:8] == b"ftyp"
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert [(r["sku"], r["aspect"], r["status"]) for r in rows] == [
        ("CUP-1", "9:16", "succeeded"),
        ("CUP-1", "16:9", "succeeded"),
    ]
    manifest = b.client.get(page + "/manifest.csv")
    assert manifest.text.splitlines()[0] == "sku,aspect,path,credits,cost,status,job_id,error"
    listing = b.get("/studio/commerce").text
    assert f'href="/studio/commerce/{batch_id}"' in listing
    assert batch_id not in other.get("/studio/commerce").text
    b.client.cookies.set("rf_lang", "zh")
    zh = b.client.get(page)
    assert "2 个视频中已完成 2 个\uff0c失败 0 个。" in zh.text and "无法使用的行" in zh.text
    zh = _post(b, "check")
    assert zh.status_code == 200 and "5 件商品中有 1 件可用。需生成视频\uff1a2 个。" in zh.text
