"""The dated price sheet of hosted providers (billing/data/providers.yaml): what a provider
charges per second of output, by remote model, reelforge mode and resolution, with its source.

A model registered with `--price-file FILE` carries a sheet of its own in the same shape as one
model's entry, plus its date and source::

    date: "2026-12-01"
    source: "our Kling enterprise contract, schedule B"
    per_second:
      "*": {"720p": 0.03, "1080p": 0.05}     # mode ("*": any) -> resolution ("*": any) -> USD
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_PROVIDER_SHEET = Path(__file__).parent / "data" / "providers.yaml"

# mode ("*": any) -> resolution ("*": any) -> USD per second
Rates = dict[str, dict[str, float]]


class ProviderPriceError(ValueError):
    """A price sheet or price file is missing or wrong; the message names the field."""


def _check_rates(rates: Rates) -> Rates:
    for mode, by_resolution in rates.items():
        for resolution, usd in by_resolution.items():
            if usd < 0 or usd > 100:
                raise ValueError(f"{mode}/{resolution}: {usd} USD per second is out of range")
    return rates


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderEntry(_Strict):
    source: str = Field(min_length=1)
    date: str = Field(min_length=1)
    models: dict[str, Rates]

    @field_validator("models")
    @classmethod
    def _rates(cls, v: dict[str, Rates]) -> dict[str, Rates]:
        for rates in v.values():
            _check_rates(rates)
        return v


class ProviderSheet(_Strict):
    version: str
    providers: dict[str, ProviderEntry]


class PriceFile(_Strict):
    """One model's own prices (`reelforge models add ... --price-file FILE`)."""

    date: str = Field(min_length=1, max_length=40)
    source: str = Field(min_length=1, max_length=500)
    per_second: Rates

    @field_validator("per_second")
    @classmethod
    def _rates(cls, v: Rates) -> Rates:
        if not v:
            raise ValueError("per_second needs at least one mode")
        return _check_rates(v)


def rate_for(rates: Rates, mode: str, resolution: str) -> float | None:
    """USD per second for a mode and resolution, with "*" as the fallback of each."""
    by_resolution = rates.get(mode) or rates.get("*")
    if not by_resolution:
        return None
    value = by_resolution.get(resolution, by_resolution.get("*"))
    return None if value is None else float(value)


def lookup(
    sheet: ProviderSheet, provider: str, remote_model: str, mode: str, resolution: str
) -> tuple[float, str] | None:
    """(USD per second, "sheet <version>: <source>") from the built-in sheet, or None."""
    entry = sheet.providers.get(provider)
    if entry is None or remote_model not in entry.models:
        return None
    rate = rate_for(entry.models[remote_model], mode, resolution)
    if rate is None:
        return None
    return rate, f"providers.yaml {sheet.version} ({entry.date}): {' '.join(entry.source.split())}"


def parse_price_file(data: Any) -> PriceFile:
    try:
        return PriceFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise ProviderPriceError(f"price file: {where}: {first['msg']}") from None


def read_price_file(path: Path) -> PriceFile:
    if not path.is_file():
        raise ProviderPriceError(f"price file {path} does not exist")
    if path.stat().st_size > 64 * 1024:
        raise ProviderPriceError(f"price file {path} is larger than 64 KiB")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ProviderPriceError(f"price file {path} is not YAML: {exc}") from None
    return parse_price_file(data)


def load_provider_sheet(path: Path | None = None) -> ProviderSheet:
    return _load(str(path or DEFAULT_PROVIDER_SHEET))


@lru_cache(maxsize=4)
def _load(path: str) -> ProviderSheet:
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        return ProviderSheet.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ProviderPriceError(f"provider price sheet {file} is invalid: {exc}") from None
