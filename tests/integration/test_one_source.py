"""One source per mapping (issue 14 item 4): the CLI's `--json` for a job is the API's JSON
for the same job, key for key (both through services/jobs/shapes.py), and a validation error
reads the same through the API, the CLI and the services (reelforge.errors.invalid_from)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.cli import app as cli_app
from reelforge.cli import sample_image
from reelforge.cli.common import platform as cli_platform
from reelforge.errors import InvalidRequest
from reelforge.services.accounts import accounts
from reelforge.services.jobs import model_registry
from reelforge.services.jobs.request import SubmitRequest

# Signed output links expire a fixed time after they are made: the CLI's and the API's are
# made moments apart.
MOMENT = {"url_expires_at"}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key in list(os.environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


@pytest.fixture
def api(cli: CliRunner) -> Iterator[tuple[TestClient, Platform]]:
    """The API over the CLI's own deployment, with a key of the CLI's account."""
    with cli_platform() as p:
        key = accounts.create_api_key(p, accounts.LOCAL_ACCOUNT).key
        with TestClient(create_app(p)) as c:
            c.headers["Authorization"] = f"Bearer {key}"
            yield c, p


def _cli_json(cli: CliRunner, *args: str) -> Any:
    r = cli.invoke(cli_app, list(args))
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout.strip().splitlines()[-1])


def _same_key_for_key(cli_view: dict[str, Any], api_view: dict[str, Any]) -> None:
    assert list(cli_view) == list(api_view)  # the same keys, in the same order
    for key, value in api_view.items():
        if isinstance(value, dict) and key == "output":
            _same_key_for_key(cli_view[key], value)
        elif key in MOMENT:
            apart = datetime.fromisoformat(cli_view[key]) - datetime.fromisoformat(value)
            assert abs(apart.total_seconds()) < 30, key
        elif key in ("url", "poster_url") and value and "sig=" in value:
            assert urlsplit(cli_view[key]).path == urlsplit(value).path, key
        else:
            assert cli_view[key] == value, key


def test_the_cli_json_of_a_job_is_the_api_json(
    cli: CliRunner, api: tuple[TestClient, Platform], tmp_path: Path
) -> None:
    client, _ = api
    done = _cli_json(
        cli,
        *("generate", "--image", str(sample_image()), "--prompt", "zoom", "--camera", "zoom_in"),
        *("--duration", "1", "--resolution", "480p", "--seed", "5"),
        *("--out", str(tmp_path / "clip.mp4"), "--json"),
    )
    job_id = done["id"]
    api_job = client.get(f"/v1/videos/{job_id}").json()
    assert api_job["status"] == "succeeded" and api_job["output"]["sha256"]
    _same_key_for_key(_cli_json(cli, "jobs", "show", job_id, "--json"), api_job)
    api_list = client.get("/v1/videos").json()
    cli_list = _cli_json(cli, "jobs", "list", "--json")
    assert list(cli_list) == list(api_list) == ["object", "data", "next_cursor"]
    assert [j["id"] for j in cli_list["data"]] == [j["id"] for j in api_list["data"]] == [job_id]
    _same_key_for_key(cli_list["data"][0], api_list["data"][0])
    # a job that is not finished: its cancel, by the CLI and by the API
    queued = client.post(
        "/v1/videos",
        json={"prompt": "x", "image_upload_id": api_job["image_upload_id"], "duration": 1},
    )
    assert queued.status_code == 202
    _same_key_for_key(queued.json(), client.get(f"/v1/videos/{queued.json()['id']}").json())
    cancelled = _cli_json(cli, "jobs", "cancel", queued.json()["id"], "--json")
    _same_key_for_key(cancelled, client.get(f"/v1/videos/{queued.json()['id']}").json())
    assert cancelled["status"] == "cancelled"


def _parsed(parse: Any, body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse(body)
    return caught.value


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "x", "duration": 999},
        {"prompt": "x", "fps": "fast"},
        {"prompt": "x", "no_such_field": 1},
    ],
)
def test_a_validation_error_reads_the_same_in_the_api_and_the_services(
    api: tuple[TestClient, Platform], body: dict[str, Any]
) -> None:
    client, _ = api
    served = _parsed(SubmitRequest.parse, body)
    r = client.post("/v1/videos", json=body)
    assert r.status_code == 422
    assert r.json()["error"] == served.to_dict()
    assert served.code == ("unknown_field" if "no_such_field" in body else "invalid_request")


def test_the_cli_refuses_bad_arguments_with_the_same_error(cli: CliRunner) -> None:
    served = _parsed(SubmitRequest.parse, {"prompt": "x", "duration": 999.0})
    assert served.field == "duration"
    shown = cli.invoke(cli_app, ["generate", "--prompt", "x", "--duration", "999", "--out", "o"])
    assert shown.exit_code == 2  # bad input
    assert f"[{served.code}] {served.message}" in " ".join(shown.output.split())


def test_a_body_field_named_like_a_request_part_keeps_its_name(
    api: tuple[TestClient, Platform],
) -> None:
    """`path` is a field of a model request: the API strips only the request part in front
    (it once dropped every `path` and answered without a field), as the CLI reads it."""
    client, p = api
    admin = accounts.create_api_key(p, "ops", admin=True).key
    body = {"name": "m1", "family": "wan"}
    served = _parsed(model_registry.parse_model_request, body)
    assert served.field == "path" and served.message.startswith("path: ")
    r = client.post("/v1/admin/models", json=body, headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 422 and r.json()["error"] == served.to_dict()
