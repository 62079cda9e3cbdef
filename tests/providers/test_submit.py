"""Submit-time behaviour of provider models: what a model cannot honour is refused with a 4xx
naming what it supports, and a blocked prompt never reaches the provider — nothing is sent
before the policy says yes. Registration through `reelforge models add --provider`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reelforge.api.app import create_app
from reelforge.cli import app
from reelforge.errors import CapabilityMissing, InvalidRequest
from reelforge.services.accounts import accounts
from reelforge.worker.loop import Worker
from tests.providers.conftest import Hosted


@pytest.mark.parametrize(
    ("provider", "remote", "fields", "code", "named"),
    [
        ("kling", "kling-v2-1", {"duration": 7}, "unsupported_duration", "5 or 10 seconds"),
        ("kling", "kling-v2-1", {"resolution": "480p"}, "unsupported_resolution", "720p, 1080p"),
        ("kling", "kling-v2-1", {"aspect_ratio": "4:5"}, "unsupported_aspect_ratio", "16:9"),
        ("kling", "kling-v2-1", {"steps": 20}, "unsupported_parameter", "steps"),
        ("kling", "kling-v2-1", {"preset": "draft"}, "unsupported_preset", "preset"),
        ("kling", "kling-v2-1", {"camera": "pan_left"}, "unsupported_parameter", "camera"),
        ("runway", "gen4_turbo", {}, "unsupported_mode", "image2video"),
        ("runway", "gen4.5", {"negative_prompt": "x"}, "unsupported_parameter", "negative"),
        ("runway", "gen4.5", {"resolution": "1080p"}, "unsupported_resolution", "720p"),
        ("runway", "gen4.5", {"prompt": "x" * 1001}, "unsupported_parameter", "1000"),
        ("luma", "ray-2", {"duration": 10}, "unsupported_duration", "5 or 9 seconds"),
        ("luma", "ray-2", {"seed": 5, "aspect_ratio": "4:5"}, "unsupported_aspect_ratio", "4:3"),
    ],
)
def test_what_a_model_cannot_honour_is_refused_at_submit(
    hosted: Callable[..., Hosted],
    provider: str,
    remote: str,
    fields: dict[str, object],
    code: str,
    named: str,
) -> None:
    h = hosted(provider, remote)
    body = {"duration": 5, **fields}
    with pytest.raises((InvalidRequest, CapabilityMissing)) as caught:
        h.submit(**body)
    assert caught.value.code == code
    assert named in caught.value.message
    assert caught.value.http_status == 422
    assert h.fake.requests == []


def test_the_api_answers_a_refused_mapping_with_a_422(hosted: Callable[..., Hosted]) -> None:
    h = hosted("kling", "kling-v2-1")
    secret = accounts.create_api_key(h.p, "alice").key
    client = TestClient(create_app(h.p), headers={"Authorization": f"Bearer {secret}"})
    r = client.post("/v1/videos", json={"prompt": "a cat", "model": h.model, "duration": 7})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "unsupported_duration" and error["field"] == "duration"
    assert "5 or 10" in error["message"]
    assert h.fake.requests == []
    listed = {m["name"]: m for m in client.get("/v1/models").json()["data"]}
    assert listed[h.model]["family"] == "kling" and listed[h.model]["task"] == "hosted"
    assert "first_last_frame" in listed[h.model]["modes"]


@pytest.mark.slow  # the policy's models load on the first moderated prompt
def test_a_blocked_prompt_never_reaches_the_provider(hosted: Callable[..., Hosted]) -> None:
    h = hosted("kling", "kling-v2-1")
    job = h.submit(duration=5, prompt="a graphic video of a man being beheaded, blood everywhere")
    assert job["status"] == "blocked" and job["error"]["code"] == "content_blocked"
    worker = Worker(h.p).start()
    try:
        time.sleep(1.0)  # a worker that would run it has had its chance
    finally:
        worker.stop()
    assert h.fake.requests == []
    assert job["billing"] != "reserved"


def test_models_add_with_a_provider_and_a_price_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    prices = tmp_path / "contract.yaml"
    prices.write_text(
        'date: "2026-12-01"\nsource: "our contract, schedule B"\n'
        'per_second:\n  "*": {"720p": 0.03, "1080p": 0.05}\n'
    )
    cli = CliRunner()
    r = cli.invoke(
        app,
        [
            "models", "add", "kling-fast", "--provider", "kling",
            "--remote-model", "kling-v2-1", "--price-file", str(prices), "--json",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    view = json.loads(r.output)
    assert view["provider"] == "kling" and view["remote_model"] == "kling-v2-1"
    assert view["queue"] == "providers" and "first_last_frame" in view["modes"]
    assert view["prices"]["per_second"]["*"]["720p"] == 0.03
    listed = json.loads(cli.invoke(app, ["models", "list", "--json"]).output)["data"]
    assert [m["name"] for m in listed] == ["kling-fast"]
    bad = cli.invoke(
        app, ["models", "add", "x", "--provider", "kling", "--remote-model", "kling-v9"]
    )
    assert bad.exit_code != 0 and "kling-v2-1" in bad.output
    unknown = cli.invoke(app, ["models", "add", "y", "--provider", "pika", "--remote-model", "a"])
    assert unknown.exit_code != 0 and "kling" in unknown.output
    both = cli.invoke(
        app,
        ["models", "add", "z", "--provider", "kling", "--remote-model", "kling-v2-1",
         "--family", "wan"],
    )  # fmt: skip
    assert both.exit_code != 0 and "--family" in both.output
    assert cli.invoke(app, ["models", "remove", "kling-fast"]).exit_code == 0
    listed = json.loads(cli.invoke(app, ["models", "list", "--json"]).output)["data"]
    assert listed == []
