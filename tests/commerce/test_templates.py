"""Templates as a merchant sees them: every template renders in 9:16, 1:1 and 16:9 with its
text inside the aspect's safe area; long titles wrap, then shrink, and never spill out of
their box; CJK, Arabic (shaped, right to left) and emoji draw real glyphs, not boxes."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from PIL import Image, ImageDraw

from reelforge.backends.motion.compose import CompositionRenderer, pixel_box
from reelforge.commerce.brand import Brand
from reelforge.commerce.catalog import Product
from reelforge.commerce.layout import ASPECTS, safe_area
from reelforge.commerce.templates import compile_template, format_price, templates
from reelforge.domain.composition import Composition
from reelforge.domain.spec import AspectRatio, Resolution, frame_size
from reelforge.media.images import load_image, sample_image_path
from reelforge.media.text import EMOJI_FONT, _font, fit_text, font_for, render_text

LONG_TITLES = {
    "latin": "Ultra-light Merino Wool Running Shoes for Men and Women, All-Season Comfort "
    "Edition with Recycled Soles and Reflective Laces, Limited 2026 Colourway " * 2,
    "cjk": "限时特价：超轻美利奴羊毛跑鞋，四季舒适，男女同款，新品上市，回收材料鞋底，反光鞋带" * 3,  # noqa: RUF001
    "arabic": "حذاء جري خفيف الوزن من صوف المارينو للرجال والنساء، مريح في جميع الفصول " * 3,
    "emoji": "🔥 Summer sale 🎉 everything must go 🛒✨ " * 6,
}


def _ink(rgba: np.ndarray) -> np.ndarray:
    return np.argwhere(rgba[..., 3] > 0)


@pytest.mark.parametrize("script", sorted(LONG_TITLES))
def test_long_text_wraps_then_shrinks_and_stays_in_its_box(script: str) -> None:
    text = LONG_TITLES[script]
    box = (300, 120)
    sprite = render_text(text, box, size=48, min_size=10)
    assert sprite.shape == (120, 300, 4)
    ink = _ink(sprite)
    assert len(ink) > 2000  # something was drawn
    # nothing touches the edges: a cut glyph would (the fitted lines lie inside the box)
    assert ink[:, 0].min() > 0 and ink[:, 0].max() < 119, (ink[:, 0].min(), ink[:, 0].max())
    assert ink[:, 1].min() > 0 and ink[:, 1].max() < 299, (ink[:, 1].min(), ink[:, 1].max())
    fitted = fit_text(text, box, 48, 10)
    assert fitted.size < 48 and len(fitted.lines) > 1  # wrapped, then shrunk
    assert all(w <= 300 for w in fitted.widths) and fitted.height <= 120


def test_short_text_keeps_its_size_and_a_huge_text_ends_in_an_ellipsis() -> None:
    assert fit_text("$19.99", (300, 120), 48, 10).size == 48
    fitted = fit_text("word " * 400, (300, 60), 30, 14)
    assert fitted.size == 14 and fitted.lines[-1].endswith("…")
    assert fitted.height <= 60 and all(w <= 300 for w in fitted.widths)


def test_every_script_has_a_shipped_font_and_draws_glyphs_not_boxes() -> None:
    for text in ("限时特价", "カタカナ", "تخفيض كبير", "🔥🎉🛒", "Preis €12,50 Ωμέγα Привет"):
        assert all(font_for(ch) is not None for ch in text if not ch.isspace()), text
    assert font_for("🔥") == EMOJI_FONT
    # distinct characters draw distinct shapes (a missing glyph draws the same box for all)
    shapes = {render_text(ch, (80, 80), size=60, min_size=60).tobytes() for ch in "限时特价"}
    assert len(shapes) == 4
    emoji = render_text("🔥", (80, 80), size=60, min_size=60)
    colours = emoji[emoji[..., 3] > 200][:, :3]
    assert len(colours) > 300 and colours.std(axis=0).max() > 20  # a colour bitmap, not outline


def test_arabic_is_shaped_right_to_left() -> None:
    word = "سلام"
    font = _font("NotoSansArabic-Bold.ttf", 60)
    joined = font.getlength(word, direction="rtl")
    isolated = sum(font.getlength(ch, direction="rtl") for ch in word)
    assert joined < isolated * 0.9  # joined letter forms are narrower than isolated ones
    # right to left: the first letter (seen) is drawn at the right end of the word
    first_only = render_text("س", (200, 80), size=50, min_size=50, align="start")
    ink = _ink(first_only)
    assert ink[:, 1].min() > 100  # "start" is the right side in right-to-left text


def test_prices_are_formatted_per_currency() -> None:
    assert format_price(Decimal("1299"), "USD") == "$1,299.00"
    assert format_price(Decimal("12.5"), "EUR") == "€12.50"
    assert format_price(Decimal("1200"), "JPY") == "¥1,200"
    assert format_price(Decimal("99"), "SAR") == "99.00 SAR"


def _product(title: str) -> Product:
    return Product(
        sku="S1",
        title=title,
        description="Porcelain",
        price=Decimal("129.99"),
        currency="USD",
        images=("a", "b", "c"),
        compare_at_price=Decimal("159.00"),
    )


@pytest.mark.parametrize("name", ["showcase", "sale", "sequence"])
@pytest.mark.parametrize("aspect", ASPECTS, ids=lambda a: a.value)
def test_templates_render_in_every_aspect_with_text_in_the_safe_area(
    name: str, aspect: AspectRatio
) -> None:
    brand = Brand(tagline="تخفيض كبير على جميع المنتجات", logo="upl_logo")
    title = LONG_TITLES["cjk"][:60] + " " + LONG_TITLES["latin"][:80] + " 🔥"
    composition, uses = compile_template(
        templates()[name], _product(title), brand, aspect, speed=3.0
    )
    full = frame_size(aspect, Resolution.P480)
    size = (full[0] // 4 * 2, full[1] // 4 * 2)  # half of 480p: what is checked is the layout
    area = safe_area(aspect)
    left, top = area.x * size[0], area.y * size[1]
    right, bottom = (area.x + area.w) * size[0], (area.y + area.h) * size[1]
    for layer in (*composition.texts, *composition.logos):
        x, y, w, h = pixel_box(layer.box, size)
        assert left - 1 <= x and x + w <= right + 1 and top - 1 <= y and y + h <= bottom + 1
    photo = load_image(sample_image_path())
    logo = np.full((60, 160, 3), (250, 180, 20), np.uint8)
    images = [photo if u.startswith("image") else logo for u in uses]
    bare = Composition(scenes=composition.scenes, end_card=composition.end_card)
    with_text = list(CompositionRenderer(composition, images, size, 8).frames())
    without = list(CompositionRenderer(bare, images, size, 8).frames())
    assert len(with_text) == len(without) > 0 and with_text[0].shape == (size[1], size[0], 3)
    changed = np.zeros(with_text[0].shape[:2], bool)
    for a, b in zip(with_text, without, strict=True):
        changed |= np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 0
    ys, xs = np.nonzero(changed)
    assert len(ys) > 500  # the overlays show
    assert xs.min() >= left - 1 and xs.max() <= right + 1, (xs.min(), xs.max(), left, right)
    assert ys.min() >= top - 1 and ys.max() <= bottom + 1, (ys.min(), ys.max(), top, bottom)
    roles = {t.role for t in composition.texts}
    assert {"title", "price", "cta"} <= roles
    if name == "sale":
        assert {"discount", "countdown"} <= roles
        assert "-18%" in {t.text for t in composition.texts}
    if name == "sequence":
        assert len(composition.scenes) == 3 and composition.scenes[1].transition == "flow"


def test_countdown_ticks_every_second() -> None:
    composition, _ = compile_template(
        templates()["sale"], _product("Cup"), Brand(), AspectRatio.SQUARE
    )
    layer = next(t for t in composition.texts if t.role == "countdown")
    renderer = CompositionRenderer(composition, [load_image(sample_image_path())], (240, 240), 4)
    frames = list(renderer.frames())
    x, y, w, h = pixel_box(layer.box, (240, 240))
    start = round(layer.start * 4) + 2  # after the fade-in
    assert len(frames) > start + 4 and frames[start][y : y + h, x : x + w].any()
    sprites = renderer.sprites[[t.role for t in composition.texts].index("countdown")]
    assert sprites.cache and len(sprites.cache) >= 2  # a new second drew a new text


def test_templates_are_data() -> None:
    found = templates()
    assert set(found) >= {"showcase", "sale", "sequence"}
    for template in found.values():
        assert set(template.layouts) >= {a.value for a in ASPECTS}


def test_plate_draws_behind_the_text() -> None:
    sprite = render_text("SALE", (200, 80), size=40, min_size=20, plate="#ff0000")
    red = (sprite[..., 0] > 200) & (sprite[..., 1] < 50) & (sprite[..., 3] == 255)
    assert red.sum() > 1000
    Image.fromarray(sprite)  # a valid RGBA image
    ImageDraw.Draw(Image.fromarray(sprite))


@pytest.mark.parametrize("aspect", ASPECTS, ids=lambda a: a.value)
def test_no_layer_sits_under_the_ai_generated_banner(aspect: AspectRatio) -> None:
    from reelforge.provenance.label import BANNER_HEIGHT, render

    for resolution in Resolution:
        width, height = frame_size(aspect, resolution)
        for text in ("AI-generated", "AI生成"):
            banner = render(text, width, height, BANNER_HEIGHT, "centre")
            top, bottom = banner.y, banner.y + banner.rgb.shape[0]
            for name, template in templates().items():
                composition, _ = compile_template(
                    template, _product("Cup"), Brand(logo="upl_logo"), aspect
                )
                for layer in (*composition.texts, *composition.logos):
                    _, y, _, h = pixel_box(layer.box, (width, height))
                    assert y >= bottom or y + h <= top, (name, aspect, resolution, layer)
