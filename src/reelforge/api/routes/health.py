"""/healthz: is the database reachable, how deep are the queues, which workers are live;
GET /v1/admin/workers: every worker seen lately, live or not (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from reelforge import __version__
from reelforge.api import schemas
from reelforge.api.deps import AdminAccount, PlatformDep
from reelforge.app import checks
from reelforge.services.jobs import workers

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=schemas.Health,
    responses={503: {"model": schemas.Health, "description": "degraded"}},
)
def healthz(p: PlatformDep) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok", "version": __version__}
    try:
        with p.db.session(write=False) as s:
            s.execute(text("SELECT 1"))
        body["database"] = "ok"
    except Exception as exc:  # report, don't crash: this is what load balancers poll
        body.update(status="degraded", database=f"error: {type(exc).__name__}")
    try:
        body["queues"] = {q: p.queue.size(q) for q in p.backends.queues()}
    except Exception as exc:
        body.update(status="degraded", queue=f"error: {type(exc).__name__}")
    if body.get("database") == "ok":  # workers report through the database (any machine)
        try:
            body["workers"] = workers.list_workers(p)
        except Exception as exc:  # an API older than the registry's migration, say
            body["workers"] = []
            body["workers_error"] = f"error: {type(exc).__name__}"
    for part, state in checks.health(p).items():  # the blob store and the data directory
        body[part] = state
        if state != "ok":
            body["status"] = "degraded"
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/v1/admin/workers", response_model=schemas.WorkerList, tags=["admin"])
def list_all_workers(p: PlatformDep, _admin: AdminAccount) -> dict[str, Any]:
    """Every worker seen in the last week, live or stopped, newest heartbeat first."""
    return {"object": "list", "data": workers.list_workers(p, live_only=False)}
