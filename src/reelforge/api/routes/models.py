"""/v1/models (what a client may ask for) and /v1/admin/models (the operator's registry)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel

from reelforge.api import schemas
from reelforge.api.deps import AdminAccount, CurrentAccount, PlatformDep
from reelforge.api.params import ModelName
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


def _inlined(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema with its `$defs` written where they are used: a body given
    through openapi_extra sits inside the OpenAPI document, where pydantic's `#/$defs/...`
    would point at nothing (ReDoc then shows no page at all)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                siblings = {k: resolve(v) for k, v in node.items() if k != "$ref"}
                return {**resolve(defs[ref.removeprefix("#/$defs/")]), **siblings}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


# the body is one of two shapes, told apart by `provider` / `remote_model` (each parsed as the
# CLI parses it, so the API's errors are the CLI's)
_ADD_BODY = {
    "oneOf": [
        _inlined(model_registry.ModelRequest),
        _inlined(provider_registry.ProviderModelRequest),
    ]
}


@router.post(
    "/v1/admin/models",
    status_code=201,
    response_model=schemas.AdminModel | schemas.AdminProviderModel,
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": _ADD_BODY}}}},
)
def admin_add_model(
    body: Annotated[dict[str, Any], Body()],
    p: PlatformDep,
    _admin: AdminAccount,
    replace: bool = Query(default=False, description="Replace a model of the same name."),
) -> dict[str, Any]:
    """Register a local diffusers directory (`family`, `path`: checked now; weights load on a
    worker), or a hosted provider model (`provider`, `remote_model`, optional `prices`: as
    `reelforge models add NAME --provider P --remote-model ID [--price-file FILE]`). A
    provider's credentials are the workers' RF_PROVIDER_* settings: a body carrying one is
    refused (credentials_not_accepted)."""
    if "provider" in body or "remote_model" in body:
        req = provider_registry.parse_provider_model_request(body)
        return provider_registry.add_provider_model(p, req, replace=replace)
    return model_registry.add_model(p, model_registry.parse_model_request(body), replace=replace)


@router.delete("/v1/admin/models/{name}", status_code=204, response_class=Response)
def admin_remove_model(name: ModelName, p: PlatformDep, _admin: AdminAccount) -> Response:
    if not provider_registry.remove_provider_model(p, name):
        model_registry.remove_model(p, name)
    return Response(status_code=204)
