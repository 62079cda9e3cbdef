"""Timing profiles: device seconds per second of output (p50, p90) and peak memory, per
model family x resolution x preset x device kind. Measured rows come from the platform's own
job records (services.ops.timings, the metering every finished job carries); where none
exist, the billing sheet's cited profiles are used (their sources are in billing.yaml) and
memory from planner/data/memory.yaml. Every row says which."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from reelforge.billing.sheet import BillingSheet
from reelforge.planner.fleet import DeviceKind

MEMORY_FILE = Path(__file__).parent / "data" / "memory.yaml"
P90_OVER_P50 = 1.15  # cited figures are single runs: a fixed step count varies little
MIN_SAMPLES = 3  # measured rows need this many finished jobs
Z90 = 1.2816  # the standard normal's 90th percentile


@dataclass(frozen=True)
class Profile:
    family: str
    resolution: str
    preset: str  # final | draft
    device: str  # the device kind the figures are for
    p50: float  # device seconds per second of output
    p90: float
    memory_gb: float
    source: str  # "measured (N jobs)" or "cited (billing sheet ...)"

    def sample(self, rng: random.Random, speed: float = 1.0) -> float:
        """Device seconds per output second for one job: lognormal through p50 and p90."""
        sigma = math.log(self.p90 / self.p50) / Z90 if self.p90 > self.p50 > 0 else 0.0
        return self.p50 * math.exp(rng.gauss(0.0, sigma)) / speed if sigma else self.p50 / speed


@lru_cache(maxsize=1)
def _memory() -> dict[str, dict[str, float]]:
    data: dict[str, dict[str, float]] = yaml.safe_load(MEMORY_FILE.read_text(encoding="utf-8"))
    return data


def memory_gb(family: str, resolution: str) -> float:
    return float(_memory().get(family, {}).get(resolution, 0.0))


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class ProfileBook:
    """Looks a profile up: measured for the device kind if the platform has measured it,
    else the cited one scaled by the device kind's relative speed."""

    def __init__(
        self,
        sheet: BillingSheet,
        measured: list[Profile] | None = None,
        *,
        cited_spread: float = P90_OVER_P50,
    ):
        self.sheet = sheet
        self.cited_spread = cited_spread  # p90 / p50 of cited figures (1.0: no spread)
        self.measured = {
            (m.family, m.resolution, m.preset, m.device.lower()): m for m in measured or []
        }

    def cited(self, family: str, resolution: str, preset: str) -> Profile | None:
        found = self.sheet.profile_seconds(
            model=family, family=family, resolution=resolution, preset=preset
        )
        if found is None:
            return None
        seconds, device = found
        return Profile(
            family,
            resolution,
            preset,
            device,
            seconds,
            seconds * self.cited_spread,
            memory_gb(family, resolution),
            f"cited (billing sheet {self.sheet.version}, profiles.{family})",
        )

    def lookup(
        self, family: str, resolution: str, preset: str, kind: DeviceKind
    ) -> tuple[Profile, float] | None:
        """(profile, speed divisor to apply) for a job on a device of `kind`; None when
        nothing is known about the family at that resolution."""
        measured = self.measured.get((family, resolution, preset, kind.kind.lower()))
        if measured is not None:
            return measured, 1.0
        cited = self.cited(family, resolution, preset)
        if cited is None:
            return None
        same = cited.device.lower() == kind.kind.lower()
        return cited, 1.0 if same else kind.speed

    def rows(self, families: set[str], resolutions: set[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for m in self.measured.values():
            out.append(_row(m))
        for family in sorted(families):
            for res in sorted(resolutions):
                for preset in ("final", "draft"):
                    c = self.cited(family, res, preset)
                    if c is not None:
                        out.append(_row(c))
        return out


def _row(p: Profile) -> dict[str, Any]:
    return {
        "family": p.family,
        "resolution": p.resolution,
        "preset": p.preset,
        "device": p.device,
        "p50_s_per_output_s": round(p.p50, 4),
        "p90_s_per_output_s": round(p.p90, 4),
        "peak_memory_gb": p.memory_gb,
        "source": p.source,
    }


def measured_profiles(records: list[dict[str, Any]], kinds: list[str]) -> list[Profile]:
    """Profiles from finished jobs' records ({family, resolution, preset, device, duration,
    seconds}): grouped by family, resolution, preset and the fleet's device kind found in the
    device name (as the billing sheet matches rates); groups under MIN_SAMPLES are left out."""
    groups: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for r in records:
        device = str(r.get("device") or "cpu").lower()
        kind = next((k for k in kinds if k.lower() in device), None)
        duration = float(r.get("duration") or 0)
        if kind is None or duration <= 0 or float(r.get("seconds") or 0) <= 0:
            continue
        key = (str(r["family"]), str(r["resolution"]), str(r.get("preset") or "final"), kind)
        groups[key].append(float(r["seconds"]) / duration)
    out = []
    for (family, res, preset, kind), values in sorted(groups.items()):
        if len(values) < MIN_SAMPLES:
            continue
        out.append(
            Profile(
                family,
                res,
                preset,
                kind,
                quantile(values, 0.5),
                quantile(values, 0.9),
                memory_gb(family, res),
                f"measured ({len(values)} jobs)",
            )
        )
    return out
