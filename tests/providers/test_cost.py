"""Money around a provider job is like any other job's: a quote before (credits, and the
provider's price as the estimated cost), a reserve at submit, a capture on success, a usage
line with the provider's dated price, and the KPI report's cost and margin per model."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from reelforge.services.billing import quotes, reports
from reelforge.services.jobs.submit import SubmitRequest
from reelforge.storage.billing_tables import UsageEvent
from tests.providers.conftest import Hosted


def test_quote_uses_the_provider_price(hosted: Callable[..., Hosted]) -> None:
    h = hosted("luma", "ray-2")
    req = SubmitRequest.parse(
        {"prompt": "a cat", "model": h.model, "duration": 5, "resolution": "1080p"}
    )
    quote = quotes.quote(h.p, h.account, req)
    assert quote["credits"] > 0 and quote["registered"] is True
    assert quote["estimated_cost_usd"] == pytest.approx(0.318 * 5)
    assert quote["estimate_basis"] == "provider_price"
    assert h.fake.requests == []  # a quote calls no one


@pytest.mark.slow
def test_a_provider_job_is_metered_with_the_providers_price(
    hosted: Callable[..., Hosted],
) -> None:
    h = hosted("runway", "gen4.5", default_plan="standard")
    job = h.submit(duration=10)
    assert job["billing"] == "reserved"
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["billing"] == "captured" and done["credits_charged"] == job["credits"]
    compute = done["compute"]
    assert compute["provider_cost_usd"] == pytest.approx(1.2)  # 12 credits/s at $0.01, 10 s
    assert compute["provider_usd_per_second"] == 0.12
    assert "docs.dev.runwayml.com" in compute["provider_price_source"]
    assert compute["provider_price_sheet"] == "2026-12-06"
    with h.p.db.session(write=False) as s:
        lines = {
            u.kind: u for u in s.scalars(select(UsageEvent).where(UsageEvent.job_id == job["id"]))
        }
    provider = lines["provider"]
    assert provider.unit == "provider_second" and provider.quantity == 10
    assert provider.cost_usd == pytest.approx(1.2) and provider.model == h.model
    assert done["cost_usd"] == pytest.approx(sum(u.cost_usd for u in lines.values()), abs=1e-6)
    assert done["cost_usd"] >= 1.2
    report = reports.kpi_report(h.p)
    by_model = report["average_generation_cost_usd"]["by_model"][h.model]
    assert by_model["generations"] == 1
    assert by_model["cost_usd"] == pytest.approx(done["cost_usd"], abs=1e-4)
    margin = report["gross_margin"]["by_model"][h.model]
    assert margin["cost_usd"] == pytest.approx(done["cost_usd"], abs=1e-4)


def test_a_model_price_file_replaces_the_sheet(hosted: Callable[..., Hosted]) -> None:
    from reelforge.services.jobs import provider_registry

    h = hosted("kling", "kling-v2-1")
    provider_registry.add_provider_model(
        h.p,
        provider_registry.parse_provider_model_request(
            {
                "name": "kling-contract",
                "provider": "kling",
                "remote_model": "kling-v2-1",
                "prices": {
                    "date": "2026-12-01",
                    "source": "contract B",
                    "per_second": {"*": {"1080p": 0.05}},
                },
            }
        ),
    )
    job = h.submit(model="kling-contract", duration=10, resolution="1080p")
    done = h.run(job["id"])
    assert done["compute"]["provider_cost_usd"] == pytest.approx(0.5)
    assert done["compute"]["provider_price_source"] == "contract B"
