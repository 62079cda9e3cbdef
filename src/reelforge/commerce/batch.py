"""A batch: every product of a catalogue in every asked aspect, each clip an ordinary job.

The batch and one item per (SKU, aspect) are written in one transaction before any job is
submitted, so a batch is never half-written; each item's job carries the external id
`cb-<batch>-<sku>-<aspect>`, so submitting an item again (a resumed batch, two processes
advancing the same batch) finds the same job instead of making a second one. A product that
fails (an image that cannot be read, a text the policy refuses, a failed render) marks its
own items failed with a code and a message, and the rest go on.

Results: a folder with one MP4 per clip (`<aspect>/<sku>.mp4`), `manifest.csv` (sku, aspect,
path, credits, cost, status, job_id, error) and the same as a zip. Files are written beside
their place and renamed, so an interrupted export never leaves a truncated clip; exporting
again skips clips already there.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import secrets
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.atomic import replacing
from reelforge.commerce.brand import Brand, get_brand
from reelforge.commerce.catalog import Catalog, Product
from reelforge.commerce.layout import ASPECTS
from reelforge.commerce.templates import Template, compile_template, get_template, product_prompt
from reelforge.domain.account import AccountRef
from reelforge.domain.job import FINAL_STATUSES, JobStatus
from reelforge.domain.spec import AspectRatio, Mode, Resolution
from reelforge.errors import InvalidRequest, NotFound, RateLimited, ReelforgeError
from reelforge.logs import event
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.jobs.uploads import create_upload
from reelforge.storage.commerce_tables import CommerceBatch, CommerceBatchItem
from reelforge.storage.tables import Job

log = logging.getLogger(__name__)

PENDING, QUEUED, SUCCEEDED, FAILED = "pending", "queued", "succeeded", "failed"
REVIEW = "review"  # its job waits for a person (moderation); a later refresh follows it
LENGTHS = {"standard": 1.0, "short": 3.0}  # short: every duration a third (drafts, tests)
MANIFEST_FIELDS = ("sku", "aspect", "path", "credits", "cost", "status", "job_id", "error")
_FINAL = {str(s) for s in FINAL_STATUSES}
_SLUG = re.compile(r"[^A-Za-z0-9._-]")

ImageSource = Callable[[str], tuple[bytes, str]]
"""(bytes, file name) of an image reference of the catalogue; raises ReelforgeError."""


@dataclass(frozen=True)
class BatchOptions:
    template: str = "showcase"
    aspects: tuple[AspectRatio, ...] = ASPECTS
    resolution: Resolution = Resolution.P480
    length: str = "standard"
    model: str | None = None  # None: the template's choice

    def check(self) -> Template:
        template = get_template(self.template)
        if not self.aspects:
            raise InvalidRequest("choose at least one aspect", field="aspect")
        for aspect in self.aspects:
            if aspect not in ASPECTS:
                raise InvalidRequest(
                    f"aspect {aspect.value} has no template layout; choose from "
                    f"{', '.join(a.value for a in ASPECTS)}",
                    field="aspect",
                )
        if self.length not in LENGTHS:
            raise InvalidRequest(f"length is one of {', '.join(LENGTHS)}", field="length")
        return template


def parse_aspects(value: str) -> tuple[AspectRatio, ...]:
    """`9:16,1:1,16:9` → the aspects, in order, without repeats."""
    found: list[AspectRatio] = []
    for part in value.split(","):
        part = part.strip()
        try:
            aspect = AspectRatio(part)
        except ValueError:
            raise InvalidRequest(
                f"aspect {part!r} is not one of {', '.join(a.value for a in ASPECTS)}",
                field="aspect",
            ) from None
        if aspect not in found:
            found.append(aspect)
    return tuple(found)


def product_record(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "title": product.title,
        "description": product.description,
        "price": str(product.price),
        "currency": product.currency,
        "images": list(product.images),
        "url": product.url,
        "compare_at_price": None
        if product.compare_at_price is None
        else str(product.compare_at_price),
        "row": product.row,
    }


def product_of(record: dict[str, Any]) -> Product:
    compare = record.get("compare_at_price")
    return Product(
        sku=record["sku"],
        title=record["title"],
        description=record["description"],
        price=Decimal(record["price"]),
        currency=record["currency"],
        images=tuple(record["images"]),
        url=record.get("url"),
        compare_at_price=None if compare is None else Decimal(compare),
        row=int(record.get("row", 0)),
    )


def create_batch(
    p: Platform,
    account: AccountRef,
    catalog: Catalog,
    options: BatchOptions,
    *,
    catalog_name: str,
    batch_id: str | None = None,
) -> dict[str, Any]:
    """Write the batch and all its items (one transaction). With the `batch_id` of an
    existing batch of the account, nothing is written and that batch is returned (resume)."""
    options.check()
    if batch_id is not None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", batch_id):
            raise InvalidRequest("a batch id is 1-40 letters, digits, - or _", field="batch_id")
        with p.db.session(write=False) as s:
            found = s.get(CommerceBatch, batch_id)
            if found is not None:
                if found.account_id != account.id:
                    raise InvalidRequest(f"batch id {batch_id} is taken", field="batch_id")
                return batch_view(p, account, batch_id)
    batch_id = batch_id or "cb_" + secrets.token_hex(8)
    now = p.clock()
    with p.db.session() as s:
        s.add(
            CommerceBatch(
                id=batch_id,
                account_id=account.id,
                template=options.template,
                aspects=[a.value for a in options.aspects],
                resolution=options.resolution.value,
                status="running" if catalog.products else "done",  # nothing to make
                catalog_name=catalog_name[:200],
                products=len(catalog.products),
                rejected=[e.to_dict() for e in catalog.errors],
                created_at=now,
                updated_at=now,
            )
        )
        s.flush()
        items = []
        for product in catalog.products:
            record = {**product_record(product), "length": options.length, "model": options.model}
            for aspect in options.aspects:
                items.append(
                    {
                        "batch_id": batch_id,
                        "sku": product.sku,
                        "aspect": aspect.value,
                        "template": options.template,
                        "title": product.title[:300],
                        "product": record,
                        "status": PENDING,
                        "credits": 0,
                        "cost_usd": 0.0,
                        "updated_at": now,
                    }
                )
        if items:  # one multi-row insert: 30,000 items (10,000 products x 3) in a few seconds
            s.execute(insert(CommerceBatchItem), items)
    event(
        log,
        "commerce.batch",
        batch=batch_id,
        account=account.id,
        items=len(catalog.products) * len(options.aspects),
    )
    return batch_view(p, account, batch_id)


def _batch(s: Session, account: AccountRef, batch_id: str) -> CommerceBatch:
    batch = s.get(CommerceBatch, batch_id)
    if batch is None or batch.account_id != account.id:
        raise NotFound(f"no batch {batch_id}", code="batch_not_found")
    return batch


def external_id(batch_id: str, sku: str, aspect: str) -> str:
    key = f"cb-{batch_id}-{sku}-{aspect}"
    if len(key) <= 128:
        return key
    return f"cb-{batch_id}-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


@dataclass
class _Uploads:
    """Image references → upload ids of the account, each reference stored once."""

    p: Platform
    account: AccountRef
    source: ImageSource
    done: dict[str, str] = field(default_factory=dict)

    def upload(self, ref: str) -> str:
        if ref.startswith("upload:"):
            return ref.removeprefix("upload:")
        if ref not in self.done:
            data, name = self.source(ref)
            self.done[ref] = create_upload(self.p, self.account, data, name).id
        return self.done[ref]


def submit_pending(
    p: Platform,
    account: AccountRef,
    batch_id: str,
    source: ImageSource,
    *,
    limit: int | None = None,
    on_item: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Submit the batch's pending items (at most `limit`); returns how many were handled.
    Each item's outcome is written as soon as it is known. When the account's plan refuses
    more for now (queue full, request rate), the rest stays pending for a later call."""
    brand = get_brand(p, account)
    uploads = _Uploads(p, account, source)
    with p.db.session(write=False) as s:
        batch = _batch(s, account, batch_id)
        resolution = Resolution(batch.resolution)
        pending = s.scalars(
            select(CommerceBatchItem)
            .where(CommerceBatchItem.batch_id == batch_id, CommerceBatchItem.status == PENDING)
            .order_by(CommerceBatchItem.id)
            .limit(limit)
        ).all()
        items = [(i.id, i.sku, i.aspect, i.template, dict(i.product)) for i in pending]
    handled = 0
    for item_id, sku, aspect, template_name, record in items:
        update: dict[str, Any]
        try:
            job = _submit_item(
                p, account, batch_id, brand, uploads, template_name, AspectRatio(aspect),
                resolution, record,
            )  # fmt: skip
            update = {"status": QUEUED, "job_id": job["id"], "credits": job.get("credits") or 0}
            update.update(_outcome(job))
        except RateLimited:  # the plan's queue or request rate is full: this item waits,
            break  # pending, for a later round (the caller comes back)
        except ReelforgeError as exc:
            update = {"status": FAILED, "error_code": exc.code, "error_message": str(exc)[:2000]}
        _write_item(p, item_id, update)
        handled += 1
        if on_item is not None:
            on_item({"sku": sku, "aspect": aspect, **update})
    return handled


