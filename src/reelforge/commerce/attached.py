"""A batch from a catalogue and the image files sent with it (the studio's upload form).

The catalogue names its images by file name (`cup.jpg`, or a path whose last part is the
name of an attached file); `upload:<id>` and https URLs work as over the API. Each attached
image a row uses is checked as POST /v1/uploads checks it (size, type, every pixel within the
pixel limit) and stored as an upload of the account once; a missing or broken one is that
row's error. The batch is written with every image as `upload:<id>`, so anyone advancing it
later (a status read, another process) reads the same uploads. `check_only` validates and
writes nothing: the per-row errors a merchant sees before starting.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from typing import Any

from reelforge.app.platform import Platform
from reelforge.commerce import batch as batches
from reelforge.commerce.catalog import read_catalog
from reelforge.commerce.sources import api_source, checker
from reelforge.domain.account import AccountRef
from reelforge.domain.spec import Resolution
from reelforge.errors import InvalidImage, InvalidRequest, NotFound
from reelforge.media.images import inspect_image
from reelforge.services.jobs.uploads import create_upload

log = logging.getLogger(__name__)

MAX_FILES = 500  # images attached to one catalogue


@dataclass(frozen=True)
class BatchForm:
    """The studio form's choices (the fields of POST /v1/commerce/batches)."""

    template: str = "showcase"
    aspects: str = "9:16,1:1,16:9"
    resolution: str = "480p"
    length: str = "standard"

    def options(self) -> batches.BatchOptions:
        try:
            resolution = Resolution(self.resolution)
        except ValueError:
            raise InvalidRequest("resolution is 480p, 720p or 1080p", field="resolution") from None
        options = batches.BatchOptions(
            template=self.template,
            aspects=batches.parse_aspects(self.aspects) if self.aspects else (),
            resolution=resolution,
            length=self.length,
        )
        options.check()
        return options


def _name_of(ref: str) -> str:
    return ref.replace("\\", "/").rsplit("/", 1)[-1]


def start_with_files(
    p: Platform,
    account: AccountRef,
    catalog: bytes,
    catalog_name: str,
    files: dict[str, bytes],
    form: BatchForm,
    *,
    check_only: bool = False,
) -> dict[str, Any]:
    """Validate the choices, the catalogue and its images; with `check_only`, answer the
    per-row errors and the valid products' count; else write the batch (every valid
    product in every aspect) and submit it on a helper thread, answering its view."""
    options = form.options()
    if len(files) > MAX_FILES:
        raise InvalidRequest(f"attach at most {MAX_FILES} images to one catalogue", field="images")
    api_check = checker(p, api_source(p, account.id))
    stored: dict[str, str] = {}  # attached name → upload ref

    def check(ref: str) -> None:
        name = ref if ref in files else _name_of(ref)
        if name not in files:
            if ref.startswith("upload:") or ref[:8].lower() == "https://":
                api_check(ref)
                return
            raise NotFound(
                f"no attached image is named {name!r}", code="image_not_found", field="images"
            )
        data = files[name]
        if not data:
            raise InvalidImage(f"{name} is empty")
        if check_only:
            if len(data) > p.settings.max_upload_bytes:
                raise InvalidImage(f"{name} is larger than {p.settings.max_upload_bytes} bytes")
            inspect_image(data, max_pixels=p.settings.max_image_pixels)
        elif name not in stored:
            stored[name] = "upload:" + create_upload(p, account, data, name).id

    parsed = read_catalog(catalog, catalog_name, check_image=check)
    if check_only:
        return {
            "object": "commerce_catalog_check",
            "rows": parsed.rows,
            "products": len(parsed.products),
            "clips": len(parsed.products) * len(options.aspects),
            "rejected_rows": [e.to_dict() for e in parsed.errors],
        }
    if not parsed.products:
        raise InvalidRequest(
            "no row of the catalogue can be used; see the errors per row",
            code="empty_catalog",
            field="catalog",
        )

    def uploaded(ref: str) -> str:
        name = ref if ref in files else _name_of(ref)
        return stored.get(name, ref)

    parsed.products = [
        replace(product, images=tuple(uploaded(r) for r in product.images))
        for product in parsed.products
    ]
    view = batches.create_batch(p, account, parsed, options, catalog_name=catalog_name[:200])
    threading.Thread(
        target=_submit_all, args=(p, account, view["id"]), name="commerce-submit", daemon=True
    ).start()
    return view


def _submit_all(p: Platform, account: AccountRef, batch_id: str) -> None:
    source = api_source(p, account.id)  # every image is an upload by now
    try:
        while batches.submit_pending(p, account, batch_id, source, limit=20):
            pass
    except Exception:  # a status read goes on from where this stopped
        log.exception("submitting batch %s stopped", batch_id)
