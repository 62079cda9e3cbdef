"""Fixtures of the provider tests: a platform whose worker serves the `providers` queue, with
each provider's base URL pointed at its fake server on loopback and credentials from settings.
`hosted(provider, remote_model)` registers a model and hands back everything a test needs."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.services.jobs import provider_registry
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.jobs.uploads import create_upload
from reelforge.worker.loop import Worker
from tests.conftest import _truncate_pg, make_settings
from tests.helpers import wait_final
from tests.providers.fakes.base import FakeProvider, make_mp4
from tests.providers.fakes.kling import FakeKling
from tests.providers.fakes.luma import FakeLuma
from tests.providers.fakes.runway import FakeRunway

KLING_ACCESS = "ak-test-0123456789abcdef"
KLING_SECRET = "sk-test-fedcba9876543210-secret"
RUNWAY_KEY = "key_runway_0123456789abcdefghij"
LUMA_KEY = "luma-0123456789abcdef-secret"
SECRETS = (KLING_ACCESS, KLING_SECRET, RUNWAY_KEY, LUMA_KEY)


@pytest.fixture(scope="session")
def provider_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mp4(tmp_path_factory.mktemp("video") / "result.mp4")


def make_fake(provider: str, video: Path) -> FakeProvider:
    if provider == "kling":
        return FakeKling(video, KLING_ACCESS, KLING_SECRET).start()
    if provider == "runway":
        return FakeRunway(video, RUNWAY_KEY).start()
    if provider == "luma":
        return FakeLuma(video, LUMA_KEY).start()
    raise ValueError(provider)


def provider_settings(tmp_path: Path, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "worker_queues": ["providers"],
        "provider_poll_interval": 0.05,
        "provider_busy_retry": 0.2,
        "provider_kling_access_key": KLING_ACCESS,
        "provider_kling_secret_key": KLING_SECRET,
        "provider_runway_api_key": RUNWAY_KEY,
        "provider_luma_api_key": LUMA_KEY,
    }
    values.update(overrides)
    return values


@dataclass
class Hosted:
    p: Platform
    fake: FakeProvider
    model: str
    account: accounts.AccountRef

    def image(self, seed: int = 1) -> str:
        """An uploaded JPEG (a real photo-like gradient), its upload id."""
        rng = np.random.default_rng(seed)
        pixels = np.clip(
            np.linspace(0, 255, 320 * 240 * 3).reshape(240, 320, 3)
            + rng.normal(0, 8, (240, 320, 3)),
            0,
            255,
        ).astype(np.uint8)
        data = io.BytesIO()
        Image.fromarray(pixels).save(data, "JPEG")
        return create_upload(self.p, self.account, data.getvalue(), "frame.jpg").id

    def submit(self, **fields: object) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": "a lighthouse at dusk", "model": self.model, **fields}
        return submit_job(self.p, self.account, SubmitRequest.parse(body)).job

    def run(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        worker = Worker(self.p).start()
        try:
            return wait_final(self.p, self.account, job_id, timeout)
        finally:
            worker.stop()


@pytest.fixture
def hosted(
    tmp_path: Path, provider_video: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Hosted]]:
    """make(provider, remote_model, stack="sqlite"|"postgres", **settings)."""
    made: list[tuple[Platform, FakeProvider]] = []

    def make(provider: str, remote_model: str, stack: str = "sqlite", **settings: object) -> Hosted:
        fake = make_fake(provider, provider_video)
        values = provider_settings(tmp_path, **{f"provider_{provider}_base_url": fake.base_url})
        if stack == "postgres":
            pg = request.getfixturevalue("pg_database")
            redis_url = request.getfixturevalue("redis_url")
            _truncate_pg(pg)
            values.update(database_url=pg, queue_url=redis_url)
        values.update(settings)
        p = bootstrap(make_settings(tmp_path / f"{provider}-{len(made)}", **values))
        made.append((p, fake))
        name = f"{provider}-{remote_model}".lower().replace(".", "-")
        provider_registry.add_provider_model(
            p,
            provider_registry.parse_provider_model_request(
                {"name": name, "provider": provider, "remote_model": remote_model}
            ),
        )
        return Hosted(p, fake, name, accounts.ensure_account(p, "alice"))

    yield make
    for p, fake in made:
        p.close()
        fake.stop()
