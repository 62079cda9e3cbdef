"""Whether the `neural` extra (torch, diffusers, transformers) is installed, without
importing it."""

from __future__ import annotations

import importlib.util
import sys

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
