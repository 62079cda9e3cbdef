"""The planner's discrete-event simulation: the scheduling rules it replays are the
platform's (the real queue's order, the plans' concurrency), and its figures add up."""

from __future__ import annotations

import itertools
import math
import random
import secrets
from pathlib import Path

import pytest

from reelforge.billing.sheet import BillingSheet, load_sheet
from reelforge.planner.demand import Arrival, from_population
from reelforge.planner.engine import simulate
from reelforge.planner.fleet import Autoscale, DeviceKind, Fleet
from reelforge.planner.policy import POLICIES, Policy
from reelforge.planner.profiles import Profile, ProfileBook, measured_profiles
from reelforge.planner.report import summarize
from reelforge.planner.search import meets, price_for_margin, smallest_fleet
from reelforge.queue.jobqueue import HueyJobQueue


def _rich_free() -> BillingSheet:
    """The shipped sheet with free's daily credits out of the way (tests of the order)."""
    data = load_sheet().model_dump()
    data["plans"]["free"]["daily_credits"] = 10**6
    for plan in data["plans"].values():
        plan.pop("name", None)
    return BillingSheet.model_validate(data)


SHEET = _rich_free()
BOOK = ProfileBook(SHEET, cited_spread=1.0)  # device times exactly as cited
# no randomness in device time, failures or loading: the order alone is tested
EXACT = Policy(name="exact", failure_rate={"*": 0.0}, model_load_s=0.0)


def gpu(count: int = 1, **kw: object) -> Fleet:
    return Fleet(
        devices=(DeviceKind(kind="H200", count=count, hourly_usd=3.5, memory_gb=141, **kw),)
    )


def arrival(at: float, account: str, plan: str, family: str = "wan", **kw: object) -> Arrival:
    values: dict[str, object] = {
        "at": at,
        "account": account,
        "plan": plan,
        "model": family,
        "family": family,
        "resolution": "480p",
        "duration": 5.0,
        **kw,
    }
    return Arrival(**values)  # type: ignore[arg-type]


def starts(demand: list[Arrival], fleet: Fleet, policy: Policy = EXACT) -> list[str]:
    out = simulate(demand, fleet, SHEET, BOOK, policy)
    ran = [j for j in out.jobs if j.started is not None and j.state != "cached"]
    return [j.arrival.account for j in sorted(ran, key=lambda j: (j.started, j.seq))]


def test_queue_order_is_the_real_queues_order(tmp_path: Path) -> None:
    """Higher plan priority first, then submit order: jobs enqueued on the real queue
    (SqliteHuey, as embedded workers read it) come out in the order the planner starts them
    on one busy device."""
    plans = ["free", "pro", "standard", "free", "premier", "pro", "free"]
    queue = HueyJobQueue(f"sqlite:///{tmp_path / 'q.db'}", namespace=f"t{secrets.token_hex(3)}")
    try:
        for i, plan in enumerate(plans):
            queue.enqueue(f"job{i}", queue="wan", priority=SHEET.plan(plan).priority)
        real = []
        while (msg := queue.dequeue(["wan"])) is not None:
            real.append(msg[1])
    finally:
        queue.close()
    # a first job occupies the device while the others arrive (t = 1 .. 7)
    demand = [arrival(0, "blocker", "enterprise")] + [
        arrival(i + 1, f"job{i}", plan) for i, plan in enumerate(plans)
    ]
    assert starts(demand, gpu())[1:] == real
    fifo = starts(demand, gpu(), EXACT.model_copy(update={"priority_by_plan": False}))
    assert fifo[1:] == [f"job{i}" for i in range(len(plans))]


def test_worker_reads_its_queues_in_order_and_prefers_the_warm_family() -> None:
    fleet = Fleet(
        devices=(
            DeviceKind(
                kind="H200", count=1, hourly_usd=3.5, memory_gb=141, families=("wan", "ltx")
            ),
        )
    )
    demand = [
        arrival(0, "first-ltx", "pro", "ltx"),
        arrival(1, "wan-a", "pro", "wan"),
        arrival(2, "ltx-b", "pro", "ltx"),
    ]
    # the real worker: its queues in its order (wan before ltx)
    assert starts(demand, fleet, EXACT.model_copy(update={"warm_affinity": False})) == [
        "first-ltx",
        "wan-a",
        "ltx-b",
    ]
    # warm affinity: ltx is loaded, so the device stays on it while ltx work waits
    assert starts(demand, fleet) == ["first-ltx", "ltx-b", "wan-a"]


