"""The operators' KPI report over HTTP: GET /v1/admin/kpis."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from reelforge.api import schemas
from reelforge.api.deps import AdminAccount, PlatformDep
from reelforge.services.billing import reports

router = APIRouter(tags=["reports"])


@router.get("/v1/admin/kpis", response_model=schemas.KpiReport)
def kpis(
    p: PlatformDep,
    _admin: AdminAccount,
    since: str | None = Query(
        default=None, description="YYYY-MM-DD or ISO date-time (UTC), inclusive"
    ),
    until: str | None = Query(
        default=None, description="YYYY-MM-DD or ISO date-time (UTC), exclusive"
    ),
    simulated: bool = Query(default=False, description="report on the simulated data only"),
) -> dict[str, Any]:
    """Unit economics, revenue, conversion, retention and cohorts (docs/kpis.md)."""
    return reports.kpi_report(
        p,
        since=reports.parse_when(since, "since"),
        until=reports.parse_when(until, "until"),
        simulated=simulated,
    )