def _submit_item(
    p: Platform,
    account: AccountRef,
    batch_id: str,
    brand: Brand,
    uploads: _Uploads,
    template_name: str,
    aspect: AspectRatio,
    resolution: Resolution,
    record: dict[str, Any],
) -> dict[str, Any]:
    product = product_of(record)
    template = get_template(template_name)
    speed = LENGTHS.get(str(record.get("length") or "standard"), 1.0)
    model = record.get("model") or model_for(p, template)
    fields: dict[str, Any] = {
        "aspect_ratio": aspect,
        "resolution": resolution,
        "seed": int(hashlib.sha256(product.sku.encode()).hexdigest()[:8], 16),
        "external_id": external_id(batch_id, product.sku, aspect.value),
        "model": model,
    }
    if model == "motion":
        composition, uses = compile_template(template, product, brand, aspect, speed=speed)
        ids = [
            uploads.upload(product.images[int(u.split(":")[1])]) if u.startswith("image:")
            else uploads.upload(f"upload:{brand.logo}")
            for u in uses
        ]  # fmt: skip
        fields.update(
            composition=composition,
            image_upload_ids=ids,
            duration=round(composition.duration, 3),
            prompt=product.title[:200],
        )
    else:  # a registered image-to-video model animates the first photo from its prompt
        fields.update(
            image_upload_id=uploads.upload(product.images[0]),
            prompt=product_prompt(template, product, brand),
            duration=round(template.scene.duration / speed, 3),
        )
    return submit_job(p, account, SubmitRequest.parse(fields)).job


