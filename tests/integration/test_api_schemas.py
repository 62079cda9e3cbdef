"""The API's documentation works offline and tells the truth: /docs and /redoc use only
assets the API serves itself, the OpenAPI document declares the bearer scheme, a typed body for
every success and the error shape, and real responses match what is declared."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import BaseModel

from reelforge.api import schemas
from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.services.accounts import accounts
from tests.conftest import make_settings
from tests.fakes import GradientBackend
from tests.helpers import wait_for


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path)
    backend = GradientBackend()
    settings.worker_queues.append(backend.queue)
    p = bootstrap(settings, backends=[backend])
    key = accounts.create_api_key(p, "alice").key
    with TestClient(create_app(p, embedded_worker=True)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        c.app.state.admin_key = accounts.create_api_key(p, "ops", admin=True).key
        yield c
    p.close()


# no API key: Stripe's signature, or a signed URL, is the proof
PUBLIC = {"/v1/billing/stripe/webhook", "/v1/files/{job_id}/{name}"}


def _assets(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", html) + re.findall(
        r"""url\s*:\s*['"]([^'"]+)['"]""", html
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_use_only_local_assets_that_load(client: TestClient, page: str) -> None:
    bare = TestClient(client.app)
    r = bare.get(page)
    assert r.status_code == 200
    refs = _assets(r.text)
    assert len(refs) >= 2, refs
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), f"{page} loads {ref}"
        got = bare.get(ref)
        assert got.status_code == 200 and len(got.content) > 0, ref
    assert "cdn" not in r.text.lower() and "googleapis" not in r.text


def _untyped(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """No schema, or an object that names none of its keys (`dict[str, Any]`)."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if schema == {}:
        return True
    named = ("properties", "oneOf", "anyOf", "allOf")
    return schema.get("type") == "object" and not any(schema.get(k) for k in named)


def test_openapi_declares_bearer_typed_successes_and_the_error_shape(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert any(
        s
        == {"type": "http", "scheme": "bearer"}
        | {k: s[k] for k in s if k not in ("type", "scheme")}
        for s in schemes.values()
    ), schemes
    error = doc["components"]["schemas"]["ErrorResponse"]
    assert error["properties"]["error"]["$ref"].endswith("/ErrorDetail")
    untyped, no_error, no_security = [], [], []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            name = f"{method.upper()} {path}"
            success = {c: r for c, r in op["responses"].items() if c.startswith("2")}
            for code, resp in success.items():
                if code == "204":
                    continue
                schemas_ = [m.get("schema") for m in resp.get("content", {}).values()]
                if not schemas_ or not all(schemas_) or any(_untyped(doc, s) for s in schemas_):
                    untyped.append(f"{name} {code}")
            refs = [
                r.get("content", {}).get("application/json", {}).get("schema", {})
                for c, r in op["responses"].items()
                if c[0] in "45"
            ]
            if not any(s.get("$ref", "").endswith("/ErrorResponse") for s in refs):
                no_error.append(name)
            if path.startswith("/v1/") and path not in PUBLIC and not op.get("security"):
                no_security.append(name)
    assert not untyped, f"2xx responses without a schema: {untyped}"
    assert not no_error, f"operations without the error schema: {no_error}"
    assert not no_security, f"authenticated operations without the bearer scheme: {no_security}"
    assert "HTTPValidationError" not in doc["components"]["schemas"]  # never returned


def test_every_request_field_is_described(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    bodies: set[str] = set()
    for ops in doc["paths"].values():
        for op in ops.values():
            for media in op.get("requestBody", {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref:
                    bodies.add(ref.rsplit("/", 1)[1])
    assert "SubmitRequest" in bodies
    missing = [
        f"{name}.{field}"
        for name in sorted(bodies)
        for field, prop in doc["components"]["schemas"][name]["properties"].items()
        if not prop.get("description")
    ]
    assert not missing, f"request fields without a description: {missing}"


def _schema_refs(schema: Any) -> set[str]:
    return set(re.findall(r'"#/components/schemas/(\w+)"', json.dumps(schema)))


def test_every_nested_request_field_and_every_parameter_is_described(
    client: TestClient,
) -> None:
    """Every field a client may send is described: inside nested objects of a body (a
    composition's scenes, texts, boxes, ...), in inline and multipart bodies, and every query,
    path and header parameter."""
    doc = client.get("/openapi.json").json()
    components = doc["components"]["schemas"]
    missing: list[str] = []
    todo: set[str] = set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            name = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                if not param.get("description"):
                    missing.append(f"{name} {param['in']} {param['name']}")
            for media in op.get("requestBody", {}).get("content", {}).values():
                schema = media.get("schema", {})
                todo |= _schema_refs(schema)
                inline = [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]
                inline += [d for part in inline for d in part.get("$defs", {}).values()]
                if _untyped(doc, schema):
                    missing.append(f"{name} body (an object naming none of its fields)")
                for part in inline:
                    for field, prop in part.get("properties", {}).items():
                        if not prop.get("description"):
                            missing.append(f"{name} body {part.get('title', '')}.{field}")
    seen: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        for field, prop in components[ref].get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"{ref}.{field}")
            todo |= _schema_refs(prop)
    assert {"Composition", "Scene", "TextLayer", "Box"} <= seen
    assert not missing, f"request fields without a description: {missing}"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}],
)
def test_a_body_without_a_json_content_type_gets_a_message_that_says_so(
    client: TestClient, headers: dict[str, str]
) -> None:
    r = client.post("/v1/videos", content=b'{"prompt": "a cup of coffee"}', headers=headers)
    assert r.status_code == 415, r.text
    error = r.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "JSON" in error["message"] and "Content-Type: application/json" in error["message"]


