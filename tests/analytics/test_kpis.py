"""Golden tests of the KPI report: a small event log over five ISO weeks, every figure
computed by hand in the comments, then asserted on the pure functions (reelforge.analytics)."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from reelforge.analytics.kpis import (
    AccountRow,
    ConsumedRow,
    JobRow,
    PaymentRow,
    PlanChangeRow,
    PlanInfo,
    UsageRow,
    kpi_report,
)
from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.cli import app
from reelforge.config import Settings
from reelforge.errors import InvalidRequest
from reelforge.services.accounts import accounts
from reelforge.services.billing import ledger, reports
from reelforge.storage.billing_tables import Payment, PlanChange, UsageEvent
from reelforge.storage.tables import Account, Job


def t(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# The window: Mon 2026-01-05 (ISO 2026-W02) up to Mon 2026-02-09 (exclusive): W02..W06.
# `now` is later, so events are observed up to `until` (end = 2026-02-09 00:00).
SINCE, UNTIL, NOW = t(1, 5), t(2, 9), t(3, 1)

PLANS = [
    PlanInfo("free", paid=False),
    PlanInfo("standard", paid=True),
    PlanInfo("pro", paid=True),
    PlanInfo("premier", paid=True),
    PlanInfo("enterprise", paid=True, postpaid=True, credit_usd=0.012),
    PlanInfo("internal", paid=True, postpaid=True, credit_usd=0.0),
]

# Accounts (plan = the plan now):
#   A signs up Mon 01-05 10:00 on free, subscribes to standard 01-12
#   B signs up Tue 01-06 09:00 on free, subscribes to standard 02-07 (day 32: after 30 days)
#   C signs up Tue 01-13 12:00 on free (merchant), subscribes to standard 02-05 (day 23)
#   D signs up Tue 01-20 08:00 straight onto pro (merchant), pays 01-20, tops up 02-01
#   E signs up Mon 01-26 09:00 on enterprise (postpaid, invoiced after the window)
#   F signs up Mon 02-02 10:00 on free, moved to pro by an operator 02-06 (no payment)
#   G the operator's own account (internal): left out everywhere
#   H signed up 2025-12-01 on free, on premier since 2025-12-10: old, not a signup
ACCOUNTS = [
    AccountRow("A", t(1, 5, 10), "standard", "creator"),
    AccountRow("B", t(1, 6, 9), "standard", "creator"),
    AccountRow("C", t(1, 13, 12), "standard", "merchant"),
    AccountRow("D", t(1, 20, 8), "pro", "merchant"),
    AccountRow("E", t(1, 26, 9), "enterprise", "enterprise"),
    AccountRow("F", t(2, 2, 10), "pro", "creator"),
    AccountRow("G", t(1, 5, 8), "internal", "creator"),
    AccountRow("H", t(12, 1, year=2025), "premier", "creator"),
]

PLAN_CHANGES = [
    PlanChangeRow("A", "free", t(1, 5, 10), None, "signup"),
    PlanChangeRow("A", "standard", t(1, 12, 9), "free", "stripe"),
    PlanChangeRow("B", "free", t(1, 6, 9), None, "signup"),
    PlanChangeRow("B", "standard", t(2, 7, 10), "free", "stripe"),
    PlanChangeRow("C", "free", t(1, 13, 12), None, "signup"),
    PlanChangeRow("C", "standard", t(2, 5, 8), "free", "stripe"),
    PlanChangeRow("D", "pro", t(1, 20, 8), None, "signup"),
    PlanChangeRow("E", "enterprise", t(1, 26, 9), None, "signup"),
    PlanChangeRow("F", "free", t(2, 2, 10), None, "signup"),
    PlanChangeRow("F", "pro", t(2, 6, 12), "free", "operator"),
    PlanChangeRow("G", "internal", t(1, 5, 8), None, "signup"),
    PlanChangeRow("H", "free", t(12, 1, year=2025), None, "signup"),
    PlanChangeRow("H", "premier", t(12, 10, year=2025), "free", "stripe"),
]

PAYMENTS = [
    PaymentRow("H", 9200, "subscription", t(12, 10, year=2025), "premier"),  # before: out
    PaymentRow("H", 9200, "subscription", t(1, 10, 6), "premier"),
    PaymentRow("A", 1000, "subscription", t(1, 12, 9), "standard"),
    PaymentRow("D", 3700, "subscription", t(1, 20, 8, 5), "pro"),
    PaymentRow("D", 2500, "topup", t(2, 1, 12), None),  # no plan: D's plan (pro)
    PaymentRow("C", 1000, "subscription", t(2, 5, 8), "standard"),
    PaymentRow("B", 1000, "subscription", t(2, 7, 10), "standard"),
    PaymentRow("E", 360, "invoice", t(2, 10, 9), "enterprise"),  # after the window: out
    PaymentRow("G", 100000, "invoice", t(1, 20), "internal"),  # internal: out
]


def usage(
    job: str,
    account: str,
    when: datetime,
    outcome: str,
    model: str,
    plan: str,
    resolution: str,
    segment: str,
    **costs: float,
) -> list[UsageRow]:
    return [
        UsageRow(account, job, kind, cost, outcome, when, model, plan, resolution, "final", segment)
        for kind, cost in costs.items()
    ]


# Jobs with their usage (cost per kind) and consumed credits (credits x lot unit price).
USAGE = [
    # j1 A d0: succeeded, free, 720p: 0.01 + 0.002 + 0.001 = 0.013; 5 free credits ($0)
    *usage(
        "j1",
        "A",
        t(1, 5, 11),
        "succeeded",
        "motion",
        "free",
        "720p",
        "creator",
        compute=0.01,
        storage=0.002,
        moderation=0.001,
    ),
    # j2 A d7: succeeded, standard, 720p: 0.5 + 0.01 + 0.002 = 0.512; 50 x 0.015 = $0.75
    *usage(
        "j2",
        "A",
        t(1, 12, 10),
        "succeeded",
        "wan",
        "standard",
        "720p",
        "creator",
        compute=0.5,
        storage=0.01,
        moderation=0.002,
    ),
    # j3 A d7: failed, standard: 0.2 waste (credits released)
    *usage("j3", "A", t(1, 12, 11), "failed", "wan", "standard", "480p", "creator", compute=0.2),
    # j4 B d1: succeeded, free, 480p: 0.004 + 0.001 = 0.005; 3 free credits
    *usage(
        "j4",
        "B",
        t(1, 7, 15),
        "succeeded",
        "motion",
        "free",
        "480p",
        "creator",
        compute=0.004,
        moderation=0.001,
    ),
    # j5 B d1: blocked at submit: 0.001 moderation waste
    *usage(
        "j5", "B", t(1, 7, 16), "blocked", "motion", "free", "480p", "creator", moderation=0.001
    ),
    # j6 C d1: succeeded, free, 720p, merchant: 0.006 + 0.002 = 0.008; free credits
    *usage(
        "j6",
        "C",
        t(1, 14, 9),
        "succeeded",
        "motion",
        "free",
        "720p",
        "merchant",
        compute=0.006,
        storage=0.002,
    ),
    # j7 C d7: cancelled, free: 0.3 waste
    *usage("j7", "C", t(1, 20, 10), "cancelled", "wan", "free", "720p", "merchant", compute=0.3),
    # j8 C (after upgrading): succeeded, standard, 480p: 0.2 + 0.005 + 0.001 = 0.206;
    #    14 x 0.015 = $0.21
    *usage(
        "j8",
        "C",
        t(2, 6, 10),
        "succeeded",
        "wan",
        "standard",
        "480p",
        "merchant",
        compute=0.2,
        storage=0.005,
        moderation=0.001,
    ),
    # j9 D d0: succeeded, pro, 1080p: 1.0 + 0.02 + 0.002 = 1.022; 200 x 0.0125 = $2.50
    *usage(
        "j9",
        "D",
        t(1, 20, 9),
        "succeeded",
        "wan",
        "pro",
        "1080p",
        "merchant",
        compute=1.0,
        storage=0.02,
        moderation=0.002,
    ),
    # j10 D d1: succeeded, pro, 720p: 0.3 + 0.01 = 0.31; 30 x 0.0125 = $0.375
    *usage(
        "j10",
        "D",
        t(1, 21, 9),
        "succeeded",
        "ltx",
        "pro",
        "720p",
        "merchant",
        compute=0.3,
        storage=0.01,
    ),
    # j11 D d7: failed, pro: 0.4 waste
    *usage("j11", "D", t(1, 27, 9), "failed", "wan", "pro", "1080p", "merchant", compute=0.4),
    # j12 E d1: succeeded, enterprise, 720p: 0.5 + 0.01 = 0.51; postpaid 100 x 0.012 = $1.20
    *usage(
        "j12",
        "E",
        t(1, 27, 10),
        "succeeded",
        "wan",
        "enterprise",
        "720p",
        "enterprise",
        compute=0.5,
        storage=0.01,
    ),
    # j13 E d7: succeeded, enterprise, 1080p: 1.2 + 0.02 + 0.002 = 1.222; 200 x 0.012 = $2.40
    *usage(
        "j13",
        "E",
        t(2, 2, 10),
        "succeeded",
        "wan",
        "enterprise",
        "1080p",
        "enterprise",
        compute=1.2,
        storage=0.02,
        moderation=0.002,
    ),
    # j14 F d1: succeeded, free, 720p: 0.01; free credits
    *usage("j14", "F", t(2, 3, 10), "succeeded", "motion", "free", "720p", "creator", compute=0.01),
    # j15 H: succeeded, premier, 720p: 0.4 + 0.01 = 0.41; 80 x 0.0115 = $0.92
    *usage(
        "j15",
        "H",
        t(1, 15, 10),
        "succeeded",
        "cogvideox",
        "premier",
        "720p",
        "creator",
        compute=0.4,
        storage=0.01,
    ),
    # j16 H: waiting for review: 0.05, neither a generation nor waste (but a cost)
    *usage(
        "j16", "H", t(1, 16, 10), "review", "cogvideox", "premier", "720p", "creator", compute=0.05
    ),
    # left out: G is internal; j18 is before the window; j19 is at `until` (exclusive);
    # j21 was metered on the internal plan
    *usage("j17", "G", t(1, 6, 10), "succeeded", "wan", "internal", "720p", "creator", compute=5.0),
    *usage(
        "j18",
        "H",
        t(12, 20, year=2025),
        "succeeded",
        "cogvideox",
        "premier",
        "720p",
        "creator",
        compute=0.3,
    ),
    *usage("j19", "F", t(2, 9), "succeeded", "motion", "pro", "720p", "creator", compute=0.05),
    *usage(
        "j21", "F", t(2, 4, 10), "succeeded", "wan", "internal", "720p", "creator", compute=9.99
    ),
]

CONSUMED = [
    ConsumedRow("j1", 5, 0.0),
    ConsumedRow("j2", 50, 0.015),
    ConsumedRow("j4", 3, 0.0),
    ConsumedRow("j6", 5, 0.0),
    ConsumedRow("j8", 14, 0.015),
    ConsumedRow("j9", 200, 0.0125),
    ConsumedRow("j10", 30, 0.0125),
    ConsumedRow("j12", 100, None),
    ConsumedRow("j13", 200, None),
    ConsumedRow("j14", 5, 0.0),
    ConsumedRow("j15", 80, 0.0115),
    ConsumedRow("j17", 500, None),
    ConsumedRow("j18", 50, 0.0115),
]

# Jobs as created (retention and cohorts count any job, metered or not): the jobs above plus
# j20, A's job of 02-04 (A's day 30) still queued and not metered.
JOBS = [
    JobRow(job, account, when)
    for job, account, when in {(u.job_id, u.account_id, u.created_at) for u in USAGE if u.job_id}
]
JOBS.append(JobRow("j20", "A", t(2, 4, 12), "queued"))


@pytest.fixture(scope="module")
def report() -> dict:
    return kpi_report(
        accounts=ACCOUNTS,
        usage=USAGE,
        payments=PAYMENTS,
        plan_changes=PLAN_CHANGES,
        jobs=JOBS,
        consumed=CONSUMED,
        plans=PLANS,
        now=NOW,
        since=SINCE,
        until=UNTIL,
    )


def test_window(report: dict) -> None:
    assert report["window"] == {
        "since": "2026-01-05T00:00:00+00:00",
        "until": "2026-02-09T00:00:00+00:00",
        "observed_until": "2026-02-09T00:00:00+00:00",
    }


def test_average_generation_cost(report: dict) -> None:
    # 11 succeeded generations: j1 j2 j4 j6 j8 j9 j10 j12 j13 j14 j15, costing
    # 0.013 + 0.512 + 0.005 + 0.008 + 0.206 + 1.022 + 0.31 + 0.51 + 1.222 + 0.01 + 0.41
    # = 4.228; mean 4.228 / 11 = 0.384364
    avg = report["average_generation_cost_usd"]
    assert report["generations"] == 11
    assert (avg["overall"], avg["generations"], avg["cost_usd"]) == (0.384364, 11, 4.228)
    # by model: motion j1 j4 j6 j14 = 0.036 / 4 = 0.009; wan j2 j8 j9 j12 j13 = 3.472 / 5
    # = 0.6944; ltx j10 0.31; cogvideox j15 0.41
    assert avg["by_model"] == {
        "cogvideox": {"generations": 1, "cost_usd": 0.41, "mean_usd": 0.41},
        "ltx": {"generations": 1, "cost_usd": 0.31, "mean_usd": 0.31},
        "motion": {"generations": 4, "cost_usd": 0.036, "mean_usd": 0.009},
        "wan": {"generations": 5, "cost_usd": 3.472, "mean_usd": 0.6944},
    }
    # by plan: free j1 j4 j6 j14 = 0.036 / 4; standard j2 j8 = 0.718 / 2 = 0.359;
    # pro j9 j10 = 1.332 / 2 = 0.666; enterprise j12 j13 = 1.732 / 2 = 0.866; premier 0.41
    assert avg["by_plan"] == {
        "enterprise": {"generations": 2, "cost_usd": 1.732, "mean_usd": 0.866},
        "free": {"generations": 4, "cost_usd": 0.036, "mean_usd": 0.009},
        "premier": {"generations": 1, "cost_usd": 0.41, "mean_usd": 0.41},
        "pro": {"generations": 2, "cost_usd": 1.332, "mean_usd": 0.666},
        "standard": {"generations": 2, "cost_usd": 0.718, "mean_usd": 0.359},
    }
    # by resolution: 1080p j9 j13 = 2.244 / 2 = 1.122; 480p j4 j8 = 0.211 / 2 = 0.1055;
    # 720p j1 j2 j6 j10 j12 j14 j15 = 1.773 / 7 = 0.253286
    assert avg["by_resolution"] == {
        "1080p": {"generations": 2, "cost_usd": 2.244, "mean_usd": 1.122},
        "480p": {"generations": 2, "cost_usd": 0.211, "mean_usd": 0.1055},
        "720p": {"generations": 7, "cost_usd": 1.773, "mean_usd": 0.253286},
    }


def test_gross_margin(report: dict) -> None:
    # revenue: j2 0.75 + j8 0.21 + j9 2.5 + j10 0.375 + j12 1.2 + j13 2.4 + j15 0.92 = 8.355
    # (free credits earn nothing; j17 and j18 are not generations of the window)
    # margin (8.355 - 4.228) / 8.355 = 4.127 / 8.355 = 0.4940; per generation 4.127 / 11
    gm = report["gross_margin"]
    assert {
        k: gm[k]
        for k in (
            "generations",
            "revenue_usd",
            "cost_usd",
            "margin_usd",
            "margin_per_generation_usd",
            "margin",
        )
    } == {
        "generations": 11,
        "revenue_usd": 8.355,
        "cost_usd": 4.228,
        "margin_usd": 4.127,
        "margin_per_generation_usd": 0.375182,
        "margin": 0.494,
    }
    by = gm["by_plan"]
    # free: no revenue, cost 0.036: margin undefined (None), -0.036 in all, -0.009 each
    assert by["free"] == {
        "generations": 4,
        "revenue_usd": 0.0,
        "cost_usd": 0.036,
        "margin_usd": -0.036,
        "margin_per_generation_usd": -0.009,
        "margin": None,
    }
    # standard: (0.96 - 0.718) / 0.96 = 0.2521; pro: (2.875 - 1.332) / 2.875 = 0.5367
    # enterprise (postpaid at credit_usd 0.012): (3.6 - 1.732) / 3.6 = 0.5189
    # premier: (0.92 - 0.41) / 0.92 = 0.5543
    assert (by["standard"]["revenue_usd"], by["standard"]["margin"]) == (0.96, 0.2521)
    assert by["standard"]["margin_per_generation_usd"] == 0.121
    assert (by["pro"]["revenue_usd"], by["pro"]["margin"]) == (2.875, 0.5367)
    assert (by["enterprise"]["revenue_usd"], by["enterprise"]["margin"]) == (3.6, 0.5189)
    assert (by["premier"]["revenue_usd"], by["premier"]["margin"]) == (0.92, 0.5543)


def test_compute_waste(report: dict) -> None:
    # all cost in the window: generations 4.228 + waste 0.901 + review 0.05 = 5.179
    # failed j3 0.2 + j11 0.4 = 0.6 (0.6 / 5.179 = 0.1159); cancelled j7 0.3 (0.0579);
    # blocked j5 0.001 (0.0002); waste 0.901 / 5.179 = 0.1740
    assert report["total_cost_usd"] == 5.179
    assert report["compute_waste"] == {
        "usd": 0.901,
        "share": 0.174,
        "total_cost_usd": 5.179,
        "jobs": 4,
        "by_cause": {
            "failed": {"usd": 0.6, "share": 0.1159, "jobs": 2},
            "cancelled": {"usd": 0.3, "share": 0.0579, "jobs": 1},
            "blocked": {"usd": 0.001, "share": 0.0002, "jobs": 1},
        },
    }


def test_revenue_and_arppu(report: dict) -> None:
    # in the window: H 92 + A 10 + D 37 + D 25 (top-up, D's plan: pro) + C 10 + B 10 = 184
    # (H's December payment, E's February invoice and G's internal one are outside)
    assert report["revenue_usd"] == {
        "total": 184.0,
        "payments": 6,
        "by_kind": {"subscription": 159.0, "topup": 25.0},
        "by_plan": {"premier": 92.0, "pro": 62.0, "standard": 30.0},
        "non_usd_payments_left_out": 0,
    }
    # paying accounts A B C D H: 184 / 5 = 36.8
    assert (report["paying_accounts"], report["arppu_usd"]) == (5, 36.8)


def test_free_to_paid_conversion(report: dict) -> None:
    # free signups in the window: A B C F (D signed up on pro, E on enterprise, H before)
    # within 30 days: A (day 7), C (day 23), F (day 4, by the operator's move to pro);
    # B paid on day 32. 3 / 4 = 0.75
    # 30 days passed by 02-09: A (02-04) and B (02-05): 1 of them converted in time = 0.5
    # converted by the end of the window: all 4
    assert report["free_to_paid_conversion"] == {
        "signups": 4,
        "converted_30d": 3,
        "share_30d": 0.75,
        "matured_signups": 2,
        "matured_converted_30d": 1,
        "matured_share_30d": 0.5,
        "converted": 4,
        "share": 1.0,
    }


def test_retention(report: dict) -> None:
    # signups A B C D E F; day N counts once its whole UTC day ended by 02-09 00:00
    # D1 (all 6 eligible): B 01-07, C 01-14, D 01-21, E 01-27, F 02-03; A had no job 01-06
    # D7 (F's 02-09 not over: 5): A 01-12, C 01-20, D 01-27, E 02-02; B none -> 4 / 5
    # D30 (A ends 02-05, B 02-06: 2): A 02-04 (the queued j20); B none -> 1 / 2
    assert report["retention"] == {
        "d1": {"eligible": 6, "retained": 5, "share": 0.8333},
        "d7": {"eligible": 5, "retained": 4, "share": 0.8},
        "d30": {"eligible": 2, "retained": 1, "share": 0.5},
    }


def test_weekly_cohorts(report: dict) -> None:
    # W02 (01-05): A B, both paid (A 01-12, B 02-07). week 1 = 01-12..01-19: A (j2 j3);
    #   week 2 = 01-19..01-26: nobody; week 4 = 02-02..02-09: A (j20)
    # W03 (01-12): C, paid 02-05. week 1 01-19..: j7; week 2 01-26..02-02: none; week 4
    #   02-09.. not over (None)
    # W04 (01-19): D (signed up on pro). week 1 01-26..: j11; week 2 02-02..02-09: none
    # W05 (01-26): E (signed up on enterprise). week 1 02-02..02-09: j13; week 2 not over
    # W06 (02-02): F (moved to pro). no week over yet
    assert report["weekly_cohorts"] == [
        {
            "week": "2026-W02",
            "start": "2026-01-05",
            "signups": 2,
            "converted": 2,
            "converted_share": 1.0,
            "active_week_1": 0.5,
            "active_week_2": 0.0,
            "active_week_4": 0.5,
        },
        {
            "week": "2026-W03",
            "start": "2026-01-12",
            "signups": 1,
            "converted": 1,
            "converted_share": 1.0,
            "active_week_1": 1.0,
            "active_week_2": 0.0,
            "active_week_4": None,
        },
        {
            "week": "2026-W04",
            "start": "2026-01-19",
            "signups": 1,
            "converted": 1,
            "converted_share": 1.0,
            "active_week_1": 1.0,
            "active_week_2": 0.0,
            "active_week_4": None,
        },
        {
            "week": "2026-W05",
            "start": "2026-01-26",
            "signups": 1,
            "converted": 1,
            "converted_share": 1.0,
            "active_week_1": 1.0,
            "active_week_2": None,
            "active_week_4": None,
        },
        {
            "week": "2026-W06",
            "start": "2026-02-02",
            "signups": 1,
            "converted": 1,
            "converted_share": 1.0,
            "active_week_1": None,
            "active_week_2": None,
            "active_week_4": None,
        },
    ]


def test_segment_shares(report: dict) -> None:
    # enterprise: j12 j13 = 2 / 11 = 0.1818 of generations; cost 1.732 / 5.179 = 0.3344
    assert report["enterprise_share"] == {
        "generations": 2,
        "generations_share": 0.1818,
        "cost_usd": 1.732,
        "cost_share": 0.3344,
    }
    # merchants C and D: j6 j8 j9 j10 = 4 / 11 = 0.3636; cost C 0.008 + 0.3 + 0.206 +
    # D 1.022 + 0.31 + 0.4 = 2.246 / 5.179 = 0.4337
    assert report["commerce_share"] == {
        "generations": 4,
        "generations_share": 0.3636,
        "cost_usd": 2.246,
        "cost_share": 0.4337,
    }


def test_margins_side_by_side_and_reconciled(report: dict) -> None:
    # cash (what was received, or invoiced usage for postpaid, vs all cost, waste included):
    # premier 92 + standard 30 + pro 62 (D's top-up: D's plan then) + enterprise's invoiced
    # usage 3.6 = 187.6 vs 5.179: 182.421, (187.6 - 5.179) / 187.6 = 0.9724
    # credit value (credits the generations consumed x their price vs generation cost):
    # 8.355 vs 4.228: 4.127, 0.494 (the gross margin above)
    m = report["margins"]
    assert m["cash"] == {
        "revenue_usd": 187.6,
        "cost_usd": 5.179,
        "margin_usd": 182.421,
        "margin": 0.9724,
    }
    assert m["credit_value"] == {
        "revenue_usd": 8.355,
        "cost_usd": 4.228,
        "margin_usd": 4.127,
        "margin": 0.494,
        "generations": 11,
    }
    # 182.421 = 4.127 + (187.6 - 8.355 = 179.245) - (5.179 - 4.228 = 0.951)
    rec = m["reconciliation"]
    assert (
        rec["cash_margin_usd"],
        rec["credit_value_margin_usd"],
        rec["cash_beyond_credit_value_usd"],
        rec["cost_outside_generations_usd"],
    ) == (182.421, 4.127, 179.245, 0.951)
    assert rec["text"] == (
        "cash margin $182.42 = credit-value margin $4.13 + cash received "
        "beyond the value of credits consumed $179.25 - cost outside "
        "generations (waste, reviews) $0.95"
    )
    by = m["by_plan"]
    assert list(by) == ["free", "standard", "pro", "premier", "enterprise"]
    # free: nothing paid on it (no one else's payments credited to it)
    assert by["free"]["cash"] == {
        "revenue_usd": 0.0,
        "cost_usd": 0.337,
        "margin_usd": -0.337,
        "margin": None,
    }
    # standard: cash 30 vs 0.918; credit value 0.96 vs 0.718 (as in gross_margin.by_plan)
    assert (by["standard"]["cash"]["margin"], by["standard"]["credit_value"]["margin"]) == (
        0.9694,
        0.2521,
    )
    for plan, view in by.items():  # the credit-value side is the gross margin's, per plan
        gm = report["gross_margin"]["by_plan"][plan]
        assert (view["credit_value"]["revenue_usd"], view["credit_value"]["cost_usd"]) == (
            gm["revenue_usd"],
            gm["cost_usd"],
        )


def test_verdict(report: dict) -> None:
    v = report["verdict"]["by_plan"]
    # cost per plan, every outcome: free j1 j4 j5 j6 j7 j14 = 0.337; standard j2 j3 j8 =
    # 0.918; pro j9 j10 j11 = 1.732; premier j15 j16 = 0.46; enterprise j12 j13 = 1.732
    assert list(v) == ["free", "standard", "pro", "premier", "enterprise"]
    # free: no payments on it, and no one else's revenue credited to it; it is the cost of
    # the 4 accounts that converted from it in the window (A, C, F, B): 0.337 / 4 = 0.08425
    assert v["free"] == {
        "revenue_usd": 0.0,
        "cost_usd": 0.337,
        "margin": None,
        "pays_for_itself": False,
        "credit_value_usd": 0.0,
        "generation_cost_usd": 0.036,
        "credit_value_margin": None,
        "credits_cover_cost": False,
        "conversions": 4,
        "cost_per_conversion_usd": 0.08425,
        "text": "free: does not pay for itself — costs $0.34 against $0.00 paid on it; it is "
        "the acquisition cost of 4 conversions in the window ($0.08425 each); their "
        "payments count under the plans they paid for",
    }
    # standard: 30 vs 0.918: (30 - 0.918) / 30 = 0.9694; credit value 0.96 vs 0.718
    assert v["standard"]["text"] == (
        "standard: pays for itself — cash received $30.00 covers cost $0.92 (cash margin "
        "96.9%); credits used are worth $0.96 vs generation cost $0.72 (credit-value margin "
        "25.2%)"
    )
    assert (v["standard"]["margin"], v["standard"]["pays_for_itself"]) == (0.9694, True)
    # pro: 62 vs 1.732: 0.9721; premier: 92 vs 0.46: 0.995
    assert v["pro"]["text"] == (
        "pro: pays for itself — cash received $62.00 covers cost $1.73 (cash margin 97.2%); "
        "credits used are worth $2.88 vs generation cost $1.33 (credit-value margin 53.7%)"
    )
    assert (v["premier"]["revenue_usd"], v["premier"]["margin"]) == (92.0, 0.995)
    # enterprise (postpaid): invoiced usage (100 + 200) x 0.012 = 3.6 vs 1.732: 0.5189
    assert v["enterprise"]["text"].startswith(
        "enterprise: pays for itself — invoiced usage $3.60 covers cost $1.73 (cash margin 51.9%)"
    )
    # overall: the cash side of the margins, with the credit-value side beside it
    assert report["verdict"]["overall"] == {
        "revenue_usd": 187.6,
        "cost_usd": 5.179,
        "margin": 0.9724,
        "pays_for_itself": True,
        "credit_value_usd": 8.355,
        "generation_cost_usd": 4.228,
        "credit_value_margin": 0.494,
        "text": "overall: the platform pays for itself — cash received $187.60 covers cost "
        "$5.18 (cash margin 97.2%); credits used are worth $8.36 vs generation cost "
        "$4.23 (credit-value margin 49.4%)",
    }


def test_the_verdict_never_contradicts_the_margins() -> None:
    """The issue's report: a plan paid for in cash whose consumed credits are worth less
    than they cost says so, instead of a bare "pays for itself" beside a negative margin;
    the free plan is not credited with the revenue of the plans its users moved to; a top-up
    without a plan counts under the plan the account was on when it paid."""
    r = kpi_report(
        accounts=[AccountRow("a", t(1, 5), "pro"), AccountRow("f", t(1, 5))],
        plan_changes=[
            PlanChangeRow("a", "free", t(1, 5), None, "signup"),
            PlanChangeRow("a", "standard", t(1, 6), "free", "stripe"),
            PlanChangeRow("a", "pro", t(1, 20), "standard", "stripe"),
            PlanChangeRow("f", "free", t(1, 5), None, "signup"),
        ],
        payments=[
            PaymentRow("a", 1000, "subscription", t(1, 6), "standard"),
            PaymentRow("a", 500, "topup", t(1, 10), None),  # on standard then
            PaymentRow("a", 3700, "subscription", t(1, 20), "pro"),
        ],
        usage=[
            UsageRow("a", "x", "compute", 20.0, "succeeded", t(1, 21), plan="pro"),
            UsageRow("f", "y", "compute", 0.5, "succeeded", t(1, 6), plan="free"),
        ],
        consumed=[ConsumedRow("x", 1000, 0.0125)],  # worth 12.5 against a cost of 20
        jobs=[],
        plans=PLANS,
        now=NOW,
        since=SINCE,
        until=UNTIL,
    )
    assert r["revenue_usd"]["by_plan"] == {"pro": 37.0, "standard": 15.0}
    pro = r["verdict"]["by_plan"]["pro"]
    assert (pro["pays_for_itself"], pro["credits_cover_cost"]) == (True, False)
    assert pro["text"] == (
        "pro: pays for itself in cash only — cash received $37.00 covers cost $20.00 (cash "
        "margin 46.0%), but credits used are worth $12.50 vs generation cost $20.00 "
        "(credit-value margin -60.0%): it relies on credits paid for and not used"
    )
    assert r["margins"]["by_plan"]["pro"]["credit_value"]["margin"] == -0.6
    # overall the same: 52 in cash vs 20.5 of cost, credits worth 12.5 vs 20.5
    assert r["verdict"]["overall"]["text"] == (
        "overall: the platform pays for itself in cash only — cash received $52.00 covers "
        "cost $20.50 (cash margin 60.6%), but credits used are worth $12.50 vs generation "
        "cost $20.50 (credit-value margin -64.0%): it relies on credits paid for and not used"
    )
    free = r["verdict"]["by_plan"]["free"]
    assert free["revenue_usd"] == 0.0 and "converted_revenue_usd" not in free
    assert free["text"].startswith("free: does not pay for itself — costs $0.50 against $0.00")


def test_a_plan_that_does_not_pay_and_free_not_covered() -> None:
    # one free signup generating 0.5 of cost, one standard account paying $0.40 in the window
    # for 0.9 of cost: standard (0.4 - 0.9) / 0.4 = -1.25; free converts no one
    r = kpi_report(
        accounts=[AccountRow("a", t(1, 5)), AccountRow("b", t(1, 5), "standard")],
        usage=[
            UsageRow("a", "x", "compute", 0.5, "succeeded", t(1, 6), plan="free"),
            UsageRow("b", "y", "compute", 0.9, "succeeded", t(1, 6), plan="standard"),
        ],
        payments=[PaymentRow("b", 40, "topup", t(1, 6))],
        plan_changes=[],
        jobs=[],
        consumed=[],
        plans=PLANS,
        now=NOW,
        since=SINCE,
        until=UNTIL,
    )
    v = r["verdict"]
    assert v["by_plan"]["standard"]["margin"] == -1.25
    assert v["by_plan"]["standard"]["text"] == (
        "standard: does not pay for itself — cash received $0.40 vs cost $0.90 (cash margin "
        "-125.0%); credits used are worth $0.00 vs generation cost $0.90 (credit-value margin "
        "n/a)"
    )
    assert v["by_plan"]["free"]["text"].endswith("no account converted from it in the window")
    assert v["overall"]["text"] == (
        "overall: the platform does not pay for itself — cash received $0.40 vs cost $1.40 "
        "(cash margin -250.0%); credits used are worth $0.00 vs generation cost $1.40 "
        "(credit-value margin n/a)"
    )


def test_nothing_to_report_divides_by_nothing() -> None:
    r = kpi_report(
        accounts=[],
        usage=[],
        payments=[],
        plan_changes=[],
        jobs=[],
        consumed=[],
        plans=PLANS,
        now=NOW,
    )
    assert r["window"]["since"] is None and r["window"]["until"] is None
    assert r["average_generation_cost_usd"]["overall"] is None
    assert r["gross_margin"]["margin"] is None and r["compute_waste"]["share"] is None
    assert r["arppu_usd"] is None and r["free_to_paid_conversion"]["share_30d"] is None
    assert r["retention"]["d1"] == {"eligible": 0, "retained": 0, "share": None}
    assert r["weekly_cohorts"] == []
    assert r["enterprise_share"]["generations_share"] is None
    assert r["verdict"]["by_plan"] == {} and r["verdict"]["overall"]["text"] == (
        "overall: no usage and no revenue in the window"
    )
    assert r["margins"]["cash"]["margin"] is None
    assert r["margins"]["credit_value"]["margin"] is None


def test_all_data_by_default() -> None:
    # without a window H's December job and payment count, as of `now`
    r = kpi_report(
        accounts=ACCOUNTS,
        usage=USAGE,
        payments=PAYMENTS,
        plan_changes=PLAN_CHANGES,
        jobs=JOBS,
        consumed=CONSUMED,
        plans=PLANS,
        now=NOW,
    )
    # 11 generations + j18 + j19 (02-09 is inside now) = 13
    assert r["generations"] == 13
    # + H's 92 (December) + E's 3.60 invoice (02-10)
    assert r["revenue_usd"]["total"] == 184.0 + 92.0 + 3.6


# -- through the service, the CLI and the admin API ------------------------------------------
#
# Real data: R1 signs up on free 01-05, subscribes to pro 01-06 ($37) and makes r1a (0.5 +
# 0.1, 100 credits of a pro lot at $0.0125 = $1.25) and r1b (failed, 0.2); R2 is an enterprise
# account: r2a (0.4, 50 postpaid credits at the sheet's credit_usd 0.012 = $0.60). The
# operator's own account makes a $10 job (internal: left out). Simulated: S1 on free, one
# $1 job and a $10 top-up, seen only by the simulated report.

DB_SINCE, DB_UNTIL = t(1, 1), t(2, 1)


def seed(p: Platform) -> None:
    def account(
        s: Session, id_: str, plan: str, segment: str = "creator", simulated: bool = False
    ) -> None:
        s.add(
            Account(
                id=id_,
                name=id_,
                webhook_secret="whsec_x",
                created_at=t(1, 5, 9),
                plan=plan,
                segment=segment,
                simulated=simulated,
            )
        )

    def job(
        s: Session,
        id_: str,
        account_id: str,
        status: str,
        when: datetime,
        plan: str,
        segment: str = "creator",
        simulated: bool = False,
        **costs: float,
    ) -> None:
        s.add(
            Job(
                id=id_,
                account_id=account_id,
                status=status,
                mode="text2video",
                model="wan",
                queue="q",
                spec={"resolution": "720p", "duration": 5},
                spec_hash="h",
                inputs=[],
                max_attempts=1,
                created_at=when,
                simulated=simulated,
            )
        )
        for kind, cost in costs.items():
            s.add(
                UsageEvent(
                    idempotency_key=f"{id_}:1:{kind}",
                    account_id=account_id,
                    job_id=id_,
                    kind=kind,
                    quantity=1.0,
                    unit="x",
                    rate_usd=cost,
                    cost_usd=cost,
                    outcome=status,
                    model="wan",
                    plan=plan,
                    resolution="720p",
                    preset="final",
                    segment=segment,
                    simulated=simulated,
                    created_at=when,
                )
            )

    with p.db.session() as s:
        account(s, "R1", "pro")
        account(s, "R2", "enterprise", "enterprise")
        account(s, "OPS", "internal")
        account(s, "S1", "free", simulated=True)
        s.flush()
        s.add_all(
            [
                PlanChange(account_id="R1", to_plan="free", source="signup", created_at=t(1, 5, 9)),
                PlanChange(
                    account_id="R1",
                    from_plan="free",
                    to_plan="pro",
                    source="stripe",
                    created_at=t(1, 6, 9),
                ),
                PlanChange(
                    account_id="R2", to_plan="enterprise", source="signup", created_at=t(1, 5, 9)
                ),
                PlanChange(account_id="S1", to_plan="free", source="signup", created_at=t(1, 5, 9)),
                Payment(
                    id="in_1",
                    account_id="R1",
                    provider="stripe",
                    kind="subscription",
                    plan="pro",
                    amount_cents=3700,
                    currency="usd",
                    credits=3000,
                    created_at=t(1, 6, 9),
                ),
                Payment(
                    id="in_2",
                    account_id="S1",
                    provider="stripe",
                    kind="topup",
                    plan=None,
                    amount_cents=1000,
                    currency="usd",
                    credits=660,
                    simulated=True,
                    created_at=t(1, 6, 9),
                ),
            ]
        )
        job(s, "r1a", "R1", "succeeded", t(1, 7, 10), "pro", compute=0.5, storage=0.1)
        job(s, "r1b", "R1", "failed", t(1, 8, 10), "pro", compute=0.2)
        job(s, "r2a", "R2", "succeeded", t(1, 6, 10), "enterprise", "enterprise", compute=0.4)
        job(s, "ops1", "OPS", "succeeded", t(1, 6, 10), "internal", compute=10.0)
        job(s, "s1a", "S1", "succeeded", t(1, 6, 10), "free", simulated=True, compute=1.0)
        s.flush()
        lot = ledger.grant(
            s,
            account_id="R1",
            credits=3000,
            source="monthly",
            key="g1",
            now=t(1, 6, 9),
            expires_at=None,
            unit_usd=0.0125,
        )
        ledger.post(
            s,
            key="c1",
            account_id="R1",
            kind="capture",
            now=t(1, 7, 10),
            job_id="r1a",
            legs=[ledger.Leg(ledger.LOT, -100, lot.id), ledger.Leg(ledger.CONSUMED, 100, lot.id)],
        )
        ledger.post(
            s,
            key="c2",
            account_id="R2",
            kind="capture",
            now=t(1, 6, 10),
            job_id="r2a",
            legs=[ledger.Leg(ledger.POSTPAID, -50), ledger.Leg(ledger.CONSUMED, 50)],
        )


def check_real(r: dict) -> None:
    assert (r["object"], r["data"], r["price_sheet"]) == ("kpi_report", "real", "2026-12-06")
    assert r["window"]["since"] == "2026-01-01T00:00:00+00:00"
    # generations r1a (0.6) and r2a (0.4): mean 0.5; all cost 0.6 + 0.2 + 0.4 = 1.2
    assert (r["generations"], r["total_cost_usd"]) == (2, 1.2)
    assert r["average_generation_cost_usd"]["overall"] == 0.5
    # revenue 1.25 + 0.6 = 1.85 vs 1.0: 0.85 / 1.85 = 0.4595
    assert (r["gross_margin"]["revenue_usd"], r["gross_margin"]["margin"]) == (1.85, 0.4595)
    assert r["gross_margin"]["by_plan"]["enterprise"]["revenue_usd"] == 0.6
    # waste: r1b 0.2 / 1.2 = 0.1667
    assert (r["compute_waste"]["usd"], r["compute_waste"]["share"]) == (0.2, 0.1667)
    assert r["revenue_usd"]["total"] == 37.0 and r["arppu_usd"] == 37.0
    # R1 signed up on free and paid the next day
    assert r["free_to_paid_conversion"]["signups"] == 1
    assert r["free_to_paid_conversion"]["share_30d"] == 1.0
    # enterprise: 1 of 2 generations, 0.4 / 1.2 of cost
    assert r["enterprise_share"]["generations_share"] == 0.5
    assert r["enterprise_share"]["cost_share"] == 0.3333
    assert "internal" not in r["verdict"]["by_plan"]


def test_report_service_real_and_simulated(platform: Platform) -> None:
    seed(platform)
    check_real(reports.kpi_report(platform, since=DB_SINCE, until=DB_UNTIL))
    sim = reports.kpi_report(platform, since=DB_SINCE, until=DB_UNTIL, simulated=True)
    assert sim["data"] == "simulated"
    assert (sim["generations"], sim["total_cost_usd"]) == (1, 1.0)
    assert sim["revenue_usd"]["total"] == 10.0
    assert sim["enterprise_share"]["generations"] == 0
    # a window with nothing in it
    empty = reports.kpi_report(platform, since=t(3, 1), until=t(4, 1))
    assert empty["generations"] == 0 and empty["arppu_usd"] is None


def test_report_refuses_a_backwards_window(platform: Platform) -> None:
    with pytest.raises(InvalidRequest):
        reports.kpi_report(platform, since=t(2, 1), until=t(1, 1))
    with pytest.raises(InvalidRequest):
        reports.parse_when("last tuesday", "since")
    assert reports.parse_when("2026-01-05", "since") == t(1, 5)
    assert reports.parse_when("2026-01-05T10:30:00+01:00", "until") == t(1, 5, 9, 30)


def test_cli_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    p = bootstrap(Settings())
    try:
        seed(p)
    finally:
        p.close()
    cli = CliRunner()
    r = cli.invoke(app, ["report", "--json", "--since", "2026-01-01", "--until", "2026-02-01"])
    assert r.exit_code == 0, r.output
    check_real(json.loads(r.stdout))
    r = cli.invoke(app, ["report", "--json", "--simulated", "--since", "2026-01-01"])
    assert r.exit_code == 0 and json.loads(r.stdout)["generations"] == 1
    r = cli.invoke(app, ["report", "--since", "2026-01-01", "--until", "2026-02-01"])
    assert r.exit_code == 0, r.output
    for heading in (
        "Average cost per generation",
        "Gross margin",
        "Compute waste",
        "Revenue",
        "Free-to-paid conversion",
        "Retention",
        "Weekly signup cohorts",
        "Segment shares",
        "Verdict",
        "pro: pays for itself",
    ):
        assert heading in r.stdout
    r = cli.invoke(app, ["report", "--since", "January"])
    assert r.exit_code == 2 and "invalid_request" in r.output


def test_cli_report_csv_tables_and_the_simulated_only_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    p = bootstrap(Settings())
    try:
        seed(p)
    finally:
        p.close()
    cli = CliRunner()
    out = tmp_path / "csv"
    r = cli.invoke(
        app, ["report", "--since", "2026-01-01", "--until", "2026-02-01", "--csv", str(out)]
    )
    assert r.exit_code == 0, r.output
    names = sorted(f.name for f in out.iterdir())
    assert names == sorted(
        f"{n}.csv"
        for n in (
            "average_cost",
            "margins",
            "gross_margin",
            "gross_margin_by_model",
            "compute_waste",
            "revenue",
            "conversion",
            "retention",
            "weekly_cohorts",
            "segments",
            "commerce",
            "verdict",
            "reviewer_load",
        )
    )
    assert f"wrote 13 tables to {out}" in r.output and "hint:" not in r.output
    with (out / "margins.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # cash: R1's 37 + R2's invoiced usage 0.6 = 37.6 vs all cost 1.2; credit value 1.85 vs 1.0
    assert rows[-1]["plan"] == "all"
    assert (float(rows[-1]["cash_received_usd"]), float(rows[-1]["cost_usd"])) == (37.6, 1.2)
    assert (float(rows[-1]["credit_value_usd"]), float(rows[-1]["credit_value_margin"])) == (
        1.85,
        0.4595,
    )
    # gross margin by model (it was only in --json): wan's 2 generations, credit value 1.85
    # vs cost 1.0, a table on screen and a CSV like every other
    with (out / "gross_margin_by_model.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["model"], r["generations"], r["margin_usd"], r["margin"]) for r in rows] == [
        ("wan", "2", "0.85", "0.4595"),
        ("all", "2", "0.85", "0.4595"),
    ]
    assert "Gross margin per generation by model (credit value): 46.0%" in r.stdout
    # the text report shows money one way (reelforge.domain.money): dollars and cents; a
    # unit price under $1 (per generation) to 4 significant digits: mean cost 0.5 is $0.50
    assert "$37.60" in r.stdout and "$0.50 " in r.stdout and "$0.5000" not in r.stdout
    assert "$0.425 " in r.stdout  # margin per generation, 0.85 / 2
    assert "cash margin $36.40 = credit-value margin $0.85" in r.stdout
    # --json and --csv together; the JSON is unchanged by it
    r = cli.invoke(
        app,
        ["report", "--json", "--since", "2026-01-01", "--until", "2026-02-01", "--csv", str(out)],
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["hint"] is None
    # a file where the directory should be: a clean error
    r = cli.invoke(app, ["report", "--csv", str(out / "margins.csv")])
    assert r.exit_code == 2 and "invalid_request" in r.output

    # a database with simulated customers only: the real report says where the data is
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "sim"))
    p = bootstrap(Settings())
    try:
        with p.db.session() as s:
            s.add(
                Account(
                    id="S9",
                    name="S9",
                    webhook_secret="whsec_x",
                    created_at=t(1, 5),
                    plan="free",
                    simulated=True,
                )
            )
        assert "--simulated" in (reports.kpi_report(p)["hint"] or "")
        assert reports.kpi_report(p, simulated=True)["hint"] is None
    finally:
        p.close()
    r = cli.invoke(app, ["report"])
    assert r.exit_code == 0 and "hint: this database holds only simulated data" in r.output


def test_admin_kpis_route(platform: Platform) -> None:
    seed(platform)
    admin = accounts.create_api_key(platform, "ops", admin=True).key
    user = accounts.create_api_key(platform, "user").key
    with TestClient(create_app(platform)) as c:
        c.headers["Authorization"] = f"Bearer {user}"
        assert c.get("/v1/admin/kpis").status_code == 403
        c.headers["Authorization"] = f"Bearer {admin}"
        r = c.get("/v1/admin/kpis", params={"since": "2026-01-01", "until": "2026-02-01"})
        assert r.status_code == 200, r.text
        check_real(r.json())
        r = c.get("/v1/admin/kpis", params={"since": "2026-01-01", "simulated": "true"})
        assert r.json()["data"] == "simulated" and r.json()["generations"] == 1
        r = c.get("/v1/admin/kpis", params={"until": "soon"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