def model_for(p: Platform, template: Template) -> str:
    """The template's model: motion, or for `image2video` the one registered image-to-video
    model other than motion where the operator registered one (else motion)."""
    if template.model == "image2video":
        catalog = p.backends.catalog
        serving = [
            m for m in (catalog.serving(Mode.IMAGE2VIDEO) if catalog else []) if m != "motion"
        ]
        if serving:
            return serving[0]
    return "motion"


def _outcome(job: dict[str, Any]) -> dict[str, Any]:
    """The item's state for its job's: queued while it runs, review while a person decides,
    then succeeded (credits, cost) or failed (the job's error)."""
    if job["status"] == JobStatus.REVIEW:
        return {
            "status": REVIEW,
            "error_code": "held_for_review",
            "error_message": ((job.get("moderation") or {}).get("submit") or {}).get("message")
            or "held for review by a person",
        }
    if job["status"] not in _FINAL:
        return {"status": QUEUED, "error_code": None, "error_message": None}
    if job["status"] == JobStatus.SUCCEEDED:
        return {
            "status": SUCCEEDED,
            "credits": job.get("credits_charged") or 0,
            "cost_usd": float(job.get("cost_usd") or 0.0),
        }
    error = job.get("error") or {}
    return {
        "status": FAILED,
        "error_code": error.get("code") or job["status"],
        "error_message": error.get("message") or f"the job ended {job['status']}",
    }


