"""`reelforge guards add|list|remove`: guard directories checked on registration without
loading them (architecture, weights, tokenizer, the chat template that carries the policy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelforge.cli import app as cli_app


def guard_dir(root: Path, architecture: str, chat_template: bool = True) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"architectures": [architecture]}))
    (root / "model.safetensors").write_bytes(b"\0" * 8)
    (root / "tokenizer.json").write_text("{}")
    config = {"chat_template": "{{ messages[0]['content'] }}"} if chat_template else {}
    (root / "tokenizer_config.json").write_text(json.dumps(config))
    return root


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def test_guards_are_added_listed_and_removed(cli: CliRunner, tmp_path: Path) -> None:
    lg = guard_dir(tmp_path / "lg3", "LlamaForCausalLM")
    qg = guard_dir(tmp_path / "qg", "Qwen3ForCausalLM")
    r = cli.invoke(cli_app, ["guards", "add", "lg3", "--family", "llama-guard", "--path", str(lg)])
    assert r.exit_code == 0, r.output
    gpu = ["--device", "cuda:1", "--dtype", "bf16", "--json"]
    r = cli.invoke(
        cli_app, ["guards", "add", "qg", "--family", "qwen3guard", "--path", str(qg), *gpu]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["device"] == "cuda:1"
    listed = json.loads(cli.invoke(cli_app, ["guards", "list", "--json"]).stdout)["data"]
    assert [(g["name"], g["family"], g["dtype"]) for g in listed] == [
        ("lg3", "llama-guard", "fp32"),
        ("qg", "qwen3guard", "bf16"),
    ]
    assert listed[0]["languages"] == ["de", "en", "es", "fr", "hi", "it", "pt", "th"]
    assert listed[0]["path"] == str(lg.resolve())
    again = cli.invoke(
        cli_app, ["guards", "add", "lg3", "--family", "llama-guard", "--path", str(lg)]
    )
    assert again.exit_code != 0 and "guard_exists" in again.output
    assert cli.invoke(cli_app, ["guards", "remove", "lg3"]).exit_code == 0
    gone = cli.invoke(cli_app, ["guards", "remove", "lg3"])
    assert gone.exit_code != 0 and "guard_not_found" in gone.output


@pytest.mark.parametrize(
    ("family", "architecture", "chat", "extra", "code"),
    [
        ("llama-guard", "Qwen3ForCausalLM", True, [], "guard_family_mismatch"),
        ("qwen3guard", "Qwen3ForCausalLM", False, [], "invalid_guard_dir"),  # no template
        ("shieldgemma", "Gemma2ForCausalLM", True, ["--device", "gpu"], "invalid_request"),
        ("shieldgemma", "Gemma2ForCausalLM", True, ["--dtype", "int4"], "invalid_request"),
        ("nemo-guard", "LlamaForCausalLM", True, [], "unknown_family"),
    ],
)
def test_a_guard_directory_is_checked_before_it_is_registered(
    cli: CliRunner,
    tmp_path: Path,
    family: str,
    architecture: str,
    chat: bool,
    extra: list[str],
    code: str,
) -> None:
    path = guard_dir(tmp_path / "g", architecture, chat)
    r = cli.invoke(cli_app, ["guards", "add", "g", "--family", family, "--path", str(path), *extra])
    assert r.exit_code != 0 and code in r.output, r.output
    missing = cli.invoke(
        cli_app,
        ["guards", "add", "g", "--family", "shieldgemma", "--path", str(tmp_path / "nowhere")],
    )
    assert missing.exit_code != 0 and "guard_path_not_found" in missing.output


def test_guards_over_the_admin_api(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from reelforge.api.app import create_app
    from reelforge.app.bootstrap import bootstrap
    from reelforge.services.accounts import accounts
    from tests.conftest import make_settings

    p = bootstrap(make_settings(tmp_path))
    try:
        admin = accounts.create_api_key(p, "ops", admin=True).key
        user = accounts.create_api_key(p, "acme").key
        path = guard_dir(tmp_path / "sg", "Gemma2ForCausalLM", chat_template=False)
        body = {"name": "sg", "family": "shieldgemma", "path": str(path)}
        with TestClient(create_app(p)) as c:
            c.headers["Authorization"] = f"Bearer {user}"
            assert c.post("/v1/admin/guards", json=body).status_code == 403
            c.headers["Authorization"] = f"Bearer {admin}"
            r = c.post("/v1/admin/guards", json=body)
            assert r.status_code == 201, r.text
            assert r.json()["languages"] == ["en"]  # ShieldGemma needs no chat template
            assert [g["name"] for g in c.get("/v1/admin/guards").json()["data"]] == ["sg"]
            bad = c.post("/v1/admin/guards", json={**body, "name": "x", "path": "/a\u0000b"})
            assert bad.status_code == 422 and bad.json()["error"]["field"] == "path"
            assert c.delete("/v1/admin/guards/sg").status_code == 204
            assert c.delete("/v1/admin/guards/sg").status_code == 404
    finally:
        p.close()


def test_band_routing_sends_an_uncovered_language_only_to_a_guard_that_reads_it(
    tmp_path: Path,
) -> None:
    from reelforge.app.bootstrap import bootstrap
    from reelforge.services.governance import guards
    from reelforge.services.governance.moderation import Moderation, check_prompts
    from tests.conftest import make_settings

    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "banded.yaml").write_text("extends: default\nguard: {prompts: band}\n")
    settings = make_settings(tmp_path, policy_profile="banded", policy_dir=policies)
    p = bootstrap(settings)
    try:
        moderation = p.moderation
        assert isinstance(moderation, Moderation)
        chinese, english, band = check_prompts(
            settings,
            None,
            [
                "一只熊猫在竹林里吃竹子",
                "A golden retriever running through a sunflower field",
                "a protest march for better school funding, peaceful",
            ],
        )
        assert moderation.guard_needed(chinese) is None  # nothing registered yet
        sg = guard_dir(tmp_path / "sg", "Gemma2ForCausalLM", chat_template=False)
        guards.add_guard(
            p, guards.parse_guard_request({"name": "sg", "family": "shieldgemma", "path": str(sg)})
        )
        assert moderation.guard_needed(chinese) is None  # ShieldGemma reads English only
        assert moderation.guard_needed(band) == "sg"  # the review band: any guard
        assert moderation.guard_needed(english) is None  # allowed by the fast stages
        guards.remove_guard(p, "sg")
        qg = guard_dir(tmp_path / "qg", "Qwen3ForCausalLM")
        guards.add_guard(
            p, guards.parse_guard_request({"name": "qg", "family": "qwen3guard", "path": str(qg)})
        )
        assert moderation.guard_needed(chinese) == "qg"
    finally:
        p.close()
