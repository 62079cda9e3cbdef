"""POST /v1/admin/models registers a hosted provider model as `reelforge models add NAME
--provider P --remote-model ID [--price-file FILE]` does: operators only, the same checks and
errors, and never a credential in the body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from reelforge.api.app import create_app
from reelforge.errors import ReelforgeError
from reelforge.services.accounts import accounts
from reelforge.services.jobs import provider_registry
from tests.providers.conftest import RUNWAY_KEY, Hosted

PRICES = {"date": "2026-12-01", "source": "contract B", "per_second": {"*": {"*": 0.07}}}


def _client(h: Hosted) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    admin = accounts.create_api_key(h.p, "ops", admin=True).key
    user = accounts.create_api_key(h.p, "alice").key
    client = TestClient(create_app(h.p))
    return client, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {user}"}


def _stored(h: Hosted) -> list[tuple[Any, ...]]:
    with h.p.db.session(write=False) as s:
        return [tuple(r) for r in s.execute(text("SELECT * FROM provider_models ORDER BY name"))]


def test_an_operator_registers_a_provider_model_and_a_job_runs_on_it(
    hosted: Callable[..., Hosted],
) -> None:
    h = hosted("runway", "gen4.5")
    client, admin, user = _client(h)
    body = {"name": "runway-api", "provider": "runway", "remote_model": "gen4.5", "prices": PRICES}
    with client:
        assert client.post("/v1/admin/models", json=body, headers=user).status_code == 403
        assert [r[0] for r in _stored(h)] == [h.model]  # the customer's call stored nothing
        r = client.post("/v1/admin/models", json=body, headers=admin)
        assert r.status_code == 201, r.text
        got = r.json()
        assert (got["name"], got["provider"], got["remote_model"]) == (
            "runway-api",
            "runway",
            "gen4.5",
        )
        assert got["queue"] == "providers" and "text2video" in got["modes"]
        assert got["prices"]["source"] == "contract B"
        listed = {m["name"]: m for m in client.get("/v1/models", headers=user).json()["data"]}
        assert listed["runway-api"]["family"] == "runway"
        again = client.post("/v1/admin/models", json=body, headers=admin)
        assert again.status_code == 409 and again.json()["error"]["code"] == "model_exists"
        moved = {**body, "remote_model": "gen4_turbo"}
        r = client.post("/v1/admin/models?replace=true", json=moved, headers=admin)
        assert r.status_code == 201 and r.json()["remote_model"] == "gen4_turbo"
        r = client.post("/v1/admin/models?replace=true", json=body, headers=admin)
        assert r.status_code == 201
    job = h.submit(model="runway-api", duration=5)
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["compute"]["provider_cost_usd"] == pytest.approx(0.07 * 5)
    assert done["compute"]["provider_price_source"] == "contract B"
    assert h.fake.creates()[0].body["model"] == "gen4.5"


@pytest.mark.parametrize(
    "body,code,field",
    [
        ({"name": "x", "provider": "acme", "remote_model": "m"}, "unknown_provider", "provider"),
        ({"name": "x", "provider": "luma", "remote_model": "ray-9"}, "unknown_remote_model", None),
        (
            {"name": "Bad Name", "provider": "luma", "remote_model": "ray-2"},
            "invalid_model_name",
            None,
        ),
        (
            {"name": "motion", "provider": "luma", "remote_model": "ray-2"},
            "invalid_model_name",
            None,
        ),
        ({"name": "x", "provider": "luma"}, "invalid_request", "remote_model"),
        ({"name": "x", "remote_model": "ray-2"}, "invalid_request", "provider"),
        (
            {"name": "x", "provider": "luma", "remote_model": "ray-2", "prices": {"date": "d"}},
            "invalid_price_file",
            "prices",
        ),
        (
            {"name": "x", "provider": "luma", "remote_model": "ray-2", "colour": 1},
            "unknown_field",
            None,
        ),
    ],
)
def test_the_api_refuses_what_the_cli_refuses_with_the_same_error(
    hosted: Callable[..., Hosted], body: dict[str, Any], code: str, field: str | None
) -> None:
    h = hosted("luma", "ray-2")
    client, admin, _ = _client(h)
    with pytest.raises(ReelforgeError) as cli:  # what `reelforge models add` calls
        provider_registry.add_provider_model(
            h.p, provider_registry.parse_provider_model_request(body)
        )
    with client:
        r = client.post("/v1/admin/models", json=body, headers=admin)
    assert r.status_code == cli.value.http_status and 400 <= r.status_code < 500
    assert r.json()["error"] == cli.value.to_dict()
    assert r.json()["error"]["code"] == code
    if field is not None:
        assert r.json()["error"]["field"] == field
    assert [r[0] for r in _stored(h)] == [h.model]


@pytest.mark.parametrize(
    "extra,field",
    [
        ({"api_key": RUNWAY_KEY}, "api_key"),
        ({"RF_PROVIDER_RUNWAY_API_KEY": RUNWAY_KEY}, "RF_PROVIDER_RUNWAY_API_KEY"),
        ({"credentials": {"key": RUNWAY_KEY}}, "credentials"),
        ({"prices": {**PRICES, "token": RUNWAY_KEY}}, "prices.token"),
    ],
)
def test_credentials_are_never_accepted_in_the_body(
    hosted: Callable[..., Hosted], extra: dict[str, Any], field: str
) -> None:
    h = hosted("runway", "gen4.5")
    client, admin, _ = _client(h)
    body = {"name": "runway-key", "provider": "runway", "remote_model": "gen4.5", **extra}
    with client:
        r = client.post("/v1/admin/models", json=body, headers=admin)
    assert r.status_code == 422
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("credentials_not_accepted", field)
    assert "RF_PROVIDER_RUNWAY_API_KEY" in error["message"]
    assert RUNWAY_KEY not in r.text
    assert [row[0] for row in _stored(h)] == [h.model]
    assert all(RUNWAY_KEY not in repr(row) for row in _stored(h))