def _write_item(p: Platform, item_id: int, update: dict[str, Any]) -> None:
    with p.db.session() as s:
        row = s.get(CommerceBatchItem, item_id)
        if row is None:
            return
        for key, value in update.items():
            setattr(row, key, value)
        row.updated_at = p.clock()


def refresh(
    p: Platform, account: AccountRef, batch_id: str, *, items: bool = True
) -> dict[str, Any]:
    """Read the outcome of the batch's queued items from their jobs; the batch is `done`
    when no item is pending or queued. `items=False`: the counts only (cheap to poll)."""
    with p.db.session(write=False) as s:
        _batch(s, account, batch_id)
        followed = s.execute(  # one query for every item still followed, not one per job
            select(CommerceBatchItem.id, CommerceBatchItem.status, Job)
            .join(Job, Job.id == CommerceBatchItem.job_id)
            .where(
                CommerceBatchItem.batch_id == batch_id,
                CommerceBatchItem.status.in_((QUEUED, REVIEW)),
                Job.account_id == account.id,
            )
        ).all()
        changes = []
        for item_id, status, job in followed:
            outcome = _outcome(
                {
                    "status": job.status,
                    "credits_charged": job.credits_charged,
                    "cost_usd": job.cost_usd,
                    "error": {"code": job.error_code, "message": job.error_message},
                    "moderation": job.moderation,
                }
            )
            if outcome["status"] != status:
                changes.append((item_id, outcome))
    for item_id, outcome in changes:
        _write_item(p, item_id, outcome)
    view = batch_view(p, account, batch_id, items=items)
    # done: nothing left to submit or render (items held for review are followed later)
    status = "running" if view["counts"][PENDING] or view["counts"][QUEUED] else "done"
    if view["status"] != status:
        with p.db.session() as s:
            batch = _batch(s, account, batch_id)
            batch.status, batch.updated_at = status, p.clock()
        view["status"] = status
    return view


def batch_view(
    p: Platform, account: AccountRef, batch_id: str, *, items: bool = True
) -> dict[str, Any]:
    with p.db.session(write=False) as s:
        batch = _batch(s, account, batch_id)
        counts: Counter[str] = Counter()
        credits, cost = 0, 0.0
        for status, n, status_credits, status_cost in s.execute(  # one row per status
            select(
                CommerceBatchItem.status,
                func.count(),
                func.sum(CommerceBatchItem.credits),
                func.sum(CommerceBatchItem.cost_usd),
            )
            .where(CommerceBatchItem.batch_id == batch_id)
            .group_by(CommerceBatchItem.status)
        ):
            counts[status] = int(n)
            cost += float(status_cost or 0.0)
            if status == SUCCEEDED:
                credits = int(status_credits or 0)
        total = sum(counts.values())
        finished = counts[SUCCEEDED] + counts[FAILED]
        view: dict[str, Any] = {
            "object": "commerce_batch",
            "id": batch.id,
            "status": batch.status,
            "template": batch.template,
            "aspects": list(batch.aspects),
            "resolution": batch.resolution,
            "catalog": batch.catalog_name,
            "products": batch.products,
            "rejected_rows": list(batch.rejected),
            "total": total,
            "counts": {k: counts[k] for k in (PENDING, QUEUED, REVIEW, SUCCEEDED, FAILED)},
            "progress": round(finished / total, 4) if total else 1.0,
            "credits": credits,
            "cost_usd": round(cost, 6),
            "created_at": batch.created_at.isoformat(),
        }
        if items:
            rows = s.scalars(
                select(CommerceBatchItem)
                .where(CommerceBatchItem.batch_id == batch_id)
                .order_by(CommerceBatchItem.id)
            ).all()
            view["items"] = [_item_view(r) for r in rows]
    return view


