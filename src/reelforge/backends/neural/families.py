"""The model families reelforge can serve, by name, and whether the neural extra is installed."""

from __future__ import annotations

import importlib.util
import sys

from reelforge.backends.cogvideox import FAMILY as COGVIDEOX
from reelforge.backends.ltx import FAMILY as LTX
from reelforge.backends.neural.family import Family
from reelforge.backends.wan import FAMILY as WAN

FAMILIES: dict[str, Family] = {f.name: f for f in (WAN, LTX, COGVIDEOX)}
NEURAL_PACKAGES = ("torch", "diffusers", "transformers")
EXTRA_HINT = "pip install 'reelforge[neural]'"


def missing_packages() -> list[str]:
    """The packages of the `neural` extra that are not installed (no import is done)."""
    missing = []
    for name in NEURAL_PACKAGES:
        if name in sys.modules:
            if sys.modules[name] is None:  # import explicitly blocked
                missing.append(name)
        elif importlib.util.find_spec(name) is None:
            missing.append(name)
    return missing
