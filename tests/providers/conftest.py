"""Fixtures of the provider tests: a platform whose worker serves the `providers` queue, with
the provider's base URL pointed at a fake server on loopback and credentials from settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.jobs import provider_registry
from tests.conftest import make_settings
from tests.providers.fakes.base import make_mp4
from tests.providers.fakes.kling import FakeKling

KLING_ACCESS = "ak-test-0123456789abcdef"
KLING_SECRET = "sk-test-fedcba9876543210-secret"


@pytest.fixture(scope="session")
def provider_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mp4(tmp_path_factory.mktemp("video") / "result.mp4")


@pytest.fixture
def fake_kling(provider_video: Path) -> Iterator[FakeKling]:
    fake = FakeKling(provider_video, KLING_ACCESS, KLING_SECRET).start()
    yield fake
    fake.stop()


def provider_platform(tmp_path: Path, **settings: object) -> Platform:
    values: dict[str, object] = {
        "worker_queues": ["providers"],
        "provider_poll_interval": 0.05,
        "provider_busy_retry": 0.2,
        "provider_kling_access_key": KLING_ACCESS,
        "provider_kling_secret_key": KLING_SECRET,
    }
    values.update(settings)
    return bootstrap(make_settings(tmp_path, **values))


@pytest.fixture
def kling_platform(tmp_path: Path, fake_kling: FakeKling) -> Iterator[Platform]:
    p = provider_platform(tmp_path, provider_kling_base_url=fake_kling.base_url)
    provider_registry.add_provider_model(
        p,
        provider_registry.parse_provider_model_request(
            {"name": "kling", "provider": "kling", "remote_model": "kling-v2-1"}
        ),
    )
    yield p
    p.close()


@pytest.fixture
def account(kling_platform: Platform) -> accounts.AccountRef:
    return accounts.ensure_account(kling_platform, "alice")
