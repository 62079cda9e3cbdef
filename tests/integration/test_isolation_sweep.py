"""Tenant isolation sweep GENERATED from the app's route table (not a hand list of routes).

Tenant A owns real objects (a succeeded job, a blocked job under appeal, an upload) and the
operators hold a review and a likeness subject. Then, for every route the app serves:
- no key → 401 with the error shape, unless the route is one of PUBLIC_ROUTES; and the routes
  without auth are exactly PUBLIC_ROUTES (a new route without auth fails here);
- an operator route with tenant B's ordinary key → 403;
- a tenant route that takes an id (path or body), called by B with A's id → 404, while A's
  own GET of it is not a 404 (the id is real), and A's objects are unchanged afterwards;
- no list or read B makes contains any of A's ids.
A route parameter the sweep has no object for fails the test: map it in OWNED / BODY_IDS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.api.deps import admin_account, current_account
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.governance import likeness
from reelforge.worker.loop import Worker
from tests.conftest import _truncate_pg, make_settings
from tests.fakes import GradientBackend
from tests.governance.test_moderated_jobs import ASTRONAUT
from tests.helpers import wait_for

# Routes anyone may call without an API key, each with why. The sweep asserts the app's
# unauthenticated routes are exactly these.
PUBLIC_ROUTES = {
    ("GET", "/healthz"),  # load balancers
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),  # the API's documentation
    ("MOUNT", "/docs/assets"),  # Swagger UI / ReDoc files the docs pages load
    ("GET", "/v1/files/{job_id}/{name}"),  # signed, expiring URLs are the proof
    ("POST", "/v1/billing/stripe/webhook"),  # the Stripe-Signature header is the proof
    ("GET", "/metrics"),  # Prometheus; no tenant data; RF_METRICS_TOKEN guards it when set
    # a hosted provider's task callback: the HMAC token in the URL is the proof, and the body
    # is never trusted (it only wakes the worker, which reads the task back from the provider)
    ("POST", "/v1/providers/{provider}/callback/{job_id}"),
}
# The web studio's pages (issue 15) check a browser session inside the handler, not an API
# key; these need none. Every other page must send a visitor without a session to /signin.
WEB_STATIC = "/static/web"
WEB_PUBLIC = {
    ("GET", "/"),
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("GET", "/signup"),
    ("POST", "/signup"),
    ("POST", "/signout"),
    ("POST", "/lang"),
    ("MOUNT", WEB_STATIC),
}
HARMFUL = "a graphic video of a man being beheaded, blood everywhere"
SUBMIT = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}
# Path parameters naming a tenant's object → which of A's objects fills them.
OWNED = {"video_id": "job", "upload_id": "upload", "job_id": "job", "batch_id": "batch"}
# Operator routes' parameters → the object (operators are not tenants; B gets 403 first).
OPERATOR_IDS = {"review_id": "review", "person_id": "person", "name": "model"}
# Body fields that name a tenant's object, per schema property name.
BODY_IDS = {"image_upload_id": "upload", "last_image_upload_id": "upload", "extend_from": "job"}
# A valid body per route whose handler reads one, so that the id is what is judged.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/videos"): SUBMIT,
    ("POST", "/v1/quotes"): SUBMIT,
    ("POST", "/v1/moderations"): {"text": "a cat"},
    ("POST", "/v1/videos/{video_id}/appeal"): {"message": "please look again"},
}


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    path_params: tuple[str, ...]
    auth: str  # "public", "tenant", "operator" or "web" (the studio's pages: sessions)


def _calls(dependant: Any) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def route_table(app: Any) -> list[RouteInfo]:
    """Every method and path the app serves, with the auth its dependencies demand."""
    try:  # FastAPI ≥ 0.16x keeps included routers nested; this flattens them
        from fastapi.routing import iter_route_contexts

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:
        routes = list(app.routes)
    table = []
    for route in routes:
        dependant = getattr(route, "dependant", None)
        calls = set(_calls(dependant)) if dependant is not None else set()
        module = getattr(getattr(route, "endpoint", None), "__module__", "") or ""
        auth = (
            "operator"
            if admin_account in calls
            else "tenant"
            if current_account in calls
            else "web"
            if module.startswith("reelforge.web") or route.path == WEB_STATIC
            else "public"
        )
        params = tuple(p.name for p in dependant.path_params) if dependant is not None else ()
        methods = sorted((route.methods or set()) - {"HEAD"}) or ["MOUNT"]
        for method in methods:
            table.append(RouteInfo(method, route.path, params, auth))
    return table


def assert_error(r: Any, status: int, code: str | None = None) -> None:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    body = r.json()
    assert (
        set(body) == {"error"}
        and isinstance(body["error"]["code"], str)
        and isinstance(body["error"]["message"], str)
    ), body
    if code:
        assert body["error"]["code"] == code, body


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Tenant A's objects, tenant B's and an operator's clients, over one app; built once per
    deployment shape (the sweep only reads, and checks that B's writes changed nothing)."""
    overrides: dict[str, Any] = {}
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_database")
        overrides = {"database_url": pg, "queue_url": request.getfixturevalue("redis_url")}
        _truncate_pg(pg)
    backend = GradientBackend()
    settings = make_settings(tmp_path_factory.mktemp("sweep"), **overrides)
    settings.worker_queues.append(backend.queue)
    platform = bootstrap(settings, backends=[backend])
    try:
        yield from _world(platform)
    finally:
        platform.close()