def test_plan_concurrency_throttles_in_submit_order_and_refuses_past_max_queued() -> None:
    free = SHEET.plan("free")  # concurrency 1
    n = 1 + free.max_queued + 2
    demand = [arrival(i * 0.001, "solo", "free", "motion") for i in range(n)]
    fleet = Fleet(devices=(DeviceKind(kind="cpu", count=4, hourly_usd=0.05),))
    out = simulate(demand, fleet, SHEET, BOOK, EXACT)
    states = [j.state for j in out.jobs]
    assert states.count("refused") == 2  # 1 running + max_queued waiting, the rest refused
    ran = sorted((j for j in out.jobs if j.started is not None), key=lambda j: j.started or 0)
    assert [j.seq for j in ran] == sorted(j.seq for j in ran)  # submit order
    # never two of the account's jobs on devices at once, though four devices were free
    spans = sorted((j.started, j.finished) for j in ran)
    assert all(b[0] >= a[1] for a, b in itertools.pairwise(spans))


def test_cancel_and_timeout_end_waiting_jobs_and_free_the_slot() -> None:
    demand = [
        arrival(0, "a", "free", "wan"),  # runs 5 s x 73 s/s = 365 s
        arrival(1, "a", "free", "wan", cancel_after=10),  # cancelled while throttled
        arrival(2, "b", "free", "wan"),  # waits for the device
    ]
    policy = EXACT.model_copy(update={"timeout_s": 200})
    out = simulate(demand, gpu(), SHEET, BOOK, policy)
    first, cancelled, waiting = out.jobs
    assert first.state == "succeeded" and math.isclose(first.device_s, 73 * 5)
    assert cancelled.state == "cancelled" and cancelled.device_s == 0
    # the device is busy for 365 s, past b's 200 s timeout: b gave up waiting
    assert waiting.state == "lost" and waiting.started is None


def test_cache_hits_use_no_device_and_pay_the_cache_share() -> None:
    demand = [arrival(0, "a", "pro", "wan", cache_hit=True)]
    (job,) = simulate(demand, gpu(), SHEET, BOOK, EXACT).jobs
    full, _ = SHEET.credits_for(
        model="wan", family="wan", duration=5, resolution="480p", preset=None
    )
    assert (job.state, job.device_s, job.credits) == ("cached", 0.0, SHEET.cache_hit_credits(full))
    (job,) = simulate(
        demand,
        gpu(),
        SHEET,
        BOOK,
        POLICIES["no-cache"].model_copy(update={"failure_rate": {"*": 0.0}}),
    ).jobs
    assert job.state == "succeeded" and job.device_s > 0


def test_device_time_follows_the_profile_and_the_device_speed() -> None:
    demand = [arrival(0, "a", "pro", "wan", resolution="720p")]
    (job,) = simulate(demand, gpu(), SHEET, BOOK, EXACT).jobs
    assert math.isclose(job.device_s, 250 * 5)  # the sheet's cited H200 profile
    slower = Fleet(
        devices=(DeviceKind(kind="A100", count=1, hourly_usd=1.6, memory_gb=80, speed=0.5),)
    )
    (job,) = simulate(demand, slower, SHEET, BOOK, EXACT).jobs
    assert math.isclose(job.device_s, 250 * 5 / 0.5)
    assert math.isclose(job.cost_usd, job.device_s * 1.6 / 3600)
    too_small = Fleet(devices=(DeviceKind(kind="L4", count=1, hourly_usd=0.8, memory_gb=24),))
    out = simulate(demand, too_small, SHEET, BOOK, EXACT.model_copy(update={"timeout_s": 60}))
    assert out.jobs[0].state == "lost"  # 720p Wan needs 76 GB: never placed on 24 GB


def test_measured_profiles_override_cited_ones() -> None:
    records = [
        {
            "family": "wan",
            "resolution": "720p",
            "preset": "final",
            "device": "cuda:0 (NVIDIA H200)",
            "duration": 5,
            "seconds": s,
        }
        for s in (500, 510, 520, 530, 900)
    ]
    book = ProfileBook(SHEET, measured_profiles(records, ["H200"]))
    (profile, speed), _ = book.lookup("wan", "720p", "final", gpu().devices[0]), None
    assert profile.source == "measured (5 jobs)" and speed == 1.0
    assert math.isclose(profile.p50, 104.0) and profile.p90 > profile.p50  # 520 / 5 s
    rng = random.Random(3)
    draws = sorted(profile.sample(rng) for _ in range(4000))
    assert abs(draws[2000] - profile.p50) / profile.p50 < 0.05
    assert abs(draws[3600] - profile.p90) / profile.p90 < 0.08
    few = measured_profiles(records[:2], ["H200"])
    assert few == []  # under MIN_SAMPLES: the cited profile stays


