"""What a cold `reelforge generate` no longer pays for: decoding its image three times,
importing redis/psycopg for an SQLite queue, importing alembic to learn the schema is current."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.media import images
from reelforge.storage.db import Database, alembic_config, script_head


def _png(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "source.png"
    Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(path)
    return path


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = images._decode

    def counting(im: Image.Image) -> None:
        calls.append(1)
        real(im)

    monkeypatch.setattr(images, "_decode", counting)
    return calls


def test_kept_decodes_decode_an_upload_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _png(tmp_path)
    copy = tmp_path / "input-0"  # what a worker downloads: another path, the same bytes
    copy.write_bytes(source.read_bytes())
    expected = images.load_image(source)
    decodes = _count_decodes(monkeypatch)
    monkeypatch.setattr(images, "DECODED", images._DecodedImages())
    images.keep_decoded(2)
    info = images.inspect_image(source.read_bytes())
    first = images.load_image(copy)
    first[:] = 0  # a caller drawing on its copy does not change what the next one gets
    second = images.load_image(copy)
    assert (info.width, info.height, info.format) == (160, 120, "PNG")
    assert len(decodes) == 1 and images.DECODED.hits == 2
    assert np.array_equal(second, expected) and second.flags.writeable


def test_decodes_are_not_kept_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _png(tmp_path)
    decodes = _count_decodes(monkeypatch)
    monkeypatch.setattr(images, "DECODED", images._DecodedImages())
    images.inspect_image(source.read_bytes())
    images.load_image(source)
    images.load_image(source)
    assert len(decodes) == 3 and images.DECODED.hits == 0


def test_kept_decode_still_applies_the_pixel_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _png(tmp_path)
    monkeypatch.setattr(images, "DECODED", images._DecodedImages())
    images.keep_decoded(2)
    images.load_image(source)
    with pytest.raises(images.InvalidImage, match="limit"):
        images.load_image(source, max_pixels=100)


def test_script_head_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None and script_head() == head


def test_schema_revision_without_alembic(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/rf.db")
    try:
        assert db.schema_revision() == (None, script_head())
        assert db.migrate()  # a new database: every migration runs
        assert db.schema_revision() == (script_head(), script_head())
    finally:
        db.dispose()
    # a current database is opened and checked without importing alembic
    code = textwrap.dedent(f"""
        import sys
        from reelforge.storage.db import Database
        db = Database("sqlite:///{tmp_path}/rf.db")
        assert db.migrate() == [], db.applied_migrations
        assert "alembic" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_sqlite_queue_does_not_import_redis_or_psycopg(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        from reelforge.queue.jobqueue import HueyJobQueue
        q = HueyJobQueue("sqlite:///{tmp_path}/q.db")
        q.enqueue("job_1", queue="motion")
        assert q.dequeue(["motion"]) == ("motion", "job_1")
        assert "redis" not in sys.modules and "psycopg" not in sys.modules
        import redis, psycopg  # hidden only while huey was imported
        import huey.storage
        assert huey.storage.Redis is None and huey.storage.psycopg is None
        from reelforge.queue.jobqueue import _huey
        HueyJobQueue("redis://127.0.0.1:1/0")._queue("motion")  # connects on first use
        _huey("postgresql")  # (PostgresHuey would connect at once)
        assert huey.storage.RedisStorage.redis_client is redis.Redis
        assert huey.storage.psycopg is psycopg
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
