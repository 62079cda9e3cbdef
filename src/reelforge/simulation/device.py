"""The simulated device of `reelforge simulate`: a run that records timings from the billing
sheet's timing profile instead of rendering frames, for the simulated models
(backends/simulated). Every job it touches is marked simulated (its account is)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reelforge.app.platform import Platform
from reelforge.backends.simulated import BYTES_PER_SECOND
from reelforge.domain.job import EventType, JobStatus
from reelforge.services.billing.charges import sheet_of
from reelforge.services.jobs.finalize import record_final
from reelforge.storage import repositories as repo
from reelforge.storage.blobs import StoredBlob
from reelforge.storage.tables import Job

PLACEHOLDER = b"reelforge simulated output: no video was rendered\n"


def placeholder_blob(p: Platform) -> StoredBlob:
    """One stored stand-in shared by every simulated output (so the result cache, which
    needs a stored output, works as it does for real jobs)."""
    blob = p.blobs.put_bytes(PLACEHOLDER, "text/plain")
    with p.db.session() as s:
        repo.register_blob(s, blob, p.clock())
    return blob


def run_simulated(
    p: Platform, job_id: str, *, fail: bool, output: StoredBlob | None = None
) -> dict[str, Any] | None:
    """Claim a queued simulated job and finish it as the timing profile says: device seconds
    per output second for its model and resolution, on the profile's device at its rate.
    Returns the final job row's outcome, or None if the job was not queued."""
    sheet = sheet_of(p)
    started = p.clock()
    with p.db.session() as s:
        job = repo.claim_job(s, job_id, "simulator:0", started)
        if job is None:
            return None
        spec = job.spec
        profile = sheet.profile_seconds(
            model=job.model,
            family=job.queue,
            resolution=spec["resolution"],
            preset=spec.get("preset"),
        )
        per_second, device = profile or (1.0, "cpu")
        seconds = per_second * float(spec["duration"]) * (0.5 if fail else 1.0)
        now = started + timedelta(seconds=seconds)
        repo.append_event(
            s,
            job_id,
            EventType.STARTED,
            {"status": "running", "attempt": job.attempt, "worker": "simulator:0"},
            started,
        )
        status = JobStatus.FAILED if fail else JobStatus.SUCCEEDED
        values: dict[str, Any] = {
            "finished_at": now,
            "heartbeat_at": now,
            "device": f"simulated {device}",
            "timings": {**(job.timings or {}), "total": round(seconds, 4)},
            "compute": {
                "device": f"simulated {device}",
                "simulated": True,
                "gpu_hourly_usd": sheet.hourly_usd(device),
            },
        }
        data: dict[str, Any] = {}
        if fail:
            values.update(
                error_code="out_of_memory", error_message="simulated device ran out of memory"
            )
            data["error"] = {"code": "out_of_memory", "message": values["error_message"]}
        else:
            size = int(BYTES_PER_SECOND.get(spec["resolution"], 550_000) * float(spec["duration"]))
            values.update(
                progress=1.0,
                stage="done",
                output_blob=output.key if output else None,
                output={"duration": spec["duration"], "size_bytes": size, "simulated": True},
            )
        repo.transition(
            s, job_id, status, attempt=job.attempt, extra_where=[Job.status == "running"], **values
        )
        final = record_final(p, s, job_id, data, now)
        return {
            "status": final.status,
            "credits_charged": final.credits_charged,
            "cost_usd": final.cost_usd,
        }