def _world(platform: Platform) -> Iterator[dict[str, Any]]:
    a_key = accounts.create_api_key(platform, "tenant-a").key
    b_key = accounts.create_api_key(platform, "tenant-b").key
    op_key = accounts.create_api_key(platform, "operator", admin=True).key
    with TestClient(create_app(platform)) as anon:
        a, b, op = (TestClient(anon.app) for _ in range(3))
        a.headers["Authorization"] = f"Bearer {a_key}"
        b.headers["Authorization"] = f"Bearer {b_key}"
        op.headers["Authorization"] = f"Bearer {op_key}"
        upload = a.post("/v1/uploads", files={"file": ("a.jpg", ASTRONAUT, "image/jpeg")})
        assert upload.status_code == 201, upload.text
        job = a.post("/v1/videos", json={**SUBMIT, "external_id": "a-order-1"})
        assert job.status_code == 202, job.text
        worker = Worker(platform).start()
        try:
            done = wait_for(
                lambda: (
                    (j := a.get(f"/v1/videos/{job.json()['id']}").json())["status"] == "succeeded"
                    and j
                )
            )
        finally:
            worker.stop()
        blocked = a.post("/v1/videos", json={**SUBMIT, "prompt": HARMFUL}).json()
        assert blocked["status"] == "blocked", blocked
        appealed = a.post(f"/v1/videos/{blocked['id']}/appeal", json={"message": "art"})
        assert appealed.status_code == 200, appealed.text
        (review,) = op.get("/v1/admin/reviews").json()["data"]
        person = likeness.enroll(platform, "Eileen Collins", [ASTRONAUT])
        batch = a.post(
            "/v1/commerce/batches",
            json={
                "catalog": "sku,title,price,currency,images\n"
                f"MUG-1,Mug,9.50,USD,upload:{upload.json()['id']}\n",
                "template": "showcase",
                "aspects": ["1:1"],
                "batch_id": "a-batch-1",
            },
        )
        assert batch.status_code == 202, batch.text
        yield {
            "anon": anon,
            "a": a,
            "b": b,
            "op": op,
            "app": anon.app,
            "ids": {
                "job": done["id"],
                "upload": upload.json()["id"],
                "blocked": blocked["id"],
                "review": review["id"],
                "person": person["id"],
                "batch": batch.json()["id"],
                "model": "no-such-model",
                "zero": "0",
            },
            "output_url": done["output"]["url"],
        }


def _fill(route: RouteInfo, ids: dict[str, str], mapping: dict[str, str]) -> str:
    path = route.path
    for name in route.path_params:
        assert name in mapping, (
            f"{route.method} {route.path}: no object for path parameter "
            f"{name!r}; map it in OWNED or OPERATOR_IDS"
        )
        value = ids[mapping[name]]
        if route.path.endswith("/appeal") and name == "video_id":
            value = ids["blocked"]  # the one A could appeal
        path = path.replace("{" + name + "}", value)
    return path.replace("{name}", "video.mp4")  # /v1/files' file name


