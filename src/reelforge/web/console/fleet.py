"""/console: jobs and fleet — queue depth by queue and by model and priority, running jobs,
workers with their heartbeats, failures by code (services.ops.fleet)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from reelforge.services.accounts.signin import WebUser
from reelforge.services.ops import fleet
from reelforge.web.console.common import console_router, operator
from reelforge.web.pages import platform_of, render

router = console_router()


@router.get("/console")
def console_page(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    return render(
        request, "console/fleet.html", fleet=fleet.fleet(platform_of(request)), section="fleet"
    )
