"""/console/planner: the capacity and pricing planner's charts. A form (a demand — the
simulator's population, the platform's simulated or real jobs, or a CSV of arrivals — a
fleet as YAML, a policy, optional wait targets per plan and a target margin) runs the same
planner as POST /v1/admin/plan (reelforge.planner.plan: demand_from, plan_for) within the
same bounds, and the page shows utilisation over time, wait by plan and margin by plan, each
chart with its table, plus the search result and the pricing when asked. static/planner.js
draws the charts from the report in the `data-report` attribute (no inline script)."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from reelforge.app.platform import Platform
from reelforge.errors import InvalidRequest, ReelforgeError
from reelforge.planner import demand as demands
from reelforge.planner.fleet import parse_fleet
from reelforge.planner.plan import DEMAND_SOURCES, demand_from, plan_for
from reelforge.planner.policy import POLICIES
from reelforge.services.accounts.signin import WebUser
from reelforge.services.billing.charges import sheet_of
from reelforge.web.console.common import checked, console_router, operator
from reelforge.web.i18n import N_
from reelforge.web.pages import message, platform_of, register_errors, render, translate

router = console_router()

# the bounds of POST /v1/admin/plan (api/routes/planner.py): one run stays within seconds
MAX_ARRIVALS = 200_000
MAX_USERS = 20_000
MAX_DAYS = 365
MAX_CSV_BYTES = 900_000
MAX_FLEET_CHARS = 100_000

# docs/fleet-scale-from-zero.yaml (a test keeps the two equal): GPUs started on demand
DEFAULT_FLEET = """\
devices:
  - {kind: H200, count: 0, hourly_usd: 3.5, memory_gb: 141, startup_s: 180}
  - {kind: cpu, count: 1, hourly_usd: 0.05, memory_gb: 16, startup_s: 5}
