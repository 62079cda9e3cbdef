"""The modelled fleet: device kinds with a count, an hourly price, memory, start-up time
for scale-out, relative speed and the model families each serves (in the order its
workers read their queues); an optional autoscaling rule. Read from YAML or JSON:

    devices:
      - kind: H200            # matched against timing profiles' devices
        count: 4
        hourly_usd: 3.5
        memory_gb: 141
        startup_s: 180        # from asking for one more to its first job
        speed: 1.0            # relative to the profile's device (measured rows override)
        families: [wan, ltx]  # queues in worker order; empty: every GPU family
      - kind: cpu
        count: 2
        hourly_usd: 0.05
        families: [motion]
    autoscale:                # optional, per kind; a kind's count is its floor
      min: 1
      max: 16
      scale_out_wait_s: 120   # add a device when the oldest servable job waited this long
      scale_in_idle_s: 600    # give one back after this long idle
      interval_s: 60
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reelforge.errors import InvalidRequest, invalid_from

MAX_DEVICES = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceKind(_Strict):
    kind: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9 ._:-]+$")
    count: int = Field(default=1, ge=0, le=MAX_DEVICES)
    hourly_usd: float = Field(ge=0)
    memory_gb: float = Field(default=80, gt=0)
    startup_s: float = Field(default=120, ge=0)
    speed: float = Field(default=1.0, gt=0)
    families: tuple[str, ...] = ()

    @property
    def is_cpu(self) -> bool:
        return self.kind.lower().startswith("cpu")


class Autoscale(_Strict):
    min: int = Field(default=0, ge=0, le=MAX_DEVICES)
    max: int = Field(default=16, ge=1, le=MAX_DEVICES)
    scale_out_wait_s: float = Field(default=120, gt=0)
    scale_in_idle_s: float = Field(default=600, gt=0)
    interval_s: float = Field(default=60, gt=0)


class Fleet(_Strict):
    devices: tuple[DeviceKind, ...] = Field(min_length=1)
    autoscale: Autoscale | None = None

    @field_validator("devices")
    @classmethod
    def _unique(cls, devices: tuple[DeviceKind, ...]) -> tuple[DeviceKind, ...]:
        kinds = [d.kind for d in devices]
        if len(set(kinds)) != len(kinds):
            raise ValueError("each device kind is listed once")
        if sum(d.count for d in devices) > MAX_DEVICES:
            raise ValueError(f"a fleet holds at most {MAX_DEVICES} devices")
        return devices

    def with_counts(self, counts: dict[str, int]) -> Fleet:
        return self.model_copy(
            update={
                "devices": tuple(
                    d.model_copy(update={"count": counts.get(d.kind, d.count)})
                    for d in self.devices
                )
            }
        )

    def counts(self) -> dict[str, int]:
        return {d.kind: d.count for d in self.devices}


def parse_fleet(data: Any) -> Fleet:
    try:
        return Fleet.model_validate(data)
    except ValidationError as exc:
        invalid = invalid_from(exc)  # the one mapping, under the fleet's own code
        raise InvalidRequest(
            f"fleet: {invalid.message}", code="invalid_fleet", field=invalid.field
        ) from None


def read_fleet(path: Path) -> Fleet:
    if not path.is_file():
        raise InvalidRequest(f"fleet file {path} does not exist", code="invalid_fleet")
    if path.stat().st_size > 1_000_000:
        raise InvalidRequest(f"fleet file {path} is larger than 1 MB", code="invalid_fleet")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InvalidRequest(
            f"fleet file {path} is not valid: {exc}", code="invalid_fleet"
        ) from None
    return parse_fleet(data)
