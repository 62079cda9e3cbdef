"""A small simulated population for the KPI dashboard's tests: `reelforge simulate`'s driver
over fixed dates (35 days up to 2026-11-02), so every run makes the same rows whatever the
day the tests run; seed 9 gives every chart data (conversions, top-ups beside the
subscriptions, commerce generations, failed jobs' compute, D1/D7/D30 retention)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reelforge.config import Settings
from reelforge.simulation.simulate import SimClock, Simulation, simulation_platform

END = datetime(2026, 11, 2, tzinfo=UTC)
DAYS, USERS, SEED = 35, 6, 9


def simulate_population(settings: Settings) -> dict[str, object]:
    """Run the simulation into the database of `settings` (a few seconds)."""
    clock = SimClock(END)
    p = simulation_platform(settings, clock)
    try:
        sim = Simulation(p, clock, users=USERS, days=DAYS, seed=SEED)
        sim.start = END - timedelta(days=DAYS)  # fixed dates, not the days before today
        return sim.run_all()
    finally:
        p.close()
