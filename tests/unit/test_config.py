from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.config import Settings, mask_url


def test_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    s = Settings()
    assert s.data_dir == tmp_path / "reelforge"
    assert s.resolved_database_url == f"sqlite:///{tmp_path}/reelforge/reelforge.db"
    assert s.resolved_queue_url == f"sqlite:///{tmp_path}/reelforge/queue.db"
    assert s.resolved_blob_url == f"file://{tmp_path}/reelforge/blobs"


def test_environment_and_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "rf.toml"
    cfg.write_text(
        'database_url = "postgresql://u:secret@db/rf"\nworkers = 3\n'
        'heartbeat_timeout = 45.0\nqueue_url = "redis://r:6379/0"\n'
    )
    monkeypatch.setenv("RF_CONFIG", str(cfg))
    monkeypatch.setenv("RF_WORKERS", "5")  # the environment wins over the file
    s = Settings()
    assert s.workers == 5 and s.heartbeat_timeout == 45.0
    assert s.resolved_queue_url == "redis://r:6379/0"
    assert s.public_dict()["database_url"] == "postgresql://u:***@db/rf"


def test_bad_settings_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RF_WORKERS", "0")
    with pytest.raises(ValueError):
        Settings()
    monkeypatch.delenv("RF_WORKERS")
    monkeypatch.setenv("RF_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError):
        Settings()


def test_mask_url() -> None:
    assert mask_url("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"


# --- issue 12 item 11: lists and dicts from the environment, readable and secret-free output


def test_list_settings_accept_comma_separated_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RF_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    assert Settings().webhook_allow_hosts == ["127.0.0.1"]
    monkeypatch.setenv("RF_WEBHOOK_ALLOW_HOSTS", " 10.0.0.0/8, hooks.internal ,")
    assert Settings().webhook_allow_hosts == ["10.0.0.0/8", "hooks.internal"]
    monkeypatch.setenv("RF_WEBHOOK_ALLOW_HOSTS", '["a.example", "b.example"]')  # JSON still works
    assert Settings().webhook_allow_hosts == ["a.example", "b.example"]
    monkeypatch.setenv("RF_WEBHOOK_ALLOW_HOSTS", "")
    assert Settings().webhook_allow_hosts == []
    monkeypatch.setenv("RF_WORKER_QUEUES", "motion,wan")
    assert Settings().worker_queues == ["motion", "wan"]


def test_dict_settings_accept_key_value_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RF_DEFAULT_MODEL", "text2video=wan-1.3b, image2video = motion")
    assert Settings().default_model == {"text2video": "wan-1.3b", "image2video": "motion"}
    monkeypatch.setenv("RF_DEFAULT_MODEL", '{"text2video": "ltx"}')
    assert Settings().default_model == {"text2video": "ltx"}
    monkeypatch.setenv("RF_DEFAULT_MODEL", "text2video")
    with pytest.raises(ValueError, match="key=value"):
        Settings()


def test_lists_from_a_config_file_stay_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "rf.toml"
    cfg.write_text('webhook_allow_hosts = ["x.example"]\n[default_model]\ntext2video = "w"\n')
    monkeypatch.setenv("RF_CONFIG", str(cfg))
    s = Settings()
    assert s.webhook_allow_hosts == ["x.example"] and s.default_model == {"text2video": "w"}


def test_config_output_never_shows_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from reelforge.cli import app

    monkeypatch.setenv("RF_STRIPE_SECRET_KEY", "sk_test_SUPERSECRET")
    monkeypatch.setenv("RF_STRIPE_WEBHOOK_SECRET", "whsec_SUPERSECRET")
    monkeypatch.setenv("RF_PROVENANCE_SECRET", "SUPERSECRET-hmac")
    monkeypatch.setenv("RF_DATABASE_URL", "postgresql://u:SUPERSECRET@db/rf")
    s = Settings()
    assert "SUPERSECRET" not in repr(s) and "SUPERSECRET" not in str(s.public_dict())
    assert s.stripe_secret_key is not None
    assert s.stripe_secret_key.get_secret_value() == "sk_test_SUPERSECRET"
    runner = CliRunner()
    for args in (["config"], ["config", "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "SUPERSECRET" not in result.output
    data = __import__("json").loads(runner.invoke(app, ["config", "--json"]).output)
    assert data["stripe_secret_key"] == "***" and data["database_url"] == "postgresql://u:***@db/rf"
    text = runner.invoke(app, ["config"]).output
    assert "[provenance]" in text and "[queue]" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("stripe_secret_key"))
    assert line.split("=", 1)[1].strip() == "***"
    # aligned: every '=' of a group in the same column
    group = [ln for ln in text.split("[worker]")[1].split("\n\n")[0].splitlines() if "=" in ln]
    assert len({ln.index("=") for ln in group}) == 1


def test_a_bad_setting_is_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from reelforge.cli import app

    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RF_WORKERS", "zero")
    for args in (["config"], ["migrate"], ["jobs", "list"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output and not isinstance(result.exception, ValueError)
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and "RF_WORKERS" in lines[0], result.output
    monkeypatch.delenv("RF_WORKERS")
    monkeypatch.setenv("RF_CONFIG", str(tmp_path / "missing.toml"))
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2 and "RF_CONFIG" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_passwords_in_a_urls_query_are_masked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq and redis-py take the password as a query parameter as well
    (`postgresql://u@h/db?password=...`): `reelforge config` and log lines hide it there too."""
    from typer.testing import CliRunner

    from reelforge.cli import app

    url = "postgresql://u@db/rf?sslmode=require&password=SUPERSECRET&sslpassword=SUPERSECRET2"
    assert mask_url(url) == "postgresql://u@db/rf?sslmode=require&password=***&sslpassword=***"
    assert mask_url("redis://h:6379/0?password=SUPERSECRET") == "redis://h:6379/0?password=***"
    assert mask_url("redis://h:6379/0?db=2") == "redis://h:6379/0?db=2"
    monkeypatch.setenv("RF_DATABASE_URL", url)
    monkeypatch.setenv("RF_QUEUE_URL", "redis://h:6379/0?password=SUPERSECRET3")
    s = Settings()
    assert {"SUPERSECRET", "SUPERSECRET2", "SUPERSECRET3"} <= set(s.secret_values())
    for args in (["config"], ["config", "--json"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "SUPERSECRET" not in result.output and "sslmode=require" in result.output


def test_percent_encoded_url_credentials_are_masked_as_written_and_decoded() -> None:
    """A log line that quotes a URL shows its credentials percent-encoded; one that quotes what
    a driver decoded shows them plain: both are masked."""
    import logging

    from reelforge.logs import MaskingFormatter

    s = Settings(
        database_url="postgresql://u:p%40ss%2Fw0rd@db/rf?password=a%2Bb%3Dc&sslmode=require",
        queue_url="redis://h:6379/0?token=t%20k+n",
    )
    values = set(s.secret_values())
    assert {"p%40ss%2Fw0rd", "p@ss/w0rd", "a%2Bb%3Dc", "a+b=c", "t%20k+n", "t k n"} <= values
    line = (
        "cannot connect to postgresql://u:p%40ss%2Fw0rd@db/rf?password=a%2Bb%3Dc "
        "(user u, password p@ss/w0rd, a+b=c); redis ?token=t%20k+n"
    )
    record = logging.LogRecord("reelforge", logging.ERROR, __file__, 1, line, None, None)
    shown = MaskingFormatter(logging.Formatter("%(message)s"), s.secret_values()).format(record)
    for secret in ("p%40ss", "p@ss", "a%2Bb", "a+b=c", "t%20k"):
        assert secret not in shown, shown
