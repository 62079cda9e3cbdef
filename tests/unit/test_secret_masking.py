"""Secrets never leave in clear (issue 14 item 6): every secret setting is a SecretStr,
`reelforge config` masks it (test_config.py), and every log line the CLI, the API server
and the worker write (one handler, installed by the CLI's callback) masks its value, text
or JSON, in messages, arguments and tracebacks."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from reelforge import logs
from reelforge.config import Settings

SECRETS = {
    "RF_STRIPE_SECRET_KEY": "sk_test_SUPERSECRET1",
    "RF_STRIPE_WEBHOOK_SECRET": "whsec_SUPERSECRET2",
    "RF_PROVENANCE_SECRET": "SUPERSECRET3-hmac",
    "RF_URL_SIGNING_SECRET": "SUPERSECRET4-url",
    "RF_METRICS_TOKEN": "SUPERSECRET5-metrics",
}


def test_every_secret_setting_is_a_secretstr() -> None:
    names = [n for n in Settings.model_fields if any(w in n for w in ("secret", "token"))]
    names += [n for n in Settings.model_fields if n.endswith(("_api_key", "_access_key"))]
    assert {"stripe_secret_key", "stripe_webhook_secret", "provenance_secret"} <= set(names)
    for name in names:
        assert "SecretStr" in str(Settings.model_fields[name].annotation), name


def test_settings_name_every_secret_value(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RF_DATABASE_URL", "postgresql://u:SUPERSECRET6@db/rf")
    s = Settings()
    assert set(SECRETS.values()) | {"SUPERSECRET6"} <= set(s.secret_values())
    assert all(isinstance(getattr(s, n), SecretStr) for n in ("stripe_secret_key",))


def test_reelforge_config_masks_every_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from reelforge.cli import app

    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path))
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    for args in (["config"], ["config", "--json"]):
        shown = CliRunner().invoke(app, args)
        assert shown.exit_code == 0, shown.output
        assert not [v for v in SECRETS.values() if v in shown.output]
    data = json.loads(CliRunner().invoke(app, ["config", "--json"]).output)
    for key in SECRETS:
        assert data[key.removeprefix("RF_").lower()] == "***", key


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_log_handler_masks_secrets_in_messages_arguments_and_tracebacks(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    log = logging.getLogger(f"reelforge.test_masking.{fmt}")
    log.propagate = False
    log.addHandler(logs.handler(fmt, secrets=['sk_live_"quoted\\secret', "whsec_abcdef"]))
    try:
        log.warning('stripe refused key sk_live_"quoted\\secret')
        log.warning("signature with %s failed", "whsec_abcdef")
        logs.event(log, "billing.webhook", logging.WARNING, secret="whsec_abcdef", status="no")
        try:
            raise RuntimeError("bad key whsec_abcdef")
        except RuntimeError:
            log.exception("webhook")
    finally:
        log.handlers.clear()
    err = capsys.readouterr().err
    assert "whsec_abcdef" not in err and "quoted" not in err
    assert err.count(logs.MASK) >= 5
    if fmt == "json":  # still one JSON object per line
        assert all(json.loads(line) for line in err.splitlines() if line.startswith("{"))


def test_the_cli_installs_the_masking_handler(tmp_path: Path) -> None:
    """In a fresh process (no test handlers), the CLI's callback configures logging from
    the settings: a secret that reaches a log line comes out as ***."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RF_")}
    env |= SECRETS | {"RF_DATA_DIR": str(tmp_path), "RF_LOG_FORMAT": "json"}
    code = "\n".join(
        [
            "import logging, os",
            "from reelforge.cli import _main",
            "_main(log_level='info')",
            f"for key in {sorted(SECRETS)!r}:",
            "    logging.getLogger('reelforge.x').warning('provider said: %s', os.environ[key])",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [line["msg"] for line in lines] == ["provider said: ***"] * len(SECRETS)
    assert not any(value in done.stderr for value in SECRETS.values())
