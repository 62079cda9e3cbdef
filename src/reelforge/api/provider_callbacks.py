"""POST /v1/providers/{provider}/callback/{job_id}?token=…: where hosted providers (Kling,
Luma) report a task's progress when RF_PROVIDER_CALLBACKS is on. No API key: the token is an
HMAC of the provider and job under the fleet's URL key. The body is never read — a callback
only wakes the worker waiting on that job, which reads the task's state from the provider's
API itself. Not part of the public API (left out of the OpenAPI document)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from reelforge.api.deps import PlatformDep
from reelforge.services.jobs import provider_registry

router = APIRouter(tags=["providers"], include_in_schema=False)


@router.post("/v1/providers/{provider}/callback/{job_id}", status_code=204)
async def provider_callback(
    provider: str,
    job_id: str,
    p: PlatformDep,
    token: str = Query(default="", max_length=64),
) -> Response:
    await run_in_threadpool(
        provider_registry.receive_callback, p, provider[:20], job_id[:40], token
    )
    return Response(status_code=204)
