"""Governance over HTTP and the CLI: /v1/moderations, appeals, the admin review queue,
likeness registry and audit export; `reelforge policy check`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.cli import app as cli_app
from reelforge.services.accounts import accounts
from tests.conftest import make_settings
from tests.fakes import GradientBackend
from tests.governance.test_moderated_jobs import ASTRONAUT

HARMFUL = "a graphic video of a man being beheaded, blood everywhere"


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, Platform]]:
    p = bootstrap(make_settings(tmp_path), backends=[GradientBackend()])
    user = accounts.create_api_key(p, "acme").key
    admin = accounts.create_api_key(p, "ops", admin=True).key
    with TestClient(create_app(p)) as c:
        ops = TestClient(c.app)
        c.headers["Authorization"] = f"Bearer {user}"
        ops.headers["Authorization"] = f"Bearer {admin}"
        yield c, ops, p
    p.close()


def test_moderations_for_users_and_operators(clients: tuple) -> None:
    user, ops, _ = clients
    r = user.post("/v1/moderations", json={"text": ["a bowl of ramen, steam rising", HARMFUL]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"] == "block" and body["categories"] == ["violence"]
    assert [x["decision"] for x in body["results"]] == ["allow", "block"]
    assert "rule" not in body["results"][1]  # no detail that helps evasion
    detailed = ops.post("/v1/moderations", json={"text": HARMFUL}).json()["results"][0]
    assert detailed["rule"] and detailed["scores"]["violence"] >= 0.5
    assert detailed["stage"] in detailed["stages"] and detailed["band"] == "block"
    assert detailed["stages"][detailed["stage"]]["violence"] >= 0.5
    upload = user.post("/v1/uploads", files={"file": ("a.jpg", ASTRONAUT, "image/jpeg")})
    r = user.post("/v1/moderations", json={"image_upload_id": upload.json()["id"]})
    assert r.status_code == 200 and r.json()["decision"] == "allow"  # nobody enrolled


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "invalid_request"),
        ({"text": "x" * 10_000_000}, 413, "payload_too_large"),  # over the 1 MiB JSON limit
        ({"text": "x" * 900_000}, 422, "invalid_request"),  # within it, over the text's length
        ({"text": ["a"] * 40}, 422, "invalid_request"),
        ({"image_upload_id": "upl_nope"}, 404, "upload_not_found"),
        ({"text": "hi", "colour": 1}, 422, "unknown_field"),
    ],
)
def test_bad_moderation_requests(clients: tuple, body: dict, status: int, code: str) -> None:
    user, _, _ = clients
    r = user.post("/v1/moderations", json=body)
    assert r.status_code == status and r.json()["error"]["code"] == code


def test_binary_junk_is_a_clean_400(clients: tuple) -> None:
    user, _, _ = clients
    r = user.post(
        "/v1/moderations",
        content=b"\x00\xff\xfe junk",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = user.post("/v1/videos", json={"model": "gradient", "prompt": "a\x00b"})
    assert r.status_code == 422 and user.get("/v1/videos").json()["data"] == []


def test_appeal_and_review_over_http(clients: tuple) -> None:
    user, ops, _ = clients
    job = user.post("/v1/videos", json={"model": "gradient", "prompt": HARMFUL}).json()
    assert job["status"] == "blocked"
    assert user.get("/v1/admin/reviews").status_code == 403
    r = user.post(f"/v1/videos/{job['id']}/appeal", json={"message": "a museum exhibit"})
    assert r.status_code == 200 and r.json()["status"] == "review"
    again = user.post(f"/v1/videos/{job['id']}/appeal", json={"message": "again"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_blocked"
    (review,) = ops.get("/v1/admin/reviews").json()["data"]
    r = ops.post(f"/v1/admin/reviews/{review['id']}/reject", json={"note": "graphic gore"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert user.get(f"/v1/videos/{job['id']}").json()["status"] == "blocked"
    r = ops.post(f"/v1/admin/reviews/{review['id']}/approve")
    assert r.status_code == 409 and r.json()["error"]["code"] == "review_decided"
    lines = ops.get("/v1/admin/audit", params={"subject": job["id"]}).text.splitlines()
    assert [json.loads(x)["action"] for x in lines] == [
        "moderation.submit",
        "appeal",
        "review.reject",
    ]


def test_likeness_registry_over_http(clients: tuple) -> None:
    user, ops, _ = clients
    r = ops.post(
        "/v1/admin/likeness",
        data={"name": "Eileen Collins", "public_figure": "true"},
        files=[("photo", ("a.jpg", ASTRONAUT, "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    person = r.json()
    assert person["public_figure"] and person["faces"] == 1
    bad = ops.post(
        "/v1/admin/likeness",
        data={"name": "Nobody"},
        files=[("photo", ("x.jpg", b"not an image", "image/jpeg"))],
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_image"
    upload = user.post("/v1/uploads", files={"file": ("a.jpg", ASTRONAUT, "image/jpeg")})
    body = {"model": "gradient", "prompt": "she waves", "image_upload_id": upload.json()["id"]}
    blocked = user.post("/v1/videos", json=body).json()
    assert blocked["moderation"]["submit"]["categories"] == ["public_figure"]
    r = ops.post(f"/v1/admin/likeness/{person['id']}/grant", json={})
    assert r.json()["consent"] == ["*"]
    assert user.post("/v1/videos", json=body).json()["status"] == "queued"
    assert ops.get("/v1/admin/likeness").json()["data"][0]["consent"] == ["*"]


def test_policy_check_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    r = runner.invoke(cli_app, ["policy", "check", "--json", "a cat in a garden", HARMFUL])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["text"], x["decision"]) for x in rows] == [
        ("a cat in a garden", "allow"),
        (HARMFUL, "block"),
    ]
    assert set(rows[1]) == {
        "text",
        "decision",
        "categories",
        "rule",
        "stage",
        "band",
        "scores",
        "stages",
        "language",
    }
    assert rows[1]["scores"]["violence"] >= 0.5 and rows[1]["band"] == "block"
    assert rows[1]["stage"] in rows[1]["stages"]
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(
        "a cat in a garden\n\na campaign ad telling people to vote for a "
        "candidate in the presidential election\n",
        encoding="utf-8",
    )
    r = runner.invoke(
        cli_app, ["policy", "check", "--file", str(prompts), "--profile", "eu", "--json"]
    )
    assert [json.loads(x)["decision"] for x in r.stdout.splitlines()] == ["allow", "review"]
    r = runner.invoke(cli_app, ["policy", "check", "--profile", "mars", "x"])
    assert r.exit_code == 2 and "unknown_profile" in r.output