def test_routes_without_auth_are_exactly_the_documented_public_ones(world: dict[str, Any]) -> None:
    table = route_table(world["app"])
    assert len(table) >= 30, "the route table did not flatten the included routers"
    public = {(r.method, r.path) for r in table if r.auth == "public"}
    assert public == PUBLIC_ROUTES, (
        f"unauthenticated routes not documented: {sorted(public - PUBLIC_ROUTES)}; "
        f"documented but gone or now authenticated: {sorted(PUBLIC_ROUTES - public)}"
    )
    # the schema says the same: a security requirement exactly on the authenticated routes
    schema = world["anon"].get("/openapi.json").json()
    for r in table:
        op = schema["paths"].get(r.path, {}).get(r.method.lower())
        if op is not None:
            assert bool(op.get("security")) == (r.auth != "public"), (r.method, r.path)


def test_no_key_is_401_on_every_authenticated_route(world: dict[str, Any]) -> None:
    anon, ids = world["anon"], world["ids"]
    swept = 0
    for route in route_table(world["app"]):
        if route.auth in ("public", "web"):  # web: sessions, see the test further down
            continue
        path = _fill(route, ids, {**OWNED, **OPERATOR_IDS})
        for headers in (
            {},
            {"Authorization": "Bearer rf_000000000000_not-a-key"},
            {"Authorization": "Basic YTpi"},
        ):
            r = anon.request(
                route.method, path, headers=headers, json=BODIES.get((route.method, route.path))
            )
            assert_error(r, 401, "unauthorized")
            assert r.headers.get("www-authenticate") == "Bearer"
            swept += 1
    assert swept >= 3 * 25


def test_public_routes_answer_without_a_key(world: dict[str, Any]) -> None:
    """The documented public routes really need no key, and the signed-file route still
    refuses A's job id without A's signature."""
    anon, ids = world["anon"], world["ids"]
    assert anon.get("/healthz").status_code == 200
    assert anon.get("/metrics").status_code == 200
    assert anon.get("/openapi.json").status_code == 200
    assert anon.get("/docs").status_code == 200 and anon.get("/redoc").status_code == 200
    assert_error(anon.get(f"/v1/files/{ids['job']}/video.mp4"), 403, "invalid_url_signature")
    forged = f"/v1/files/{ids['job']}/video.mp4?expires=4102444800&sig={'0' * 64}"
    assert_error(anon.get(forged), 403, "invalid_url_signature")
    assert anon.get(world["output_url"]).status_code == 200  # A's own signed URL works
    r = anon.post("/v1/billing/stripe/webhook", content=b"{}")
    assert 400 <= r.status_code < 500 and r.status_code != 401, r.text


def test_operator_routes_refuse_a_tenant_key(world: dict[str, Any]) -> None:
    a, b, ids = world["a"], world["b"], world["ids"]
    operator_routes = [r for r in route_table(world["app"]) if r.auth == "operator"]
    assert len(operator_routes) >= 10
    for route in operator_routes:
        path = _fill(route, ids, OPERATOR_IDS)
        for client in (a, b):
            r = client.request(route.method, path, json=BODIES.get((route.method, route.path)))
            assert_error(r, 403, "forbidden")
    # nothing the operators hold changed
    op = world["op"]
    assert [x["id"] for x in op.get("/v1/admin/reviews").json()["data"]] == [ids["review"]]
    person = [x for x in op.get("/v1/admin/likeness").json()["data"] if x["id"] == ids["person"]]
    assert person and person[0]["consent"] == []


