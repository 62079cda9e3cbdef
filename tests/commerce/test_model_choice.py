"""Model choice per template: the motion backend renders the template by default; with a
registered image-to-video model chosen, the product's first photo is animated from a prompt
built from its title and description (moderated like any prompt), without overlays."""

from __future__ import annotations

from decimal import Decimal

from reelforge.app.platform import Platform
from reelforge.commerce import batch as batches
from reelforge.commerce.brand import Brand
from reelforge.commerce.catalog import Catalog, Product
from reelforge.commerce.templates import get_template, product_prompt
from reelforge.domain.spec import AspectRatio
from reelforge.media.images import sample_image_path
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries


def test_a_registered_model_animates_the_photo_from_title_and_description(
    platform: Platform,
) -> None:
    account = accounts.ensure_account(platform, "shop")
    product = Product(
        sku="LAMP-1",
        title="Brass desk lamp",
        description="Warm light, hand-polished brass",
        price=Decimal("89"),
        currency="USD",
        images=("lamp.jpg",),
    )
    options = batches.BatchOptions(
        template="showcase", aspects=(AspectRatio.SQUARE,), model="gradient", length="short"
    )
    view = batches.create_batch(
        platform, account, Catalog(products=[product], rows=1), options, catalog_name="c.csv"
    )

    def source(ref: str) -> tuple[bytes, str]:
        return sample_image_path().read_bytes(), ref

    assert batches.submit_pending(platform, account, view["id"], source) == 1
    item = batches.batch_view(platform, account, view["id"])["items"][0]
    assert item["status"] == "queued", item
    job = queries.get_job(platform, account, item["job_id"])
    assert job["model"] == "gradient" and job["mode"] == "image2video"
    expected = product_prompt(get_template("showcase"), product, Brand())
    assert job["prompt"] == expected
    assert expected.startswith("Brass desk lamp. Warm light, hand-polished brass.")
    assert batches.model_for(platform, get_template("showcase")) == "motion"
