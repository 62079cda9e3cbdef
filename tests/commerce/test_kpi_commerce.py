"""Commerce usage in the KPI report: clips and cost per SKU, share of generations, cost and
revenue, and the template mix — from plain records, and from a real batch's jobs."""

from __future__ import annotations

from datetime import UTC, datetime

from reelforge.analytics.commerce import CommerceClipRow, commerce_usage
from reelforge.analytics.kpis import ConsumedRow, UsageRow
from reelforge.analytics.tables import report_tables

T = datetime(2026, 12, 1, tzinfo=UTC)


def _usage(job: str, cost: float, outcome: str = "succeeded") -> UsageRow:
    return UsageRow("acct", job, "compute", cost, outcome, T)


def test_clips_cost_and_revenue_per_sku_shares_and_template_mix() -> None:
    clips = [
        CommerceClipRow("j1", "acct", "CUP-1", "showcase", "9:16"),
        CommerceClipRow("j2", "acct", "CUP-1", "showcase", "1:1"),
        CommerceClipRow("j3", "acct", "MUG-1", "sale", "9:16"),
        CommerceClipRow("j4", "acct", "MUG-1", "sale", "1:1"),  # failed: not a generation
    ]
    usage = [
        _usage("j1", 0.02),
        _usage("j1", 0.01),  # storage of the same job
        _usage("j2", 0.02),
        _usage("j3", 0.05),
        _usage("j4", 0.04, "failed"),
        _usage("other", 0.10),  # a job that is not a promo clip
    ]
    consumed = [
        ConsumedRow("j1", 2, 0.01),
        ConsumedRow("j2", 2, 0.01),
        ConsumedRow("j3", 5, 0.01),
        ConsumedRow("other", 10, 0.01),
        ConsumedRow("j3", 3, None),  # postpaid on a plan at 0 per credit
    ]
    c = commerce_usage(clips, usage, consumed, {"enterprise": 0.012})
    assert c["clips"] == 3 and c["skus"] == 2
    assert c["generations_share"] == 0.75  # 3 of the 4 generations
    assert c["cost_usd"] == 0.1 and c["cost_share"] == 0.5  # 0.10 of 0.20
    assert c["revenue_usd"] == 0.09 and c["revenue_share"] == 0.4737  # 0.09 of 0.19
    assert c["per_sku"] == [
        {"account_id": "acct", "sku": "CUP-1", "clips": 2, "cost_usd": 0.05, "revenue_usd": 0.04},
        {"account_id": "acct", "sku": "MUG-1", "clips": 1, "cost_usd": 0.05, "revenue_usd": 0.05},
    ]
    assert c["template_mix"] == {
        "sale": {"clips": 1, "share": 0.3333},
        "showcase": {"clips": 2, "share": 0.6667},
    }
    assert c["aspect_mix"]["9:16"] == {"clips": 2, "share": 0.6667}
    empty = commerce_usage([], usage, consumed)
    assert empty["clips"] == 0 and empty["generations_share"] == 0.0 and empty["per_sku"] == []


def test_the_report_table_lists_templates_and_skus() -> None:
    c = commerce_usage(
        [CommerceClipRow("j1", "acct", "CUP-1", "showcase", "9:16")], [_usage("j1", 0.02)], []
    )
    report = {"commerce_usage": c}
    table = next(t for t in _tables(report) if t.name == "commerce")
    assert table.rows == [
        ["template", "showcase", 1, 1.0, None, None],
        ["sku", "CUP-1", 1, None, 0.02, 0.0],
    ]
    assert "Commerce clips: 1 (100.0% of generations" in table.title


def _tables(extra: dict[str, object]):  # type: ignore[no-untyped-def]
    """report_tables over a minimal report carrying only the commerce section."""
    from reelforge.analytics import kpis

    base = kpis.kpi_report(
        accounts=[], usage=[], payments=[], plan_changes=[], jobs=[], consumed=[], plans=[],
        now=T,
    )  # fmt: skip
    return report_tables({**base, **extra})
