"""The dated price sheet covers MiniMax, Google (Veo) and OpenAI (Sora): every model and
resolution their modules accept has a per-second price with its source, a job records the
provider's cost from it, and a quote shows it before anything is called."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.backends.providers.minimax import MODELS as MINIMAX_MODELS
from reelforge.backends.providers.openai import MODELS as SORA_MODELS
from reelforge.backends.providers.registry import get_provider
from reelforge.backends.providers.veo import MODELS as VEO_MODELS
from reelforge.billing.provider_prices import load_provider_sheet, lookup
from reelforge.services.billing import quotes
from reelforge.services.jobs.submit import SubmitRequest
from tests.providers.fakes.base import FakeProvider
from tests.providers.fakes.minimax import FakeMiniMax
from tests.providers.fakes.sora import FakeSora
from tests.providers.fakes.veo import FakeVeo
from tests.providers.hosted import hosted_platform, run, submit

KEY = "price-test-key-0123456789"


@pytest.mark.parametrize(
    "provider,models",
    [("minimax", MINIMAX_MODELS), ("google", VEO_MODELS), ("openai", SORA_MODELS)],
)
def test_every_model_and_resolution_has_a_dated_price(provider: str, models: object) -> None:
    sheet = load_provider_sheet()
    entry = sheet.providers[provider]
    assert entry.date == "2026-12-06" and entry.source.strip()
    module = get_provider(provider)
    assert isinstance(models, dict)
    for remote in models:
        caps = module.capabilities(remote)
        for mode in caps.modes:
            for resolution in caps.resolutions or ("720p",):
                found = lookup(sheet, provider, remote, mode.value, resolution)
                assert found is not None, (remote, mode, resolution)
                rate, source = found
                assert 0 < rate < 1 and entry.date in source


def _fake(provider: str, video: Path) -> FakeProvider:
    if provider == "minimax":
        return FakeMiniMax(video, KEY)
    if provider == "google":
        return FakeVeo(video, KEY)
    return FakeSora(video, KEY)


@pytest.fixture
def fakes() -> Iterator[list[FakeProvider]]:
    made: list[FakeProvider] = []
    yield made
    for fake in made:
        fake.stop()


@pytest.mark.parametrize(
    "provider,remote,fields,rate",
    [
        ("minimax", "MiniMax-Hailuo-02", {"duration": 6, "resolution": "1080p"}, 0.0817),
        ("google", "veo-3.0-fast-generate-001", {"duration": 8}, 0.15),
        ("openai", "sora-2", {"duration": 4}, 0.10),
    ],
)
def test_a_job_records_the_providers_cost_from_the_sheet_and_the_quote_shows_it(
    tmp_path: Path,
    provider_video: Path,
    fakes: list[FakeProvider],
    provider: str,
    remote: str,
    fields: dict[str, object],
    rate: float,
) -> None:
    fake = _fake(provider, provider_video).start()
    fakes.append(fake)
    suffix = {"google": "/v1beta", "openai": "/v1"}.get(provider, "")  # as the real ones end
    p = hosted_platform(
        tmp_path,
        provider,
        remote,
        fake,
        **{
            f"provider_{provider}_api_key": KEY,
            f"provider_{provider}_base_url": fake.base_url + suffix,
        },
    )
    try:
        acct, job = submit(p, provider, **fields)
        seconds = float(fields["duration"])  # type: ignore[arg-type]
        request = SubmitRequest.parse({"prompt": "a lighthouse", "model": provider, **fields})
        quote = quotes.quote(p, acct, request)
        done = run(p, acct, job["id"])
    finally:
        p.close()
    assert quote["estimate_basis"] == "provider_price"
    assert quote["estimated_cost_usd"] == pytest.approx(rate * seconds)
    assert done["status"] == "succeeded", done["error"]
    compute = done["compute"]
    assert compute["provider_usd_per_second"] == rate
    assert compute["provider_cost_usd"] == pytest.approx(rate * seconds)
    assert compute["provider_price_sheet"] == "2026-12-06"
    assert "UNCHECKED SECONDARY SOURCES" in compute["provider_price_source"]
