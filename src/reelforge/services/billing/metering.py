"""Metering: turn a finished job's measured seconds into usage events and a cost.

cost = device seconds x the device's hourly rate (a registered model's own rate first)
     + output GB x storage rate x months kept
     + moderation CPU seconds x the CPU rate

One event per kind and job attempt (`idempotency_key` job:attempt:kind), so a job that
reaches a final status twice (blocked, then approved on appeal) is metered once per run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.billing.sheet import BillingSheet
from reelforge.storage.billing_tables import UsageEvent
from reelforge.storage.tables import Account, Job

# Timings that are CPU moderation work, not device time.
MODERATION_TIMINGS = ("moderation_submit", "output_moderation")


def device_seconds(timings: dict[str, Any]) -> float:
    """A finished job's device time: claim to finish, less the output checks (CPU work)."""
    return max(0.0, float(timings.get("total", 0.0)) - float(timings.get("output_moderation", 0.0)))


def job_costs(sheet: BillingSheet, job: Job) -> dict[str, tuple[float, str, float]]:
    """kind → (quantity, unit, rate_usd per unit) for a finished job."""
    timings = job.timings or {}
    compute = job.compute or {}
    moderation_s = sum(float(timings.get(k, 0.0)) for k in MODERATION_TIMINGS)
    device_s = device_seconds(timings)
    hourly = compute.get("gpu_hourly_usd")
    rate = float(hourly) if hourly is not None else sheet.hourly_usd(job.device)
    costs: dict[str, tuple[float, str, float]] = {}
    if device_s > 0:
        costs["compute"] = (device_s, "device_second", rate / 3600)
    size = (job.output or {}).get("size_bytes")
    if job.output_blob and size and not job.cached_from:
        costs["storage"] = (
            size / 1e9 * sheet.storage.months,
            "gb_month",
            sheet.storage.gb_month_usd,
        )
    if moderation_s > 0:
        costs["moderation"] = (moderation_s, "cpu_second", sheet.devices.cpu_hourly_usd / 3600)
    if compute.get("provider_cost_usd") is not None:  # a hosted provider's price for the clip
        costs["provider"] = (
            float(compute.get("provider_seconds") or 0.0),
            "provider_second",
            float(compute.get("provider_usd_per_second") or 0.0),
        )
    return costs


def meter_job(
    s: Session, sheet: BillingSheet, job: Job, account: Account, plan: str, now: datetime
) -> float:
    """Write the job's usage events (once) and return its total measured cost in USD."""
    spec: dict[str, Any] = job.spec or {}
    total = 0.0
    for kind, (quantity, unit, rate) in job_costs(sheet, job).items():
        cost = quantity * rate
        total += cost
        key = f"{job.id}:{job.attempt}:{kind}"
        if s.scalar(select(UsageEvent.id).where(UsageEvent.idempotency_key == key)):
            continue
        s.add(
            UsageEvent(
                idempotency_key=key,
                account_id=account.id,
                job_id=job.id,
                kind=kind,
                quantity=round(quantity, 6),
                unit=unit,
                rate_usd=rate,
                cost_usd=round(cost, 9),
                outcome=job.status,
                device=job.device,
                model=job.model,
                plan=plan,
                resolution=spec.get("resolution"),
                preset=spec.get("preset") or "final",
                output_seconds=spec.get("duration"),
                segment=account.segment,
                simulated=bool(job.simulated),
                created_at=now,
                data={
                    "attempt": job.attempt,
                    "cache_hit": bool(job.cached_from),
                    "key_id": job.key_id,
                },
            )
        )
    s.flush()
    return total
