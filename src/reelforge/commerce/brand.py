"""The brand kit of an account: logo, colours, font, tagline and call to action, stored in
the database (storage/commerce_tables.BrandKit); the defaults until the account sets one."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.errors import InvalidRequest, NotFound
from reelforge.media.text import FONTS
from reelforge.storage import repositories as repo
from reelforge.storage.commerce_tables import BrandKit

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
COLOURS = ("primary_color", "accent_color", "text_color", "background_color")


@dataclass(frozen=True)
class Brand:
    primary_color: str = "#1f2937"
    accent_color: str = "#f59e0b"
    text_color: str = "#ffffff"
    background_color: str = "#111827"
    font: str = "noto-sans"
    tagline: str | None = None
    cta: str = "Shop now"
    logo: str | None = None  # an upload id of the account

    def to_dict(self) -> dict[str, Any]:
        return {"object": "brand_kit", **asdict(self)}


def get_brand(p: Platform, account: AccountRef) -> Brand:
    with p.db.session(write=False) as s:
        row = s.get(BrandKit, account.id)
        if row is None:
            return Brand()
        return Brand(
            primary_color=row.primary_color,
            accent_color=row.accent_color,
            text_color=row.text_color,
            background_color=row.background_color,
            font=row.font,
            tagline=row.tagline,
            cta=row.cta or Brand.cta,
            logo=row.logo_upload_id,
        )


def set_brand(p: Platform, account: AccountRef, changes: dict[str, Any]) -> Brand:
    """Change some fields of the account's brand kit (the others keep their value). `logo`
    is an upload id of the account (POST /v1/uploads), or None to remove it."""
    brand = get_brand(p, account)
    known = set(asdict(brand))
    for key, value in changes.items():
        if key not in known:
            raise InvalidRequest(
                f"unknown brand kit field {key!r}", code="unknown_field", field=key
            )
        if key in COLOURS and (not isinstance(value, str) or not _COLOUR.fullmatch(value)):
            raise InvalidRequest(f"{key} is a colour like #1f2937", field=key)
        if key == "font" and value not in FONTS:
            raise InvalidRequest(
                f"font {value!r} is not shipped; choose one of {', '.join(FONTS)}", field=key
            )
        if key in ("tagline", "cta") and value is not None:
            limit = 200 if key == "tagline" else 80
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise InvalidRequest(f"{key} is text of 1-{limit} characters", field=key)
            if _CONTROL.search(value):
                raise InvalidRequest(f"{key} contains control characters", field=key)
        if key == "logo" and value is not None:
            with p.db.session(write=False) as s:
                if not isinstance(value, str) or repo.upload_for(s, account.id, value) is None:
                    raise NotFound(f"no upload {value}", code="upload_not_found", field="logo")
    if "cta" in changes and changes["cta"] is None:  # null: the default, as get_brand reads it
        changes = {**changes, "cta": Brand.cta}
    brand = replace(brand, **changes)
    with p.db.session() as s:
        row = s.get(BrandKit, account.id)
        if row is None:
            row = BrandKit(account_id=account.id)
            s.add(row)
        row.primary_color, row.accent_color = brand.primary_color, brand.accent_color
        row.text_color, row.background_color = brand.text_color, brand.background_color
        row.font, row.tagline, row.cta = brand.font, brand.tagline, brand.cta
        row.logo_upload_id = brand.logo
        row.updated_at = p.clock()
    return brand
