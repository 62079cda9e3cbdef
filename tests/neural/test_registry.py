"""Registering neural models: the directory is checked at once, with codes that say what is
wrong; the same over the admin API; users see names and modes, never paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.services.accounts import accounts
from tests.conftest import make_settings
from tests.neural.conftest import Invoke


def test_add_list_remove_through_the_cli(rf: Invoke, tiny_dirs: dict) -> None:
    added = rf(
        "models",
        "add",
        "wan-small",
        "--family",
        "wan",
        "--path",
        str(tiny_dirs["wan", "t2v"]),
        "--dtype",
        "fp32",
        "--device",
        "cpu",
        "--gpu-hourly-usd",
        "2.5",
        "--vae-tiling",
        "--step-cache",
        "taylorseer",
        "--json",
    )
    assert added["task"] == "t2v" and added["queue"] == "wan" and added["modes"] == ["text2video"]
    assert added["options"] == {"vae_tiling": True, "step_cache": "taylorseer"}
    assert added["gpu_hourly_usd"] == 2.5
    # a Wan FLF2V directory looks like i2v by its pipeline class; its transformer tells
    flf = rf(
        "models",
        "add",
        "wan-flf",
        "--family",
        "wan",
        "--path",
        str(tiny_dirs["wan", "flf2v"]),
        "--json",
    )
    assert flf["task"] == "flf2v" and flf["modes"] == ["first_last_frame"]
    listed = rf("models", "list", "--json")["data"]
    assert [m["name"] for m in listed] == ["wan-flf", "wan-small"]
    assert "wan-small" in rf("models", "list").stdout
    rf("models", "remove", "wan-small")
    assert [m["name"] for m in rf("models", "list", "--json")["data"]] == ["wan-flf"]
    assert "model_not_found" in rf("models", "remove", "wan-small", code=2).output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--family", "wan", "--path", "/nonexistent/model"], "model_path_not_found"),
        (["--family", "sora", "--path", "{wan-t2v}"], "unknown_family"),
        (["--family", "wan", "--path", "{ltx-t2v}"], "model_family_mismatch"),
        (["--family", "wan", "--path", "{wan-i2v}", "--task", "t2v"], "model_task_mismatch"),
        (["--family", "wan", "--path", "{wan-flf2v}", "--task", "i2v"], "model_task_mismatch"),
        (
            ["--family", "ltx", "--path", "{ltx-t2v}", "--step-cache", "first_block"],
            "invalid_model_option",
        ),
        (
            ["--family", "wan", "--path", "{wan-t2v}", "--device", "cpu", "--offload", "model"],
            "invalid_model_option",
        ),
        (["--family", "wan", "--path", "{wan-t2v}", "--offload", "everything"], "invalid_request"),
        (
            ["--family", "wan", "--path", "{wan-t2v}", "--attention-backend", "flash_hub"],
            "invalid_request",
        ),
        (["--family", "wan", "--path", "{wan-t2v}", "--device", "tpu"], "invalid_request"),
        (["--family", "wan", "--path", "{empty}"], "invalid_model_dir"),
        (["--family", "wan", "--path", "{no-vae}"], "invalid_model_dir"),
    ],
)
def test_bad_registrations_are_refused_with_a_code(
    rf: Invoke, tiny_dirs: dict, tmp_path: Path, args: list[str], code: str
) -> None:
    (tmp_path / "empty").mkdir()
    shutil.copytree(tiny_dirs["wan", "t2v"], tmp_path / "no-vae")
    shutil.rmtree(tmp_path / "no-vae" / "vae")
    paths = {f"{f}-{t}": str(d) for (f, t), d in tiny_dirs.items()}
    paths.update(empty=str(tmp_path / "empty"), **{"no-vae": str(tmp_path / "no-vae")})
    args = [a.format(**paths) if a.startswith("{") else a for a in args]
    result = rf("models", "add", "m", *args, code=2)
    assert code in result.output
    assert rf("models", "list", "--json")["data"] == []


def test_names_are_unique_unless_replaced(rf: Invoke, tiny_dirs: dict) -> None:
    path = str(tiny_dirs["wan", "t2v"])
    rf("models", "add", "w", "--family", "wan", "--path", path)
    assert (
        "model_exists" in rf("models", "add", "w", "--family", "wan", "--path", path, code=2).output
    )
    replaced = rf(
        "models",
        "add",
        "w",
        "--family",
        "wan",
        "--path",
        path,
        "--dtype",
        "fp16",
        "--replace",
        "--json",
    )
    assert replaced["dtype"] == "fp16"
    assert (
        "invalid_model_name"
        in rf("models", "add", "motion", "--family", "wan", "--path", path, code=2).output
    )


def test_the_admin_api_manages_the_registry(tmp_path: Path, tiny_dirs: dict) -> None:
    p = bootstrap(make_settings(tmp_path))
    admin = accounts.create_api_key(p, "ops", admin=True).key
    user = accounts.create_api_key(p, "acme").key
    body = {
        "name": "ltx-any",
        "family": "ltx",
        "path": str(tiny_dirs["ltx", "flf2v"]),
        "task": "flf2v",
        "dtype": "fp32",
        "device": "cpu",
        "options": {"vae_tiling": True},
    }
    with TestClient(create_app(p)) as client:

        def auth(key: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {key}"}

        assert client.post("/v1/admin/models", json=body, headers=auth(user)).status_code == 403
        r = client.post("/v1/admin/models", json=body, headers=auth(admin))
        assert r.status_code == 201, r.text
        assert r.json()["modes"] == ["extend", "first_last_frame", "image2video", "text2video"]
        r = client.post("/v1/admin/models", json={**body, "path": "/nope"}, headers=auth(admin))
        assert r.status_code == 422 and r.json()["error"]["code"] == "model_path_not_found"
        r = client.post("/v1/admin/models", json={**body, "colour": "red"}, headers=auth(admin))
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_field"
        listed = client.get("/v1/admin/models", headers=auth(admin)).json()["data"]
        assert [m["path"] for m in listed] == [str(tiny_dirs["ltx", "flf2v"])]
        public = client.get("/v1/models", headers=auth(user)).json()["data"]
        assert {m["name"] for m in public} == {"motion", "ltx-any"}
        assert all("path" not in m for m in public)
        assert client.delete("/v1/admin/models/ltx-any", headers=auth(admin)).status_code == 204
        assert (
            client.delete("/v1/admin/models/ltx-any", headers=auth(admin)).json()["error"]["code"]
            == "model_not_found"
        )
    p.close()
