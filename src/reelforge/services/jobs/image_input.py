"""Images given in `POST /v1/videos` itself — `image_url` / `last_image_url` as an http(s)
URL or a `data:image/...;base64,` URI — become ordinary uploads before the job is submitted,
so they pass the same checks (size, format, every pixel decoded, dimensions) and the same
per-account content-hash deduplication as `POST /v1/uploads`.

A URL is fetched like a webhook is sent, against SSRF: the host must resolve to public
addresses (or be allowlisted in RF_IMAGE_URL_ALLOW_HOSTS), it is resolved once and the
connection goes to the checked address; redirects are followed by hand (each one checked);
the size limit holds before and while reading.
"""

from __future__ import annotations

import base64
import binascii
import re
import ssl
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx

from reelforge import __version__
from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.errors import InvalidImage, InvalidRequest, PayloadTooLarge
from reelforge.net.outbound import pinned_stream
from reelforge.services.jobs.edge import has_control
from reelforge.services.jobs.uploads import create_upload

if TYPE_CHECKING:
    from reelforge.services.jobs.request import SubmitRequest

MAX_URL_CHARS = 2048
MAX_REDIRECTS = 3
_DATA_URI = re.compile(r"^data:(image/(?:png|jpeg|jpg|webp));base64,", re.IGNORECASE)
_FIELDS = (("image_url", "image_upload_id"), ("last_image_url", "last_image_upload_id"))


def resolve_image_inputs(p: Platform, account: AccountRef, req: SubmitRequest) -> SubmitRequest:
    """The request with each image URL or data URI replaced by the id of an upload made from
    it (the same id for the same bytes, so a retried request is the same request)."""
    update: dict[str, str | None] = {}
    for url_field, id_field in _FIELDS:
        value = getattr(req, url_field)
        if value is None:
            continue
        if getattr(req, id_field):
            raise InvalidRequest(
                f"send either {url_field} or {id_field}, not both", field=url_field
            )
        data, name = image_bytes(p, value, url_field)
        upload = create_upload(p, account, data, name)
        update[id_field], update[url_field] = upload.id, None
    return req.model_copy(update=update) if update else req


def image_bytes(p: Platform, value: str, field: str) -> tuple[bytes, str | None]:
    """The bytes a data URI holds or an http(s) URL serves, and a file name for the upload."""
    if has_control(value):
        raise InvalidRequest(f"{field} must not contain control characters", field=field)
    if value[:5].lower() == "data:":
        return decode_data_uri(value, p.settings.max_upload_bytes, field), None
    if len(value) > MAX_URL_CHARS:
        raise InvalidRequest(f"{field} is longer than {MAX_URL_CHARS} characters", field=field)
    data = fetch_image(
        value,
        allow=p.settings.image_url_allow_hosts,
        max_bytes=p.settings.max_upload_bytes,
        timeout=p.settings.image_fetch_timeout,
        field=field,
    )
    name = urlsplit(value).path.rsplit("/", 1)[-1][:255] or None
    return data, name


def decode_data_uri(value: str, max_bytes: int, field: str) -> bytes:
    m = _DATA_URI.match(value)
    if m is None:
        raise InvalidImage(
            f"{field}: a data URI must be data:image/png|jpeg|webp;base64,...", field=field
        )
    payload = value[m.end() :]
    if len(payload) > (max_bytes + 2) // 3 * 4 + 4:  # before decoding a byte
        raise PayloadTooLarge(
            f"{field}: the image is larger than the {max_bytes}-byte limit", field=field
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage(f"{field}: the data URI is not valid base64", field=field) from None


def fetch_image(
    url: str,
    *,
    allow: list[str],
    max_bytes: int,
    timeout: float,
    field: str,
    verify: ssl.SSLContext | bool = True,
) -> bytes:
    """GET an image from a public URL (see the module docstring and net.outbound).
    HTTPS is verified against the URL's host name although the connection goes to the
    checked address; each redirect is resolved and checked again."""
    headers = {
        "Accept": "image/png, image/jpeg, image/webp",
        "User-Agent": f"reelforge-fetch/{__version__}",
    }
    for _ in range(MAX_REDIRECTS + 1):
        try:
            with pinned_stream(
                "GET",
                url,
                allow=allow,
                field=field,
                setting="RF_IMAGE_URL_ALLOW_HOSTS",
                code="unsafe_image_url",
                timeout=timeout,
                headers=headers,
                verify=verify,
            ) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])  # checked again
                    continue
                if response.status_code != 200:
                    raise InvalidRequest(
                        f"{field}: the server answered HTTP {response.status_code}",
                        code="image_url_unreachable",
                        field=field,
                    )
                return _read_limited(response, max_bytes, field)
        except httpx.HTTPError as exc:
            raise InvalidRequest(
                f"{field} could not be fetched: {type(exc).__name__}",
                code="image_url_unreachable",
                field=field,
            ) from None
    raise InvalidRequest(
        f"{field} redirects more than {MAX_REDIRECTS} times",
        code="image_url_unreachable",
        field=field,
    )


def _read_limited(response: httpx.Response, max_bytes: int, field: str) -> bytes:
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and not (ctype.startswith("image/") or ctype == "application/octet-stream"):
        raise InvalidImage(f"{field} serves {ctype[:60]!r}, not an image", field=field)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(
            f"{field}: the image is {declared} bytes; the limit is {max_bytes} bytes", field=field
        )
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge(
                f"{field}: the image is larger than the {max_bytes}-byte limit", field=field
            )
        chunks.append(chunk)
    return b"".join(chunks)
