"""/v1/models (what a client may ask for) and /v1/admin/models (the operator's registry)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from reelforge.api import schemas
from reelforge.api.deps import AdminAccount, CurrentAccount, PlatformDep
from reelforge.services.jobs import model_registry, provider_registry

router = APIRouter(tags=["models"])

_PUBLIC = ("name", "family", "task", "modes", "object")


@router.get("/v1/models", response_model=schemas.ModelList)
def list_models(p: PlatformDep, _account: CurrentAccount) -> dict[str, Any]:
    """Models a job can name in `model`: the built-in motion backend and registered models."""
    rows = [{k: r[k] for k in _PUBLIC} for r in model_registry.list_models(p)]
    rows += [  # hosted models: the provider is the family
        {
            "name": r["name"],
            "family": r["provider"],
            "task": "hosted",
            "modes": r["modes"],
            "object": "model",
        }
        for r in provider_registry.list_provider_models(p)
    ]
    builtin = [
        {
            "name": n,
            "family": n,
            "task": "i2v",
            "modes": ["extend", "image2video"],
            "object": "model",
        }
        for n in p.backends.builtin_names()
    ]
    return {"object": "list", "data": builtin + rows}


@router.get("/v1/admin/models", response_model=schemas.AdminModelList)
def admin_list_models(p: PlatformDep, _admin: AdminAccount) -> dict[str, Any]:
    return {"object": "list", "data": model_registry.list_models(p)}


@router.post("/v1/admin/models", status_code=201, response_model=schemas.AdminModel)
def admin_add_model(
    body: model_registry.ModelRequest,
    p: PlatformDep,
    _admin: AdminAccount,
    replace: bool = Query(default=False),
) -> dict[str, Any]:
    """Register a local diffusers directory (checked now; weights load on a worker)."""
    return model_registry.add_model(p, body, replace=replace)


@router.delete("/v1/admin/models/{name}", status_code=204, response_class=Response)
def admin_remove_model(name: str, p: PlatformDep, _admin: AdminAccount) -> Response:
    if not provider_registry.remove_provider_model(p, name):
        model_registry.remove_model(p, name)
    return Response(status_code=204)