def test_another_tenants_ids_are_404_on_every_route_that_takes_one(world: dict[str, Any]) -> None:
    a, b, ids = world["a"], world["b"], world["ids"]
    tenant_routes = [r for r in route_table(world["app"]) if r.auth == "tenant"]
    with_ids = [r for r in tenant_routes if r.path_params]
    assert len(with_ids) >= 10
    for route in with_ids:
        path = _fill(route, ids, OWNED)
        body = BODIES.get((route.method, route.path))
        if route.method == "GET":  # the id is real: its owner does not get a 404
            mine = a.request(route.method, path)
            assert mine.status_code != 404, (route.path, mine.text)
        r = b.request(route.method, path, json=body)
        assert_error(r, 404)

    # ids inside request bodies: every schema property that names a tenant's object
    schema = world["anon"].get("/openapi.json").json()
    swept = 0
    for route in tenant_routes:
        op = schema["paths"][route.path][route.method.lower()]
        content = op.get("requestBody", {}).get("content", {}).get("application/json")
        if not content:
            continue
        ref = content["schema"].get("$ref", "")
        props = schema["components"]["schemas"][ref.split("/")[-1]]["properties"] if ref else {}
        for name in props:
            if not (name.endswith("_upload_id") or name == "extend_from"):
                continue
            assert name in BODY_IDS, f"{route.path}: map body field {name!r} in BODY_IDS"
            body = {**BODIES[(route.method, route.path)], name: ids[BODY_IDS[name]]}
            if name == "extend_from":
                body["mode"] = "extend"
            r = b.request(route.method, route.path, json=body)
            assert_error(r, 404)
            assert r.json()["error"].get("field") == name, r.text
            mine = a.request(route.method, route.path, json=body)
            assert mine.status_code != 404, (route.path, name, mine.text)
            swept += 1
    assert swept >= 5

    # A's objects are as they were: B's cancel, delete, promote and appeal did nothing
    job = a.get(f"/v1/videos/{ids['job']}").json()
    assert (
        job["status"] == "succeeded"
        and a.get(f"/v1/videos/{ids['job']}/content").status_code == 200
    )
    assert a.get(f"/v1/uploads/{ids['upload']}").json().get("status") != "deleted"
    assert a.get(f"/v1/videos/{ids['blocked']}").json()["status"] == "review"


def test_no_read_by_another_tenant_shows_an_id(world: dict[str, Any]) -> None:
    """Every tenant GET without an id (lists, account) and B's own idempotency key: none of
    A's ids or A's external_id comes back."""
    b, ids = world["b"], world["ids"]
    secret = [ids["job"], ids["upload"], ids["blocked"], "a-order-1"]
    for route in route_table(world["app"]):
        if route.auth != "tenant" or route.method != "GET" or route.path_params:
            continue
        r = b.get(route.path)
        assert r.status_code == 200, (route.path, r.text)
        assert not any(s in r.text for s in secret), (route.path, r.text)
    r = b.get("/v1/videos", params={"external_id": "a-order-1"})
    assert r.json()["data"] == []
    mine = b.post("/v1/videos", json={**SUBMIT, "external_id": "a-order-1"})
    assert mine.status_code == 202 and mine.json()["id"] != ids["job"]
    assert "Idempotent-Replayed" not in mine.headers


def test_web_pages_without_a_session_go_to_signin(world: dict[str, Any]) -> None:
    """The studio's pages are outside the API's key check: every one not in WEB_PUBLIC sends a
    visitor without a session to /signin (a POST without the form's CSRF token is refused
    first; an event stream or data fragment read by a script answers 401), so a new page that
    forgets its session check fails here."""
    anon = world["anon"]
    web = [r for r in route_table(world["app"]) if r.auth == "web"]
    assert {(r.method, r.path) for r in web} >= WEB_PUBLIC - {("MOUNT", WEB_STATIC)}
    for route in web:
        if (route.method, route.path) in WEB_PUBLIC:
            continue
        mapping = {"key_id": "job", "index": "zero", **OWNED, **OPERATOR_IDS}
        path = _fill(route, world["ids"], mapping)
        r = anon.request(route.method, path, follow_redirects=False)
        if r.status_code in (302, 303):
            assert r.headers["location"].endswith("/signin"), (route.path, r.headers)
        elif r.status_code == 401:  # a stream or data fragment a script reads: no redirect
            assert route.method == "GET", (route.path, r.status_code)
        else:
            assert route.method == "POST" and r.status_code == 403, (route.path, r.status_code)


def test_another_tenants_api_key_cannot_be_revoked(world: dict[str, Any]) -> None:
    """Keys: the studio revokes a key through services.accounts.signin with the signed-in account;
    B naming A's key id is not found and A's key keeps working."""
    from reelforge.errors import NotFound
    from reelforge.services.accounts import signin

    platform = world["app"].state.platform
    a_key = accounts.create_api_key(platform, "tenant-a", label="second")
    b_account = accounts.ensure_account(platform, "tenant-b")
    with pytest.raises(NotFound):
        signin.revoke_key(platform, b_account.id, a_key.key_id)
    r = world["anon"].get("/v1/account", headers={"Authorization": f"Bearer {a_key.key}"})
    assert r.status_code == 200, r.text
