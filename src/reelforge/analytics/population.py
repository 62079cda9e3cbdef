"""A synthetic user population for `reelforge simulate`: who signs up when, how often they
come back, what they ask for, when they upgrade, top up or churn.

Pure and seeded (random.Random): the same seed gives the same population and choices. The
rates are assumptions, stated here so a report on simulated data can be read against them:

- signups spread over the run, growing linearly (the last day gets twice the first's);
- segments: 80 % creators, 19 % merchants, 1 % enterprise organisations (2 API keys each);
- a free user comes back on day t after signup with probability 0.5 / sqrt(t + 1)
  (D1 about 35 %, D30 about 9 %), a paying user with probability 0.6;
- generations per active day: Poisson(2.5 x a per-user lognormal factor), enterprise 8;
- 1.5 % of requests are harmful (moderation blocks them), 4 % repeat an earlier request with
  its seed (the result cache answers), 1 % are cancelled while queued;
- a free user who runs out of credits upgrades with probability 5 % (standard 70 %, pro 25 %,
  premier 5 %), and 0.2 % of active free days upgrade anyway; a paying user who runs out
  tops up with probability 30 %; 12 % of subscriptions end at each renewal.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

PROMPTS_FILE = Path(__file__).parent / "data" / "sim_prompts.yaml"


@lru_cache(maxsize=1)
def prompts() -> dict[str, list[str]]:
    data: dict[str, list[str]] = yaml.safe_load(PROMPTS_FILE.read_text(encoding="utf-8"))
    return data


@dataclass
class Persona:
    index: int
    segment: str  # creator | merchant | enterprise
    signup_day: int
    signup_second: int  # seconds into the signup day
    activity: float  # multiplies the mean generations per active day
    name: str = ""
    plan: str = "free"
    churned: bool = False
    renewal_day: int | None = None  # next subscription renewal (day index)
    history: list[dict[str, object]] = field(default_factory=list)  # earlier requests


@dataclass(frozen=True)
class Request:
    model: str
    resolution: str
    preset: str | None
    duration: float
    prompt: str
    seed: int | None
    harmful: bool
    cancel: bool
    repeat: bool


def population(rng: random.Random, users: int, days: int) -> list[Persona]:
    weights = [1.0 + d / max(1, days - 1) for d in range(days)]
    signup_days = sorted(rng.choices(range(days), weights=weights, k=users))
    people = []
    for i, day in enumerate(signup_days):
        roll = rng.random()
        segment = "creator" if roll < 0.80 else "merchant" if roll < 0.99 else "enterprise"
        people.append(
            Persona(
                i,
                segment,
                day,
                rng.randrange(6 * 3600, 23 * 3600),
                rng.lognormvariate(0.0, 0.5),
                plan="enterprise" if segment == "enterprise" else "free",
            )
        )
    return people


def active_on(rng: random.Random, person: Persona, day: int) -> bool:
    if person.churned or day < person.signup_day:
        return False
    age = day - person.signup_day
    if age == 0:
        return True
    if person.plan != "free":
        return rng.random() < 0.6
    return rng.random() < 0.5 / math.sqrt(age + 1)


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, prod = math.exp(-mean), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def generations_today(rng: random.Random, person: Persona) -> int:
    mean = 8.0 if person.segment == "enterprise" else 2.5 * person.activity
    return min(poisson(rng, mean), 20)


def request(rng: random.Random, person: Persona) -> Request:
    """What a person asks for next (the model mix depends on the plan)."""
    if person.history and rng.random() < 0.04:
        earlier = rng.choice(person.history)
        return Request(**{**earlier, "repeat": True, "cancel": False})  # type: ignore[arg-type]
    harmful = rng.random() < 0.015
    pool = "harmful" if harmful else ("merchant" if person.segment == "merchant" else "creator")
    prompt = rng.choice(prompts()[pool])
    if person.plan == "free":
        model = rng.choice(["sim-motion", "sim-ltx", "sim-wan"])
        resolution, preset = "480p", ("draft" if model != "sim-motion" else None)
    else:
        model = rng.choices(["sim-wan", "sim-ltx", "sim-motion"], weights=[5, 3, 2])[0]
        resolution = rng.choices(["480p", "720p", "1080p"], weights=[2, 6, 2])[0]
        preset = "draft" if model != "sim-motion" and rng.random() < 0.35 else None
    duration = rng.choice([5.0, 5.0, 5.0, 10.0])
    seed = rng.randrange(2**31) if rng.random() < 0.5 else None
    return Request(
        model,
        resolution,
        preset,
        duration,
        prompt,
        seed,
        harmful,
        cancel=rng.random() < 0.01,
        repeat=False,
    )


def upgrade_plan(rng: random.Random) -> str:
    return rng.choices(["standard", "pro", "premier"], weights=[70, 25, 5])[0]


def fails(rng: random.Random, model: str) -> bool:
    """The simulated device's failure rate: neural jobs fail more (out of memory, NaNs)."""
    return rng.random() < (0.005 if model == "sim-motion" else 0.03)
