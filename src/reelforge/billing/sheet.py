"""The billing sheet: prices, plans, top-up packs, device rates and timing profiles, as data
(billing/data/billing.yaml, or the operator's copy named by RF_BILLING_FILE).

Pure arithmetic on it lives here: the credits a request costs, the hourly rate of a device,
the device seconds a clip is expected to take.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_SHEET = Path(__file__).parent / "data" / "billing.yaml"


class BillingSheetError(ValueError):
    """The billing file is missing or wrong; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prices(_Strict):
    per_second: dict[str, float]
    resolution: dict[str, float]
    preset: dict[str, float]
    features: dict[str, int] = Field(default_factory=dict)
    minimum: int = Field(default=1, ge=0)
    cache_hit: float = Field(default=0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _fallback(self) -> Prices:
        if "*" not in self.per_second:
            raise ValueError("prices.per_second needs a '*' entry for models not listed")
        if any(v < 0 for v in self.per_second.values()):
            raise ValueError("prices.per_second values must not be negative")
        return self


class Plan(_Strict):
    name: str = ""
    price_usd: float = Field(default=0, ge=0)  # per month
    daily_credits: int = Field(default=0, ge=0)
    monthly_credits: int = Field(default=0, ge=0)
    priority: int = Field(default=0, ge=0, le=9)
    concurrency: int = Field(default=1, ge=1)
    requests_per_minute: int = Field(default=60, ge=1)  # work-creating requests (POST ...)
    reads_per_minute: int = Field(default=600, ge=1)  # reads: polls, SSE, downloads, lists
    # Jobs accepted over `concurrency` that wait (status throttled) before 429 queue_full;
    # 0: none wait, every submission over the concurrency is refused.
    max_queued: int = Field(default=10, ge=0)
    postpaid: bool = False  # enterprise: spend now, invoiced monthly at credit_usd
    credit_usd: float | None = Field(default=None, ge=0)
    stripe_price: str | None = None  # Stripe Price id of the subscription

    @property
    def paid(self) -> bool:
        return self.price_usd > 0 or self.postpaid

    @property
    def unit_usd(self) -> float:
        """What one credit of this plan's grant earns (revenue per credit)."""
        if self.postpaid:
            return self.credit_usd or 0.0
        return self.price_usd / self.monthly_credits if self.monthly_credits else 0.0


class Pack(_Strict):
    credits: int = Field(gt=0)
    price_usd: float = Field(gt=0)
    stripe_price: str | None = None

    @property
    def unit_usd(self) -> float:
        return self.price_usd / self.credits


class Topups(_Strict):
    valid_days: int = Field(default=365, ge=1)
    packs: dict[str, Pack] = Field(default_factory=dict)


class Devices(_Strict):
    hourly_usd: dict[str, float]
    cpu_hourly_usd: float = Field(default=0.05, ge=0)


class Storage(_Strict):
    gb_month_usd: float = Field(default=0.023, ge=0)
    months: float = Field(default=3, ge=0)


class BillingSheet(_Strict):
    version: str
    prices: Prices
    refund: dict[str, bool] = Field(
        default_factory=lambda: {"failed": True, "cancelled": True, "blocked": True}
    )
    plans: dict[str, Plan]
    topups: Topups = Field(default_factory=Topups)
    devices: Devices
    storage: Storage = Field(default_factory=Storage)
    profiles: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _plans(self) -> BillingSheet:
        if "free" not in self.plans:
            raise ValueError("plans needs a 'free' plan: new accounts start on it")
        for name, plan in self.plans.items():
            object.__setattr__(plan, "name", name)
        return self

    # -- plans ----------------------------------------------------------------------------

    def plan(self, name: str) -> Plan:
        try:
            return self.plans[name]
        except KeyError:
            raise KeyError(f"unknown plan {name!r}; plans: {', '.join(self.plans)}") from None

    def plan_for_price(self, stripe_price: str) -> Plan | None:
        return next((p for p in self.plans.values() if p.stripe_price == stripe_price), None)

    # -- prices ---------------------------------------------------------------------------

    def credits_for(
        self,
        *,
        model: str,
        family: str,
        duration: float,
        resolution: str,
        preset: str | None,
        features: tuple[str, ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        """Credits a request costs, and how they were computed."""
        per_second = self.prices.per_second
        rate = per_second.get(model, per_second.get(family, per_second["*"]))
        res = self.prices.resolution.get(resolution, 1.0)
        pre = self.prices.preset.get(preset or "final", 1.0)
        extras = {f: self.prices.features[f] for f in features if f in self.prices.features}
        raw = rate * duration * res * pre + sum(extras.values())
        credits = max(self.prices.minimum, math.ceil(round(raw, 6)))
        return credits, {
            "per_second": rate,
            "duration": duration,
            "resolution": res,
            "preset": pre,
            "features": extras,
        }

    def cache_hit_credits(self, credits: int) -> int:
        return math.ceil(round(credits * self.prices.cache_hit, 6))

    def refunds(self, status: str) -> bool:
        """Whether reserved credits go back when a job ends with `status`."""
        return self.refund.get(status, True)

    # -- costs ----------------------------------------------------------------------------

    def hourly_usd(self, device: str | None) -> float:
        """The hourly rate of a device, by the first configured name found in it."""
        name = (device or "cpu").lower()
        for key, rate in self.devices.hourly_usd.items():
            if key.lower() in name:
                return rate
        return self.devices.hourly_usd.get("cpu", self.devices.cpu_hourly_usd)

    def profile_family(self, model: str) -> str | None:
        """The timing-profile family a model name belongs to, for pricing a model that is
        not registered yet: the name itself, or a family name followed by a size or version
        (`wan-14b`, `wan2.1-t2v-1.3b`, `ltx_video`, `cogvideox-5b`); None if none fits."""
        name = model.strip().lower()
        families = [k for k, v in self.profiles.items() if isinstance(v, dict)]
        for family in sorted(families, key=len, reverse=True):  # the longest name first
            rest = name[len(family) :]
            if name.startswith(family.lower()) and (not rest or not rest[0].isalpha()):
                return family
        return None

    def profile_seconds(
        self, *, model: str, family: str, resolution: str, preset: str | None
    ) -> tuple[float, str] | None:
        """(device seconds per output second, device) from the timing profile, if listed."""
        profile = self.profiles.get(model) or self.profiles.get(family)
        if not isinstance(profile, dict) or resolution not in profile:
            return None
        seconds = float(profile[resolution])
        if preset == "draft":
            seconds *= float(self.profiles.get("draft_factor", 0.3))
        return seconds, str(profile.get("device", "cpu"))


def load_sheet(path: Path | None = None) -> BillingSheet:
    """The billing sheet at `path` (default: the bundled one)."""
    return _load(str(path or DEFAULT_SHEET))


@lru_cache(maxsize=8)
def _load(path: str) -> BillingSheet:
    file = Path(path)
    if not file.is_file():
        raise BillingSheetError(f"billing file {file} does not exist")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        return BillingSheet.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise BillingSheetError(f"billing file {file} is invalid: {exc}") from None
