"""A demand: the arrivals of generation requests the planner replays.

From a CSV (columns below; `at` in seconds from the start, or an ISO date-time), from the
platform's own job records (services.ops.demand: a `reelforge simulate` run or real traffic),
or generated from the simulator's population model (analytics.population, the same personas
and request mix as `reelforge simulate`, without a database)."""

from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

from reelforge.analytics import population as pop
from reelforge.errors import InvalidRequest

MAX_ARRIVALS = 2_000_000
MAX_FILE_BYTES = 200 * 1024 * 1024
RESOLUTIONS = ("480p", "720p", "1080p")
COLUMNS = (
    "at",
    "account",
    "plan",
    "model",
    "family",
    "resolution",
    "duration",
    "preset",
    "cache_hit",
    "cancel_after",
)


@dataclass(frozen=True)
class Arrival:
    at: float  # seconds from the start of the demand
    account: str
    plan: str
    model: str
    family: str  # the queue and timing-profile family (wan, ltx, cogvideox, motion, ...)
    resolution: str
    duration: float  # seconds of output
    preset: str | None = None  # draft | final (None: final)
    cache_hit: bool = False  # the result cache answers it (no device time)
    cancel_after: float | None = None  # the user cancels it this long after submitting


def family_of(model: str) -> str:
    """The family of a model name when a demand does not say: `sim-wan` → wan, `wan-14b` →
    wan (the part before the first non-letter)."""
    name = model.strip().lower().removeprefix("sim-")
    head = ""
    for ch in name:
        if not ch.isalpha():
            break
        head += ch
    return head or name


def _clean(value: str, column: str, row: int, limit: int = 100) -> str:
    if len(value) > limit or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidRequest(
            f"row {row}: {column} is longer than {limit} characters or holds control characters",
            code="invalid_demand",
            field=column,
        )
    return value


def _number(value: str, column: str, row: int, *, minimum: float = 0.0) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequest(
            f"row {row}: {column} must be a number, not {value[:40]!r}",
            code="invalid_demand",
            field=column,
        ) from None
    if not math.isfinite(number) or number < minimum:
        raise InvalidRequest(
            f"row {row}: {column} must be a finite number >= {minimum}",
            code="invalid_demand",
            field=column,
        )
    return number


