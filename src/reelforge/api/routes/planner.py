"""The capacity and pricing planner over HTTP, for operators: POST /v1/admin/plan replays a
demand on a modelled fleet (reelforge.planner) and answers the same report as
`reelforge plan --json`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from reelforge.api.deps import AdminAccount, PlatformDep
from reelforge.errors import InvalidRequest
from reelforge.planner import demand as demands
from reelforge.planner.fleet import parse_fleet
from reelforge.planner.plan import demand_from, plan_for
from reelforge.planner.policy import POLICIES, Policy, load_policy

router = APIRouter(tags=["reports"])

# an admin request runs in a worker thread; these bounds keep one run to seconds
MAX_API_ARRIVALS = 200_000


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    demand: Literal["population", "simulated", "jobs"] | None = Field(
        default=None, description="Where the demand comes from (or give demand_csv)."
    )
    demand_csv: str | None = Field(
        default=None, max_length=900_000, description="Arrivals as CSV (see `reelforge plan`)."
    )
    users: int = Field(default=1000, ge=1, le=20_000, description="population: users")
    days: int = Field(default=90, ge=1, le=365, description="population: days")
    seed: int = Field(default=1, ge=0, le=2**31, description="Same seed, same run.")
    fleet: dict[str, Any] = Field(description="Device kinds and an optional autoscale rule.")
    policy: str | dict[str, Any] | None = Field(
        default=None, description=f"One of {', '.join(POLICIES)}, or policy fields."
    )
    targets: dict[str, float] | None = Field(
        default=None, description="Plan → p95 wait target (s): search the smallest fleet."
    )
    target_margin: float | None = Field(
        default=None, gt=-1, lt=1, description="Also give the price reaching this margin."
    )
    measured: bool = Field(default=True, description="Use measured job timings where known.")


class CapacityPlan(BaseModel):
    """Waits, cost, revenue and margin per plan; the fleet's utilisation (docs/planner.md)."""

    model_config = ConfigDict(extra="allow")

    object: str = Field(default="capacity_plan", description="Always `capacity_plan`.")
    plans: dict[str, Any]
    totals: dict[str, Any]
    devices: dict[str, Any]


def _policy(value: str | dict[str, Any] | None) -> Policy:
    if isinstance(value, dict):
        return Policy.model_validate({"name": "custom", **value})
    if value is not None and value not in POLICIES:
        raise InvalidRequest(
            f"policy must be one of {', '.join(POLICIES)} or an object of policy fields",
            code="invalid_policy",
            field="policy",
        )
    return load_policy(value)


@router.post("/v1/admin/plan", response_model=CapacityPlan)
def plan(body: PlanRequest, p: PlatformDep, _admin: AdminAccount) -> dict[str, Any]:
    """Replay a demand on a modelled fleet: wait per plan, cost per clip, margin, utilisation;
    with `targets`, the smallest fleet meeting them; with `target_margin`, the price."""
    if (body.demand is None) == (body.demand_csv is None):
        raise InvalidRequest("give exactly one of demand and demand_csv", code="invalid_demand")
    fleet = parse_fleet(body.fleet)
    policy = _policy(body.policy)
    if body.demand_csv is not None:
        arrivals = demands.parse_csv(body.demand_csv)
    else:
        arrivals = demand_from(
            p, body.demand or "", users=body.users, days=body.days, seed=body.seed
        )
    if not arrivals:
        raise InvalidRequest("the demand holds no arrivals", code="empty_demand")
    if len(arrivals) > MAX_API_ARRIVALS:
        raise InvalidRequest(
            f"the API replays at most {MAX_API_ARRIVALS} arrivals; use `reelforge plan`",
            code="demand_too_large",
        )
    return plan_for(
        p,
        arrivals,
        fleet,
        policy,
        measured=body.measured,
        targets=body.targets,
        target_margin=body.target_margin,
        seed=body.seed,
    )