def _undeclared(model: type[BaseModel], data: Any, where: str = "") -> list[str]:
    """Keys in a real response that the schema does not declare (recursively)."""
    if not isinstance(data, dict):
        return []
    out = [f"{where}{k}" for k in data if k not in model.model_fields]
    for name, field in model.model_fields.items():
        sub = field.annotation
        inner = [a for a in getattr(sub, "__args__", (sub,)) if isinstance(a, type)]
        for t in inner:
            if issubclass(t, BaseModel) and isinstance(data.get(name), dict):
                out += _undeclared(t, data[name], f"{where}{name}.")
    return out


def _check(model: type[BaseModel], data: Any) -> None:
    model.model_validate(data)
    items = data.get("data") if isinstance(data, dict) else None
    list_item = model.model_fields.get("data")
    if list_item is not None and isinstance(items, list):
        item_model = list_item.annotation.__args__[0]  # type: ignore[union-attr]
        for item in items:
            assert not _undeclared(item_model, item), _undeclared(item_model, item)
    assert not _undeclared(model, data), f"{model.__name__}: {_undeclared(model, data)}"


def test_real_responses_match_their_declared_models(client: TestClient) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 90)).save(buf, "PNG")
    r = client.post("/v1/uploads", files={"file": ("a.png", buf.getvalue(), "image/png")})
    assert r.status_code == 201
    _check(schemas.Upload, r.json())
    body = {
        "prompt": "x",
        "duration": 1,
        "resolution": "480p",
        "model": "gradient",
        "image_upload_id": r.json()["id"],
        "seed": 3,
    }
    r = client.post("/v1/videos", json=body)
    assert r.status_code == 202
    _check(schemas.Video, r.json())
    video_id = r.json()["id"]

    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/v1/videos/{video_id}").json()
        return job if job["status"] == "succeeded" else None

    job = wait_for(done)
    _check(schemas.Video, job)
    assert job["output"] and schemas.Video.model_validate(job).output is not None
    _check(schemas.VideoList, client.get("/v1/videos").json())
    r = client.post("/v1/videos", json={**body, "seed": 4})
    _check(schemas.Video, client.post(f"/v1/videos/{r.json()['id']}/cancel").json())
    _check(schemas.Account, client.get("/v1/account").json())
    _check(schemas.Quote, client.post("/v1/quotes", json=body).json())
    _check(schemas.ModelList, client.get("/v1/models").json())
    _check(schemas.Moderation, client.post("/v1/moderations", json={"text": "hi"}).json())
    admin = {"Authorization": f"Bearer {client.app.state.admin_key}"}  # type: ignore[attr-defined]
    _check(schemas.ReviewList, client.get("/v1/admin/reviews", headers=admin).json())
    _check(schemas.LikenessList, client.get("/v1/admin/likeness", headers=admin).json())
    _check(schemas.KpiReport, client.get("/v1/admin/kpis", headers=admin).json())
    # errors: the shape every 4xx has
    bare = TestClient(client.app)
    for r in (
        bare.get("/v1/videos"),
        client.get("/v1/videos/vid_nope"),
        client.post("/v1/videos", json={"prompt": "x", "bogus": 1}),
        client.post("/v1/videos", json={"duration": "long"}),
        client.post("/v1/videos", content=b"{", headers={"Content-Type": "application/json"}),
    ):
        assert 400 <= r.status_code < 500
        _check(schemas.ErrorResponse, r.json())


def test_every_reference_in_the_document_resolves(client: TestClient) -> None:
    """A `$ref` that points at nothing breaks ReDoc's whole page ("Invalid reference token");
    a body given through openapi_extra must not carry a pydantic schema's own `#/$defs/...`."""
    doc = client.get("/openapi.json").json()

    def resolves(ref: str) -> bool:
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc)))
    assert refs and all(ref.startswith("#/") for ref in refs), refs
    assert not [ref for ref in sorted(refs) if not resolves(ref)]