autoscale: {min: 0, max: 32, scale_out_wait_s: 30, scale_in_idle_s: 300, interval_s: 30}
"""

DEMANDS = (
    ("population", N_("Simulated population (users, days, seed)")),
    ("simulated", N_("This platform's simulated jobs (reelforge simulate)")),
    ("jobs", N_("This platform's real jobs")),
    ("csv", N_("A CSV file of arrivals")),
)
assert {d for d, _ in DEMANDS} == {*DEMAND_SOURCES, "csv"}
POLICY_TEXT = {
    "default": N_("default (today's rules)"),
    "fifo": N_("fifo (no plan priority)"),
    "no-cache": N_("no-cache (result cache off)"),
    "no-affinity": N_("no-affinity (no warm model)"),
    "draft-first": N_("draft-first (drafts, then finals)"),
}
# the charts' axis and series names (also the tables' headings)
CHART_TEXT = {
    "hour": N_("Hour"),
    "utilisation": N_("Utilisation %"),
    "devices": N_("Devices up"),
    "p50": N_("Wait p50 (s)"),
    "p95": N_("Wait p95 (s)"),
    "margin": N_("Margin % (job cost)"),
    "fleet_margin": N_("Margin % (fleet cost, idle included)"),
}
DEFAULTS = {
    "demand": "population",
    "users": "200",
    "days": "14",
    "seed": "1",
    "policy": "default",
    "target_margin": "",
    "measured": "1",
}

register_errors(
    {
        "invalid_fleet": N_("The fleet is not valid; see the detail below."),
        "invalid_demand": N_("The demand is not valid; see the detail below."),
        "empty_demand": N_("The demand holds no arrivals."),
        "demand_too_large": N_(
            "The console replays at most 200,000 arrivals; use `reelforge plan` for more."
        ),
        "invalid_policy": N_("Choose one of the listed policies."),
        "invalid_target": N_("A target margin lies between -100 % and 100 %."),
        "targets_unreachable": N_(
            "No fleet of up to 512 devices meets these wait targets; relax them or add a kind."
        ),
        "invalid_number": N_("Enter a whole number within the limits shown."),
    }
)


def _int(form: dict[str, str], name: str, low: int, high: int) -> int:
    text = form.get(name, "").strip()
    try:
        value = int(text)
    except ValueError:
        raise InvalidRequest(
            f"{name} is a whole number", code="invalid_number", field=name
        ) from None
    if not low <= value <= high:
        raise InvalidRequest(
            f"{name} lies between {low} and {high}", code="invalid_number", field=name
        )
    return value


def _float(text: str, name: str, code: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidRequest(f"{name} is a number", code=code, field=name) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidRequest(f"{name} is a number", code=code, field=name)
    return value


def fleet_of(text: str) -> Any:
    """The fleet's YAML (or JSON) text as data: size-limited, no anchors or aliases (an alias
    bomb would make a small text into a huge structure)."""
    if len(text) > MAX_FLEET_CHARS:
        raise InvalidRequest(
            f"the fleet has at most {MAX_FLEET_CHARS} characters",
            code="invalid_fleet",
            field="fleet",
        )
    try:
        for ev in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(ev, yaml.AliasEvent):
                raise InvalidRequest(
                    "the fleet must not use YAML aliases", code="invalid_fleet", field="fleet"
                )
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidRequest(
            f"the fleet is not valid YAML: {exc}", code="invalid_fleet", field="fleet"
        ) from None
    return parse_fleet(data)


def run_form(
    p: Platform, form: dict[str, str], csv_text: str | None, plans: list[str]
) -> dict[str, Any]:
    """The planner run the form asks for (the checks of POST /v1/admin/plan)."""
    source = form.get("demand", "")
    if source not in {d for d, _ in DEMANDS}:
        raise InvalidRequest(
            "choose where the demand comes from", code="invalid_demand", field="demand"
        )
    users = _int(form, "users", 1, MAX_USERS)
    days = _int(form, "days", 1, MAX_DAYS)
    seed = _int(form, "seed", 0, 2**31)
    fleet = fleet_of(form.get("fleet", ""))
    name = form.get("policy", "default")
    if name not in POLICIES:
        raise InvalidRequest(
            f"policy is one of {', '.join(POLICIES)}", code="invalid_policy", field="policy"
        )
    targets: dict[str, float] = {}
    for plan in plans:
        value = _float(form.get(f"target_{plan}", ""), f"target_{plan}", "invalid_number")
        if value is not None:
            if value <= 0:
                raise InvalidRequest(
                    "a wait target is a positive number of seconds",
                    code="invalid_number",
                    field=f"target_{plan}",
                )
            targets[plan] = value
    percent = _float(form.get("target_margin", ""), "target_margin", "invalid_target")
    if percent is not None and not -100 < percent < 100:
        raise InvalidRequest(
            "a target margin lies between -100 and 100 %",
            code="invalid_target",
            field="target_margin",
        )
    if source == "csv":
        if not csv_text:
            raise InvalidRequest(
                "choose a CSV file of arrivals", code="invalid_demand", field="demand_csv"
            )
        arrivals = demands.parse_csv(csv_text)
    else:
        arrivals = demand_from(p, source, users=users, days=days, seed=seed)
    if not arrivals:
        raise InvalidRequest("the demand holds no arrivals", code="empty_demand", field="demand")
    if len(arrivals) > MAX_ARRIVALS:
        raise InvalidRequest(
            f"the console replays at most {MAX_ARRIVALS} arrivals; use `reelforge plan`",
            code="demand_too_large",
            field="demand",
        )
    return plan_for(
        p,
        arrivals,
        fleet,
        POLICIES[name],
        measured=form.get("measured") == "1",
        targets=targets or None,
        target_margin=None if percent is None else percent / 100,
        seed=seed,
    )


def chart_data(request: Request, report: dict[str, Any]) -> dict[str, Any]:
    """What static/planner.js draws: the report's series and the headings in the reader's
    language."""
    return {
        "utilisation": report["utilisation_over_time"],
        "waits": report["wait_over_time"],
        "plans": {
            name: {k: plan[k] for k in ("wait_p50_s", "wait_p95_s", "margin", "fleet_margin")}
            for name, plan in report["plans"].items()
        },
        "text": {key: translate(request, text) for key, text in CHART_TEXT.items()},
    }


async def _read_form(form: FormData) -> tuple[dict[str, str], str | None]:
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key != "csrf_token" and len(values) < 100:
            values[key] = checked(value[: MAX_FLEET_CHARS + 1], key, free_text=key == "fleet")
    item = form.get("demand_csv")
    csv_text = None
    if isinstance(item, UploadFile) and (item.filename or item.size):
        data = await item.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise InvalidRequest(
                f"the CSV has at most {MAX_CSV_BYTES} bytes",
                code="invalid_demand",
                field="demand_csv",
            )
        try:
            csv_text = checked(data.decode("utf-8-sig"), "demand_csv", free_text=True)
        except UnicodeDecodeError:
            raise InvalidRequest(
                "the CSV is not UTF-8 text", code="invalid_demand", field="demand_csv"
            ) from None
    return values, csv_text


FIELDS = frozenset({"demand", "users", "days", "seed", "fleet", "policy", "target_margin"})


def _field_of(exc: ReelforgeError, form: dict[str, str]) -> str:
    """The form field a service error is shown next to."""
    if exc.code == "invalid_fleet":
        return "fleet"
    field = exc.field or ""
    if field in FIELDS or field == "demand_csv" or field.startswith("target_"):
        return field
    if form.get("demand") == "csv" and exc.code in ("invalid_demand", "invalid_csv"):
        return "demand_csv"
    return "form"


def _page(request: Request, status: int = 200, **extra: Any) -> Response:
    p = platform_of(request)
    extra.setdefault("errors", {})
    extra.setdefault("report", None)
    form = {"fleet": DEFAULT_FLEET, **DEFAULTS, **extra.pop("form", {})}
    return render(
        request,
        "console/planner.html",
        status=status,
        section="planner",
        form=form,
        plans=list(sheet_of(p).plans),
        demands=DEMANDS,
        policies=[(name, POLICY_TEXT.get(name, name)) for name in POLICIES],
        limits={"users": MAX_USERS, "days": MAX_DAYS, "arrivals": MAX_ARRIVALS},
        **extra,
    )


@router.get("/console/planner")
def planner_page(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    return _page(request)


@router.post("/console/planner")
async def planner_run(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    p = platform_of(request)
    form: dict[str, str] = {}
    try:
        form, csv_text = await _read_form(await request.form())
        form.setdefault("measured", "0")  # an unticked box is not sent
        plans = list(sheet_of(p).plans)
        report = await run_in_threadpool(run_form, p, form, csv_text, plans)
    except ReelforgeError as exc:
        field = _field_of(exc, form)
        errors = {field: {"text": message(request, exc), "detail": exc.message}}
        return _page(request, status=exc.http_status, form=form, errors=errors)
    return _page(request, form=form, report=report, charts=chart_data(request, report))