def parse_csv(text: str) -> list[Arrival]:
    """Arrivals from CSV text; a wrong row is an InvalidRequest naming the row and column."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"at", "model", "resolution", "duration"} - set(reader.fieldnames or ())
    if missing:
        raise InvalidRequest(
            f"the demand CSV needs the columns {', '.join(sorted(missing))} "
            f"(optional: account, plan, family, preset, cache_hit, cancel_after)",
            code="invalid_demand",
        )
    arrivals: list[Arrival] = []
    origin: datetime | None = None
    for row_no, row in enumerate(reader, start=2):
        if len(arrivals) >= MAX_ARRIVALS:
            raise InvalidRequest(
                f"a demand holds at most {MAX_ARRIVALS} arrivals", code="invalid_demand"
            )
        get = {k: _clean((row.get(k) or "").strip(), k, row_no) for k in COLUMNS}
        at_text = get["at"]
        try:
            at = _number(at_text, "at", row_no)
        except InvalidRequest:
            try:
                when = datetime.fromisoformat(at_text)
            except ValueError:
                raise InvalidRequest(
                    f"row {row_no}: at must be seconds or an ISO date-time",
                    code="invalid_demand",
                    field="at",
                ) from None
            origin = origin or when
            at = (when - origin).total_seconds()
        if get["resolution"] not in RESOLUTIONS:
            raise InvalidRequest(
                f"row {row_no}: resolution must be one of {', '.join(RESOLUTIONS)}",
                code="invalid_demand",
                field="resolution",
            )
        if not get["model"]:
            raise InvalidRequest(
                f"row {row_no}: model is empty", code="invalid_demand", field="model"
            )
        preset = get["preset"] or None
        if preset not in (None, "draft", "final"):
            raise InvalidRequest(
                f"row {row_no}: preset must be draft or final",
                code="invalid_demand",
                field="preset",
            )
        cancel = get["cancel_after"]
        arrivals.append(
            Arrival(
                at=at,
                account=get["account"] or f"row-{row_no}",
                plan=get["plan"] or "free",
                model=get["model"],
                family=get["family"] or family_of(get["model"]),
                resolution=get["resolution"],
                duration=_number(get["duration"], "duration", row_no, minimum=0.1),
                preset=preset,
                cache_hit=get["cache_hit"].lower() in ("1", "true", "yes"),
                cancel_after=_number(cancel, "cancel_after", row_no) if cancel else None,
            )
        )
    if origin is not None:  # ISO times: make the earliest the start
        first = min(a.at for a in arrivals)
        arrivals = [Arrival(**{**asdict(a), "at": a.at - first}) for a in arrivals]
    arrivals.sort(key=lambda a: a.at)
    return arrivals


def read_csv(path: Path) -> list[Arrival]:
    if not path.is_file():
        raise InvalidRequest(f"demand file {path} does not exist", code="invalid_demand")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidRequest(
            f"demand file {path} is larger than {MAX_FILE_BYTES // 2**20} MiB",
            code="invalid_demand",
        )
    return parse_csv(path.read_text(encoding="utf-8"))


def to_csv(arrivals: list[Arrival]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    names = [f.name for f in fields(Arrival)]
    for a in arrivals:
        row = asdict(a)
        writer.writerow(
            [
                "" if row[n] is None else (int(row[n]) if isinstance(row[n], bool) else row[n])
                for n in names
            ]
        )
    return out.getvalue()


def rows_to_csv(rows: list[dict[str, object]]) -> str:
    """CSV text of plain rows with the demand's columns (services.ops.demand's rows)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (int(v) if isinstance(v, bool) else v) for k, v in row.items()})
    return out.getvalue()


def from_population(users: int, days: int, seed: int = 1) -> list[Arrival]:
    """The request stream of `reelforge simulate`'s population model (same personas, visit
    rates, request mix, repeats answered by the result cache, cancellations), without the
    platform: upgrades happen at the model's background rate (0.2 % of active free days);
    harmful prompts are left out (moderation blocks them before any device time)."""
    if not 1 <= users <= 1_000_000 or not 1 <= days <= 3650:
        raise InvalidRequest("users must be 1-1000000 and days 1-3650", code="invalid_demand")
    rng = random.Random(seed)
    people = pop.population(rng, users, days)
    arrivals: list[Arrival] = []
    for day in range(days):
        for person in people:
            if not pop.active_on(rng, person, day):
                continue
            if person.plan == "free" and rng.random() < 0.002:
                person.plan = pop.upgrade_plan(rng)
            first = person.signup_second if day == person.signup_day else 6 * 3600
            for _ in range(pop.generations_today(rng, person)):
                req = pop.request(rng, person)
                at = day * 86400 + rng.randrange(first, 24 * 3600 - 60)
                if req.seed is not None and not req.repeat:
                    person.history.append(
                        {
                            k: getattr(req, k)
                            for k in ("model", "resolution", "preset", "duration", "prompt")
                        }
                        | {"seed": req.seed, "harmful": req.harmful}
                    )
                if req.harmful:
                    continue
                arrivals.append(
                    Arrival(
                        at=float(at),
                        account=f"u{person.index}",
                        plan=person.plan,
                        model=req.model,
                        family=family_of(req.model),
                        resolution=req.resolution,
                        duration=req.duration,
                        preset=req.preset,
                        cache_hit=req.repeat,
                        cancel_after=rng.uniform(1, 60) if req.cancel else None,
                    )
                )
    arrivals.sort(key=lambda a: a.at)
    return arrivals
