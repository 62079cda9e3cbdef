"""Images sent with the studio's create form, checked all together before any is stored: a
form with a good first image and a bad last image stores neither (POST /v1/uploads checks
one image; the form carries two)."""

from __future__ import annotations

from reelforge.app.platform import Platform
from reelforge.errors import InvalidImage, PayloadTooLarge
from reelforge.media.images import inspect_image


def check_images(p: Platform, images: dict[str, bytes]) -> None:
    """The checks create_upload makes (size, type, dimensions before decoding, every pixel
    decoded), on each image by its form field; the first failure is raised with its field."""
    for field, data in images.items():
        try:
            if len(data) > p.settings.max_upload_bytes:
                raise PayloadTooLarge(
                    f"upload is {len(data)} bytes; the limit is {p.settings.max_upload_bytes} bytes"
                )
            inspect_image(data, max_pixels=p.settings.max_image_pixels)
        except (InvalidImage, PayloadTooLarge) as exc:
            raise type(exc)(exc.message, code=exc.code, field=field) from None
