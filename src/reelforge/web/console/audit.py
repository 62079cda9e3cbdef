"""/console/audit: the audit log searched by account, job, actor, action and time range, and
the same search as CSV (services.governance.audit)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from reelforge.errors import ReelforgeError
from reelforge.services.accounts.signin import WebUser
from reelforge.services.governance import audit
from reelforge.web import security
from reelforge.web.console.common import console_router, operator, when
from reelforge.web.pages import message, platform_of, render

router = console_router()

FILTERS = ("account", "job", "actor", "action", "since", "until")


def _search(request: Request, limit: int | None) -> tuple[dict[str, str], list[dict[str, Any]]]:
    q = {f: (request.query_params.get(f) or "").strip()[:200] for f in FILTERS}
    entries = audit.search(
        platform_of(request),
        account=q["account"] or None,
        job=q["job"] or None,
        actor=q["actor"] or None,
        action=q["action"] or None,
        since=when(q["since"], "since"),
        until=when(q["until"], "until"),
        limit=limit,
    )
    return q, entries


@router.get("/console/audit")
def audit_page(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    try:
        q, entries = _search(request, audit.SEARCH_LIMIT)
    except ReelforgeError as exc:
        q = {f: (request.query_params.get(f) or "")[:200] for f in FILTERS}
        return render(
            request,
            "console/audit.html",
            status=exc.http_status,
            section="audit",
            q=q,
            entries=[],
            errors={exc.field or "since": message(request, exc)},
        )
    return render(
        request,
        "console/audit.html",
        section="audit",
        q=q,
        entries=entries,
        limit=audit.SEARCH_LIMIT,
        errors={},
    )


@router.get("/console/audit.csv")
def audit_csv(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    _, entries = _search(request, None)  # the whole search, not only the page's first rows
    response = StreamingResponse(
        (line.encode() for line in audit.csv_lines(entries)),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit.csv"'},
    )
    security.finish(request, response)
    return response
