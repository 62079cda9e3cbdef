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
