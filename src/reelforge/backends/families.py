"""The model families reelforge can serve, by name: the registry that names each family
folder (each family builds on backends.neural.family). It sits beside the families, not in
backends/neural, so the neural backend is handed its family instead of looking it up here."""

from __future__ import annotations

from reelforge.backends.cogvideox import FAMILY as COGVIDEOX
from reelforge.backends.ltx import FAMILY as LTX
from reelforge.backends.neural.family import Family
from reelforge.backends.wan import FAMILY as WAN

FAMILIES: dict[str, Family] = {f.name: f for f in (WAN, LTX, COGVIDEOX)}
