"""/console/kpis: the KPI dashboard — a date range, real or simulated data, and one chart per
table of services.billing.dashboard. The page renders every table (readable without
JavaScript); /console/kpis/data.json hands the same tables to static/console.js, which draws
the charts (no inline script: the CSP forbids it); /console/kpis/NAME.csv downloads one."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from reelforge.errors import NotFound, ReelforgeError
from reelforge.services.accounts.signin import WebUser
from reelforge.services.billing import dashboard
from reelforge.web import security
from reelforge.web.console.common import console_router, operator, when
from reelforge.web.i18n import N_
from reelforge.web.pages import message, platform_of, render, translate

router = console_router()

# each table's title, how its chart draws it, and its columns' headings on the page
CHARTS: dict[str, dict[str, Any]] = {
    "conversion_funnel": {"title": N_("Free-to-paid conversion funnel"), "chart": "funnel"},
    "cost_over_time": {
        "title": N_("Average generation cost over time, by model (USD)"),
        "chart": "lines",
    },
    "gross_margin_by_plan": {"title": N_("Gross margin by plan (USD)"), "chart": "margin"},
    "cohort_retention": {
        "title": N_("Weekly cohort retention (D1, D7, D30)"),
        "chart": "heatmap",
    },
    "segment_shares": {"title": N_("Enterprise and commerce shares"), "chart": "shares"},
    "waste_by_cause": {"title": N_("Compute waste by cause (USD)"), "chart": "waste"},
    "revenue_by_source": {"title": N_("Revenue by source (USD)"), "chart": "revenue"},
}
HEADINGS = {
    "stage": N_("Stage"),
    "accounts": N_("Accounts"),
    "share": N_("Share"),
    "week": N_("Week"),
    "week_start": N_("Week starts"),
    "model": N_("Model"),
    "generations": N_("Generations"),
    "mean_cost_usd": N_("Mean cost (USD)"),
    "cost_usd": N_("Cost (USD)"),
    "plan": N_("Plan"),
    "credit_value_usd": N_("Credits consumed, value (USD)"),
    "margin_usd": N_("Margin (USD)"),
    "margin": N_("Margin %"),
    "signups": N_("Signups"),
    "segment": N_("Segment"),
    "generations_share": N_("Share of generations"),
    "cost_share": N_("Share of cost"),
    "cause": N_("Cause"),
    "jobs": N_("Jobs"),
    "source": N_("Source"),
    "revenue_usd": N_("Revenue (USD)"),
}
# the row labels the service writes as keys (stages, segments, causes, sources)
LABELS = {
    "free_signups": N_("Free signups"),
    "paid_by_end": N_("Paid by the end of the range"),
    "paid_within_30_days": N_("Paid within 30 days"),
    "enterprise": N_("Enterprise"),
    "commerce": N_("Commerce"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
    "blocked": N_("Blocked"),
    "subscription": N_("Subscriptions"),
    "topup": N_("Top-ups"),
    "invoice": N_("Invoices"),
}


def _query(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "since": (params.get("since") or "").strip()[:40],
        "until": (params.get("until") or "").strip()[:40],
        "simulated": params.get("simulated") in ("1", "true", "on"),
    }


def _dashboard(request: Request, q: dict[str, Any]) -> dict[str, Any]:
    data = dashboard.kpi_dashboard(
        platform_of(request),
        since=when(q["since"], "since"),
        until=when(q["until"], "until"),
        simulated=q["simulated"],
    )
    for table in data["tables"]:  # what the page and the chart show, in the reader's language
        table.update(
            title=translate(request, CHARTS[table["name"]]["title"]),
            chart=CHARTS[table["name"]]["chart"],
        )
        for column in table["columns"]:
            name = column["name"]  # d1, d7, d30 read the same in every language
            column["title"] = (
                translate(request, HEADINGS[name]) if name in HEADINGS else name.upper()
            )
        table["labels"] = {
            str(row[0]): translate(request, LABELS[str(row[0])])
            for row in table["rows"]
            if str(row[0]) in LABELS
        }
    return data


def _query_string(q: dict[str, Any]) -> str:
    return urlencode(
        {k: v for k, v in {**q, "simulated": "1" if q["simulated"] else ""}.items() if v}
    )


@router.get("/console/kpis")
def kpis_page(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    q = _query(request)
    try:
        data = _dashboard(request, q)
    except ReelforgeError as exc:
        return render(
            request,
            "console/kpis.html",
            status=exc.http_status,
            section="kpis",
            q=q,
            qs="",
            data=None,
            errors={exc.field or "since": message(request, exc)},
        )
    return render(
        request,
        "console/kpis.html",
        section="kpis",
        q=q,
        qs=_query_string(q),
        data=data,
        errors={},
    )


@router.get("/console/kpis/data.json")
def kpis_data(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    response = JSONResponse(_dashboard(request, _query(request)))
    return security.finish(request, response)


@router.get("/console/kpis/{name}.csv")
def kpis_csv(request: Request, name: str) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    if name not in dashboard.CHARTS:
        raise NotFound(f"no chart {name!r}")
    q = _query(request)
    data = dashboard.kpi_dashboard(
        platform_of(request),
        since=when(q["since"], "since"),
        until=when(q["until"], "until"),
        simulated=q["simulated"],
    )
    text = dashboard.chart_csv(data, name)
    response = Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )
    return security.finish(request, response)
