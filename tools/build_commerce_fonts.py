"""Build the fonts that ship in src/reelforge/assets/fonts/ (run once by a maintainer; the
outputs are committed). Subsets of the Noto fonts (SIL Open Font License 1.1) as Debian ships
them (`apt-get install fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji`), cut with
fontTools (`pip install fonttools` in a scratch venv):

- NotoSans-Bold: Latin, Latin-1, Latin Extended-A/B, Greek, Cyrillic, punctuation, currency;
- NotoSansArabic-Bold: the Arabic blocks with every OpenType layout feature (shaping);
- NotoSansSC-Bold: the Simplified Chinese face of Noto Sans CJK cut to GB 2312 level 1
  (the 3,755 most common hanzi), kana, CJK punctuation and full-width forms;
- NotoColorEmoji: the colour bitmaps of the emoji in EMOJI below (common in shop copy).

coverage.json lists each font's code points, so the renderer picks a font per character
without fontTools at run time.

    /tmp/fontvenv/bin/python tools/build_commerce_fonts.py
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

OUT = Path(__file__).resolve().parents[1] / "src" / "reelforge" / "assets" / "fonts"
NOTO = Path("/usr/share/fonts/truetype/noto")
CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")

LATIN = [
    (0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x1E00, 0x1EFF),
    (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2212, 0x2212),
]  # fmt: skip
ARABIC = [(0x600, 0x6FF), (0x750, 0x77F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF), (0x20, 0x40)]
KANA_PUNCT = [(0x3000, 0x30FF), (0xFF00, 0xFFEF)]
EMOJI = (
    "🔥✨🎉💥⭐🌟🛒🛍💯❤🧡💛💚💙💜🖤🤍👍👌👏🙌💪🎁🎀⏰⌛⏳📦🚚💰💸💳🏷🆕🆓🔝✅✔❌⚡☀🌙🌈🌸🌹🌿🍀"
    "🍎🍓🍒🍋🍫🍪🍰☕🍵🍷👗👕👖👟👠👜👓💍💄🧴🧸📱💻⌚📷🎧🎮🏠🛋🪴🐶🐱😀😃😄😁😊😍🥰😎🤩🥳😋😉👀"
    "💎👑🎯🏆🥇📣📢🔔💬➡⬅⬆⬇↗🔴🟢🔵🟡⚪⚫"
)


def _cut(font: TTFont, codepoints: set[int], out: Path, *, keep_layout: bool = True) -> set[int]:
    options = subset.Options()
    options.layout_features = ["*"] if keep_layout else []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["DSIG"]
    sub = subset.Subsetter(options)
    sub.populate(unicodes=codepoints)
    sub.subset(font)
    font.save(out)
    return set(TTFont(out).getBestCmap())


def _ranges(spans: list[tuple[int, int]]) -> set[int]:
    return {c for lo, hi in spans for c in range(lo, hi + 1)}


def _gb2312_level1() -> set[int]:
    found = set()
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                found.add(ord(bytes([hi, lo]).decode("gb2312")))
    return found


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    coverage: dict[str, list[int]] = {}
    coverage["NotoSans-Bold.ttf"] = sorted(
        _cut(TTFont(NOTO / "NotoSans-Bold.ttf"), _ranges(LATIN), OUT / "NotoSans-Bold.ttf")
    )
    coverage["NotoSansArabic-Bold.ttf"] = sorted(
        _cut(
            TTFont(NOTO / "NotoSansArabic-Bold.ttf"),
            _ranges(ARABIC),
            OUT / "NotoSansArabic-Bold.ttf",
        )
    )
    collection = TTCollection(CJK)
    sc = next(f for f in collection.fonts if "SC" in f["name"].getDebugName(1))
    cjk_points = _gb2312_level1() | _ranges(KANA_PUNCT) | _ranges(LATIN[:1])
    coverage["NotoSansSC-Bold.otf"] = sorted(_cut(sc, cjk_points, OUT / "NotoSansSC-Bold.otf"))
    emoji = {ord(c) for c in EMOJI} | {0xFE0F, 0x200D}
    coverage["NotoColorEmoji.ttf"] = sorted(
        _cut(TTFont(NOTO / "NotoColorEmoji.ttf"), emoji, OUT / "NotoColorEmoji.ttf")
    )
    (OUT / "coverage.json").write_text(json.dumps(coverage, separators=(",", ":")) + "\n")
    for name in coverage:
        print(name, (OUT / name).stat().st_size, len(coverage[name]))


if __name__ == "__main__":
    main()
