"""The operator console (/console): one module per page — fleet (jobs, queues, workers,
failures), reviews (the review queue and appeals), likeness (the consent registry), audit
(search and CSV export), models (the registry) and kpis (the dashboard's charts and their
tables). Every route answers 403 to a signed-in creator (pages.require_operator, on the
server); the pages call the same services as the API's admin routes and hold no logic."""

from __future__ import annotations

from fastapi import APIRouter

from reelforge.web.console import audit, fleet, kpis, likeness, models, planner, reviews
from reelforge.web.pages import register_pages

register_pages("/console/")

router = APIRouter(include_in_schema=False)
for _page in (fleet, reviews, likeness, audit, models, kpis, planner):
    router.include_router(_page.router)
