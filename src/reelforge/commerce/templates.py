"""Templates as data: YAML files in commerce/templates/, compiled per product, brand and
aspect into a `Composition` (domain/composition.py) that the motion backend renders.

A template names its scenes, its layers (text with `{placeholders}` from the product and
the brand kit, the logo), when each layer shows (`start`/`until`: seconds, or `scenes` for
the end of the last scene, `last_scene` for the start of the last scene), and per aspect a
box and font size for each role. Boxes are fractions of the aspect's safe area (layout.py).
Adding a template is adding a YAML file; no code.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelforge.commerce.brand import Brand
from reelforge.commerce.catalog import Product
from reelforge.commerce.layout import ASPECTS, in_safe_area, label_band, overlaps_label
from reelforge.domain.composition import (
    COUNTDOWN,
    Align,
    Composition,
    EndCard,
    LogoLayer,
    Scene,
    TextLayer,
    Transition,
)
from reelforge.domain.spec import AspectRatio, Camera
from reelforge.errors import InvalidRequest

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
NAME = r"^[a-z0-9_-]{1,32}$"
Moment = float | Literal["scenes", "last_scene"]


class _Scene(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duration: float = Field(gt=0, le=20)
    camera: Camera | list[Camera] = Camera.ZOOM_IN
    transition: Transition = Transition.CUT
    transition_duration: float = Field(default=0.0, ge=0, le=5)


class _EndCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duration: float = Field(gt=0, le=10)
    background: str = "brand.background"
    transition_duration: float = Field(default=0.4, ge=0, le=5)


class _Layer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(pattern=r"^[a-z_]+$")
    text: str | None = None  # None: the logo
    start: Moment = 0.0
    until: Moment | None = None
    when: str | None = None  # shown only when this product/brand field has a value
    color: str = "brand.text"
    plate: str | None = None
    align: Align = Align.CENTER


class _Slot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    box: tuple[float, float, float, float]
    size: float = Field(default=0.05, gt=0, le=0.5)
    min_size: float = Field(default=0.02, gt=0, le=0.5)


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    description: str
    model: Literal["motion", "image2video"] = "motion"
    prompt: str
    images: int = Field(default=1, ge=1, le=8)
    requires: list[str] = []
    countdown: int | None = Field(default=None, ge=0)
    scene: _Scene
    end_card: _EndCard | None = None
    layers: list[_Layer]
    layouts: dict[str, dict[str, _Slot]]

    def check(self) -> None:
        for aspect in ASPECTS:
            slots = self.layouts.get(aspect.value)
            if slots is None:
                raise ValueError(f"template {self.name}: no layout for {aspect.value}")
            missing = {layer.role for layer in self.layers} - set(slots)
            if missing:
                raise ValueError(f"template {self.name} {aspect.value}: no box for {missing}")
            for role, slot in slots.items():
                if overlaps_label(aspect, in_safe_area(aspect, *slot.box)):
                    raise ValueError(
                        f"template {self.name} {aspect.value}: the {role} box enters the "
                        f"band of the AI-generated banner {label_band(aspect)}"
                    )


@cache
def templates() -> dict[str, Template]:
    """Every template shipped in commerce/templates/, by name."""
    found: dict[str, Template] = {}
    for path in sorted(TEMPLATE_DIR.glob("*.yaml")):
        try:
            template = Template.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
            template.check()
        except (ValidationError, ValueError) as exc:
            raise RuntimeError(f"broken template {path.name}: {exc}") from exc
        found[template.name] = template
    return found


def get_template(name: str) -> Template:
    found = templates().get(name)
    if found is None:
        raise InvalidRequest(
            f"no template {name!r}; choose one of {', '.join(sorted(templates()))}",
            code="unknown_template",
            field="template",
        )
    return found


CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹"}
NO_CENTS = {"JPY", "KRW"}


def format_price(amount: Decimal, currency: str) -> str:
    """`$1,299.00`, `€12.50`, `¥1,200`, `99.00 SAR`."""
    places = 0 if currency in NO_CENTS else 2
    number = f"{amount:,.{places}f}"
    sign = CURRENCY_SIGNS.get(currency)
    return f"{sign}{number}" if sign else f"{number} {currency}"


def _values(product: Product, brand: Brand, countdown: int | None) -> dict[str, str]:
    values = {
        "title": product.title,
        "description": product.description,
        "price": format_price(product.price, product.currency),
        "sku": product.sku,
        "tagline": brand.tagline or "",
        "cta": brand.cta,
        "countdown": COUNTDOWN,
    }
    if product.compare_at_price is not None and product.compare_at_price > product.price > 0:
        values["compare_at_price"] = format_price(product.compare_at_price, product.currency)
        off = (1 - product.price / product.compare_at_price) * 100
        values["discount"] = f"-{max(1, round(off))}%"
    return values


def _colour(value: str, brand: Brand) -> str:
    if value.startswith("brand."):
        return str(getattr(brand, value.removeprefix("brand.") + "_color"))
    return value


def compile_template(
    template: Template,
    product: Product,
    brand: Brand,
    aspect: AspectRatio,
    *,
    speed: float = 1.0,
) -> tuple[Composition, list[str]]:
    """The composition of one clip, and which images it uses in order: `image:N` for the
    product's N-th image, `logo` for the brand's logo. `speed` > 1 shortens every duration
    (a draft of the batch)."""
    for field in template.requires:
        if field not in _values(product, brand, None):
            raise InvalidRequest(
                f"template {template.name} needs {field} (greater than price) for "
                f"SKU {product.sku}",
                code="missing_field",
                field=field,
            )
    values = _values(product, brand, template.countdown)
    uses = [f"image:{i}" for i in range(min(template.images, len(product.images)))]
    cameras = template.scene.camera
    cameras = cameras if isinstance(cameras, list) else [cameras]
    scenes = tuple(
        Scene(
            image=i,
            duration=template.scene.duration / speed,
            camera=cameras[i % len(cameras)],
            transition=template.scene.transition if i else Transition.CUT,
            transition_duration=template.scene.transition_duration / speed if i else 0.0,
        )
        for i in range(len(uses))
    )
    scenes_end = sum(s.duration for s in scenes) + sum(
        s.transition_duration for s in scenes if s.transition is not Transition.CUT
    )
    last_scene = scenes_end - scenes[-1].duration

    def moment(value: Moment | None, default: float | None) -> float | None:
        if value is None:
            return default
        if value == "scenes":
            return scenes_end
        if value == "last_scene":
            return last_scene
        return float(value) / speed

    end_card = None
    if template.end_card is not None:
        end_card = EndCard(
            duration=template.end_card.duration / speed,
            background=_colour(template.end_card.background, brand),
            transition_duration=template.end_card.transition_duration / speed,
        )
    slots = template.layouts[aspect.value]
    texts: list[TextLayer] = []
    logos: list[LogoLayer] = []
    for layer in template.layers:
        if layer.when and not (values.get(layer.when) or (layer.when == "logo" and brand.logo)):
            continue
        slot = slots[layer.role]
        box = in_safe_area(aspect, *slot.box)
        start = moment(layer.start, 0.0) or 0.0
        end = moment(layer.until, None)
        if layer.text is None:
            if brand.logo:
                if "logo" not in uses:
                    uses.append("logo")
                logos.append(LogoLayer(image=uses.index("logo"), box=box, start=start, end=end))
            continue
        text = _fill(layer.text, values).strip()
        if not text:
            continue
        texts.append(
            TextLayer(
                role=layer.role,
                text=text,
                box=box,
                size=slot.size,
                min_size=min(slot.min_size, slot.size),
                color=_colour(layer.color, brand),
                plate=_colour(layer.plate, brand) if layer.plate else None,
                align=layer.align,
                start=start,
                end=end,
                countdown=template.countdown if COUNTDOWN in text else None,
            )
        )
    composition = Composition(
        scenes=scenes, texts=tuple(texts), logos=tuple(logos), end_card=end_card,
        template=template.name,
    )  # fmt: skip
    return composition, uses


def _fill(text: str, values: dict[str, Any]) -> str:
    """`{name}` placeholders filled from `values` (unknown names left empty); product text is
    never itself a format string."""
    out, rest = [], text
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, closed, rest = after.partition("}")
        out.append(before)
        if closed:
            out.append(str(values.get(name, "")))
        else:
            out.append("{" + name)
    out.append(rest)
    return "".join(out)


def product_prompt(template: Template, product: Product, brand: Brand) -> str:
    """The prompt an image-to-video model gets for a product (title + description)."""
    return _fill(template.prompt, _values(product, brand, None))[:2000]
