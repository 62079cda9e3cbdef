"""Where a catalogue's image references are read from, and the check every one passes.

- the CLI: a path, relative to the catalogue's folder (or absolute);
- the API: the name of a file attached to the request (never a path on the server);
- both: an https URL, fetched as `image_url` is (SSRF-checked, size-limited), and
  `upload:<id>`, an upload the account made before.

The check reads the bytes within the upload size limit and decodes every pixel within the
pixel limit (the checks of POST /v1/uploads), so a missing or broken image is a per-row
error at import, not a failed clip later.
"""

from __future__ import annotations

from pathlib import Path

from reelforge.app.platform import Platform
from reelforge.commerce.batch import ImageSource
from reelforge.commerce.catalog import ImageCheck
from reelforge.errors import InvalidImage, NotFound, PayloadTooLarge
from reelforge.media.images import inspect_image
from reelforge.services.jobs.image_input import image_bytes
from reelforge.storage import repositories as repo


def _is_url(ref: str) -> bool:
    return ref[:8].lower() == "https://" or ref[:7].lower() == "http://"


def local_source(p: Platform, base: Path) -> ImageSource:
    def read(ref: str) -> tuple[bytes, str]:
        if _is_url(ref):
            data, name = image_bytes(p, ref, "images")
            return data, name or "image"
        path = Path(ref).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            size = path.stat().st_size
        except OSError:
            raise NotFound(f"no image file {ref}", code="image_not_found", field="images") from None
        if size > p.settings.max_upload_bytes:
            raise PayloadTooLarge(
                f"{ref} is {size} bytes; the limit is {p.settings.max_upload_bytes}"
            )
        try:
            return path.read_bytes(), path.name
        except OSError as exc:
            raise NotFound(f"cannot read {ref}: {exc.strerror}", code="image_not_found") from None

    return read


def api_source(p: Platform, account_id: str) -> ImageSource:
    """Image references of a catalogue sent over HTTP: `upload:<id>` (POST /v1/uploads) or
    an https URL; never a path on the server."""

    def read(ref: str) -> tuple[bytes, str]:
        if _is_url(ref):
            data, name = image_bytes(p, ref, "images")
            return data, name or "image"
        if ref.startswith("upload:"):
            with p.db.session(write=False) as s:
                upload = repo.upload_for(s, account_id, ref.removeprefix("upload:"))
            if upload is None:
                raise NotFound(f"no upload {ref}", code="upload_not_found", field="images")
            return b"", ref  # used by its id; its bytes were checked when it was uploaded
        raise NotFound(
            f"image {ref!r}: over HTTP an image is `upload:<id>` (POST /v1/uploads) or an "
            "https URL",
            code="image_not_found",
            field="images",
        )

    return read


def checker(p: Platform, source: ImageSource) -> ImageCheck:
    """A check for `read_catalog`: the reference reads and decodes as an image."""

    def check(ref: str) -> None:
        data, _ = source(ref)
        if not data and ref.startswith("upload:"):
            return
        if not data:
            raise InvalidImage(f"{ref} is empty")
        inspect_image(data, max_pixels=p.settings.max_image_pixels)

    return check