def _item_view(row: CommerceBatchItem) -> dict[str, Any]:
    return {
        "sku": row.sku,
        "aspect": row.aspect,
        "title": row.title,
        "status": row.status,
        "job_id": row.job_id,
        "credits": row.credits,
        "cost_usd": row.cost_usd,
        "path": clip_path(row.sku, row.aspect) if row.status == SUCCEEDED else None,
        "error": {"code": row.error_code, "message": row.error_message} if row.error_code else None,
    }


def clip_path(sku: str, aspect: str) -> str:
    """Where a clip sits in the batch folder and zip: `9x16/SKU-1.mp4`."""
    slug = _SLUG.sub("_", sku)
    if slug != sku:  # two SKUs must not share a file: keep them apart by a digest
        slug += "-" + hashlib.sha256(sku.encode()).hexdigest()[:8]
    return f"{aspect.replace(':', 'x')}/{slug}.mp4"


def manifest_rows(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "sku": i["sku"],
            "aspect": i["aspect"],
            "path": i["path"] or "",
            "credits": i["credits"],
            "cost": f"{i['cost_usd']:.6f}",
            "status": i["status"],
            "job_id": i["job_id"] or "",
            "error": (i["error"] or {}).get("code") or "",
        }
        for i in view["items"]
    ]


def manifest_csv(view: dict[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in manifest_rows(view):
        writer.writerow(row)
    return buffer.getvalue().encode()


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as part:  # the one write-then-rename (reelforge.atomic)
        write(part)


def export(
    p: Platform, account: AccountRef, batch_id: str, out_dir: Path, *, zip_name: str = "batch.zip"
) -> dict[str, Any]:
    """The batch's succeeded clips into `out_dir`, with manifest.csv and the zip of both."""
    view = batch_view(p, account, batch_id)
    for item in view["items"]:
        if item["status"] != SUCCEEDED:
            continue
        target = out_dir / item["path"]
        content = queries.job_content(p, account, item["job_id"])
        if target.exists() and target.stat().st_size == content.size:
            continue  # exported before (a resumed export)
        _atomic_write(target, _downloader(p, content.key))
    manifest = manifest_csv(view)
    _atomic_write(out_dir / "manifest.csv", lambda part: _write_bytes(part, manifest))
    _atomic_write(out_dir / zip_name, lambda part: write_zip(view, out_dir, part))
    return view


def _downloader(p: Platform, key: str) -> Callable[[Path], None]:
    def download(part: Path) -> None:
        p.blobs.download(key, part)

    return download


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def write_zip(view: dict[str, Any], folder: Path, target: Path) -> None:
    """manifest.csv and every exported clip of `folder`, stored (MP4 does not compress)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("manifest.csv", manifest_csv(view))
        for item in view["items"]:
            if item["path"] and (folder / item["path"]).exists():
                archive.write(folder / item["path"], item["path"])


def list_batches(p: Platform, account: AccountRef, limit: int = 50) -> list[dict[str, Any]]:
    with p.db.session(write=False) as s:
        ids = s.scalars(
            select(CommerceBatch.id)
            .where(CommerceBatch.account_id == account.id)
            .order_by(CommerceBatch.created_at.desc())
            .limit(limit)
        ).all()
    return [batch_view(p, account, i, items=False) for i in ids]
