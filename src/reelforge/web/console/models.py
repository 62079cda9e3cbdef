"""/console/models: the model registry — list, add (a local diffusers directory, checked now),
remove (services.jobs.model_registry, as POST/DELETE /v1/admin/models)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from reelforge.errors import ReelforgeError
from reelforge.services.accounts.signin import WebUser
from reelforge.services.jobs import model_registry
from reelforge.web.console.common import checked, console_router, operator
from reelforge.web.pages import Text, message, platform_of, redirect, render

router = console_router()

FAMILIES = ("wan", "ltx", "cogvideox")
TASKS = ("", "t2v", "i2v", "flf2v")
DTYPES = ("bf16", "fp16", "fp32")


def _page(request: Request, status: int = 200, **extra: Any) -> Response:
    extra.setdefault("errors", {})
    extra.setdefault("form", {})
    return render(
        request,
        "console/models.html",
        status=status,
        section="models",
        models=model_registry.list_models(platform_of(request)),
        families=FAMILIES,
        tasks=TASKS,
        dtypes=DTYPES,
        **extra,
    )


@router.get("/console/models")
def models_page(request: Request) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    return _page(request)


@router.post("/console/models")
def add_model(
    request: Request,
    name: Text = "",
    family: Text = "",
    path: Text = "",
    task: Text = "",
    dtype: Text = "bf16",
    device: Text = "cuda",
) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    form = {
        "name": name,
        "family": family,
        "path": path,
        "task": task,
        "dtype": dtype,
        "device": device,
    }
    try:
        for field, value in form.items():
            checked(value, field)
        body = {k: v for k, v in form.items() if v or k != "task"}  # no task: inferred
        req = model_registry.parse_model_request(body)
        added = model_registry.add_model(platform_of(request), req)
    except ReelforgeError as exc:
        field = exc.field if exc.field in form else "name"
        return _page(
            request, status=exc.http_status, form=form, errors={field: message(request, exc)}
        )
    return _page(request, status=201, added=added["name"])


@router.post("/console/models/{name}/remove")
def remove_model(request: Request, name: str) -> Response:
    user = operator(request)
    if not isinstance(user, WebUser):
        return user
    try:
        model_registry.remove_model(platform_of(request), name)
    except ReelforgeError as exc:
        return _page(request, status=exc.http_status, errors={"remove": message(request, exc)})
    return redirect(request, "/console/models")
