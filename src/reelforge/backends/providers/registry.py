"""The hosted-video providers reelforge can call, by name: each is a module of this package
exposing `PROVIDER` (a `base.Provider`). Loaded on first use, so a deployment that calls one
provider imports one module."""

from __future__ import annotations

import importlib
import importlib.util
from typing import cast

from reelforge.backends.providers.base import Provider
from reelforge.errors import InvalidRequest

# name → module (the names are those of the RF_PROVIDER_<NAME>_* settings)
MODULES: dict[str, str] = {
    "kling": "reelforge.backends.providers.kling",
    "runway": "reelforge.backends.providers.runway",
    "luma": "reelforge.backends.providers.luma",
    "minimax": "reelforge.backends.providers.minimax",
    "google": "reelforge.backends.providers.veo",
    "openai": "reelforge.backends.providers.openai",
}
_LOADED: dict[str, Provider] = {}


def available() -> list[str]:
    """Providers whose module ships with this installation."""
    return [name for name in MODULES if importlib.util.find_spec(MODULES[name]) is not None]


def get_provider(name: str) -> Provider:
    provider = _LOADED.get(name)
    if provider is not None:
        return provider
    module_name = MODULES.get(name)
    if module_name is None or importlib.util.find_spec(module_name) is None:
        raise InvalidRequest(
            f"unknown provider {name!r}; one of {', '.join(available())}",
            code="unknown_provider",
            field="provider",
        )
    provider = cast(Provider, importlib.import_module(module_name).PROVIDER)
    _LOADED[name] = provider
    return provider
