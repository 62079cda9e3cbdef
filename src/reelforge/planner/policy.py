"""Scheduling policies the planner compares. `default` is what the platform does today:
the worker rules (queues per model family, read in the worker's order; within a queue the
highest plan priority first, then submit order), each plan's concurrency (jobs over it wait
as throttled, in submit order; past max_queued they are refused), the result cache, and
cancellations. The others change one thing, so their effect can be read off a comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelforge.errors import InvalidRequest


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "default"
    priority_by_plan: bool = True  # the plan's priority orders each queue (else submit order)
    concurrency: bool = True  # each plan's concurrency and max_queued apply
    cache: bool = True  # repeats answered by the result cache use no device time
    warm_affinity: bool = True  # an idle device takes its warm family's queue first
    model_load_s: float = Field(default=60.0, ge=0)  # switching a device to another family
    # draft-then-final: this share of final requests is first run as a draft, and this share
    # of those drafts is promoted to a final (the rest end at the draft)
    draft_share: float = Field(default=0.0, ge=0, le=1)
    promote_share: float = Field(default=0.4, ge=0, le=1)
    # a job still waiting this long after it was submitted is lost (the user gave up)
    timeout_s: float = Field(default=3600.0, gt=0)
    # jobs that fail on the device (out of memory, ...) use half their time and earn nothing;
    # the simulator's population model states the same rates
    failure_rate: dict[str, float] = Field(default_factory=lambda: {"motion": 0.005, "*": 0.03})

    def fails(self, family: str) -> float:
        return self.failure_rate.get(family, self.failure_rate.get("*", 0.0))


POLICIES: dict[str, Policy] = {
    "default": Policy(),
    "fifo": Policy(name="fifo", priority_by_plan=False),
    "no-cache": Policy(name="no-cache", cache=False),
    "no-affinity": Policy(name="no-affinity", warm_affinity=False),
    "draft-first": Policy(name="draft-first", draft_share=0.6, promote_share=0.4),
}


def load_policy(value: str | None) -> Policy:
    """A named policy, or a YAML file of Policy fields."""
    if not value:
        return POLICIES["default"]
    if value in POLICIES:
        return POLICIES[value]
    path = Path(value)
    if not path.is_file():
        raise InvalidRequest(
            f"policy {value!r} is neither a file nor one of: {', '.join(POLICIES)}",
            code="invalid_policy",
            field="policy",
        )
    if path.stat().st_size > 100_000:
        raise InvalidRequest(f"policy file {path} is too large", code="invalid_policy")
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Policy.model_validate({"name": path.stem, **data})
    except (yaml.YAMLError, ValidationError, TypeError) as exc:
        raise InvalidRequest(
            f"policy file {path} is invalid: {exc}", code="invalid_policy"
        ) from None