def test_autoscale_adds_devices_under_load_and_returns_idle_ones() -> None:
    demand = [arrival(i * 10.0, f"u{i}", "pro", "wan") for i in range(40)] + [
        arrival(40 * 10.0 + 20_000, "late", "pro", "wan")
    ]
    fleet = gpu(1, startup_s=60).model_copy(
        update={
            "autoscale": Autoscale(max=8, scale_out_wait_s=30, scale_in_idle_s=300, interval_s=10)
        }
    )
    out = simulate(demand, fleet, SHEET, BOOK, EXACT)
    assert (
        max(
            len([d for d in out.devices if d.up_at <= t < (d.down_at or 1e18)])
            for t in range(0, 2000, 10)
        )
        > 1
    )
    assert all(
        len([d for d in out.devices if d.up_at <= t < (d.down_at or 1e18)]) <= 8
        for t in range(0, 20000, 100)
    )
    floor = [d for d in out.devices if d.down_at == out.end]
    assert len(floor) >= 1  # the configured count is the floor: never scaled in below it
    static = summarize(simulate(demand, gpu(1), SHEET, BOOK, EXACT), 0.01)
    scaled = summarize(out, 0.01)
    assert scaled["plans"]["pro"]["wait_p95_s"] < static["plans"]["pro"]["wait_p95_s"]


def test_report_adds_up_and_the_search_finds_the_smallest_fleet() -> None:
    demand = from_population(150, 7, seed=5)
    fleet = Fleet(
        devices=(
            DeviceKind(kind="H200", count=1, hourly_usd=3.5, memory_gb=141),
            DeviceKind(kind="cpu", count=1, hourly_usd=0.05),
        )
    )

    def run(f: Fleet) -> dict[str, object]:
        return summarize(simulate(demand, f, SHEET, BOOK, POLICIES["default"]), 0.0139)

    report = run(fleet)
    plans = report["plans"]
    assert (
        sum(p["submitted"] for p in plans.values()) == len(demand) == report["totals"]["submitted"]
    )  # type: ignore[index,union-attr]
    assert math.isclose(
        sum(p["cost_usd"] for p in plans.values()), report["totals"]["cost_usd"], rel_tol=1e-3
    )  # type: ignore[index,union-attr]
    targets = {"free": 900.0, "pro": 60.0, "standard": 60.0}
    best, best_report, trials = smallest_fleet(run, fleet, targets)  # type: ignore[arg-type]
    assert meets(best_report, targets)
    for kind, count in best.counts().items():
        if count > 1:  # one fewer of any kind misses a target
            assert not meets(run(best.with_counts({kind: count - 1})), targets)  # type: ignore[arg-type]
    assert trials and trials[-1]["met"] in (True, False)
    pricing = price_for_margin(best_report, 0.3)
    factor = pricing["price_multiplier"]
    revenue, cost = best_report["totals"]["revenue_usd"], best_report["totals"]["cost_usd"]
    assert math.isclose((factor * revenue - cost) / (factor * revenue), 0.3, rel_tol=1e-3)


def test_same_seed_same_run() -> None:
    demand = from_population(100, 5, seed=2)
    a = summarize(simulate(demand, gpu(2), SHEET, BOOK, POLICIES["draft-first"], seed=9), 0.01)
    b = summarize(simulate(demand, gpu(2), SHEET, BOOK, POLICIES["draft-first"], seed=9), 0.01)
    assert a == b
    assert a["plans"]["free"]["submitted"] > len([x for x in demand if x.plan == "free"]) - 1


def test_free_requests_past_the_daily_credits_are_refused_as_submit_refuses_them() -> None:
    shipped = load_sheet()
    free = shipped.plan("free")
    cost, _ = shipped.credits_for(
        model="motion", family="motion", duration=5, resolution="480p", preset=None
    )
    fits = free.daily_credits // cost
    demand = [arrival(i, "f", "free", "motion") for i in range(fits + 2)]
    demand += [arrival(86_400 + 1, "f", "free", "motion")]  # a new UTC day: credits again
    fleet = Fleet(devices=(DeviceKind(kind="cpu", count=1, hourly_usd=0.05),))
    out = simulate(demand, fleet, shipped, ProfileBook(shipped), EXACT)
    states = [j.state for j in out.jobs]
    assert states[:fits] == ["succeeded"] * fits
    assert states[fits : fits + 2] == ["refused_credits"] * 2
    assert states[-1] == "succeeded"
    assert summarize(out, 0.01)["plans"]["free"]["refused_no_credits"] == 2


def test_unknown_plan_in_the_demand_is_a_clear_error() -> None:
    from reelforge.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="plan 'gold'"):
        simulate([arrival(0, "a", "gold")], gpu(), SHEET, BOOK, EXACT)


def test_profile_sample_without_spread_is_exact() -> None:
    p = Profile("wan", "480p", "final", "H200", 10.0, 10.0, 40, "cited")
    assert p.sample(random.Random(1), 2.0) == 5.0
