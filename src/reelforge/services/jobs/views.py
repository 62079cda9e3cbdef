"""The public job object: what the API returns, the CLI prints and webhooks carry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reelforge.storage.tables import Job, JobEvent

if TYPE_CHECKING:
    from reelforge.services.jobs.delivery import OutputLinks


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def job_view(job: Job, links: OutputLinks | None = None) -> dict[str, Any]:
    """The job object; with `links`, output URLs are absolute, signed and expiring (what the
    API and webhooks send), else the authenticated API paths."""
    spec = job.spec
    params = job.params or {}
    upload_ids = [
        i.get("upload_id") for i in job.inputs if i.get("upload_id") and not i.get("extends")
    ]
    view: dict[str, Any] = {
        "id": job.id,
        "object": "video",
        "status": job.status,
        "mode": job.mode,
        "model": job.model,
        "prompt": spec.get("prompt", ""),
        "negative_prompt": spec.get("negative_prompt"),
        "image_upload_id": upload_ids[0] if upload_ids else None,
        "last_image_upload_id": upload_ids[1] if len(upload_ids) > 1 else None,
        "extend_from": spec.get("extends"),
        "promoted_from": spec.get("promoted_from"),
        # the move asked for, else the one the backend read from the prompt (or its default)
        "camera": spec.get("camera") or params.get("camera"),
        "camera_source": params.get("camera_source") or ("request" if spec.get("camera") else None),
        "duration": spec.get("duration"),
        "fps": spec.get("fps"),
        "aspect_ratio": spec.get("aspect_ratio"),
        "resolution": spec.get("resolution"),
        "seed": spec.get("seed"),
        "frames": spec.get("frames"),
        "width": spec.get("width"),
        "height": spec.get("height"),
        "steps": spec.get("steps"),
        "guidance": spec.get("guidance"),
        "preset": spec.get("preset"),
        "visible_label": spec.get("visible_label", True),
        "label_position": spec.get("label_position", "top"),
        # what the backend runs, after defaults and presets
        "parameters": (
            {k: v for k, v in params.items() if k != "warnings"} if job.params is not None else None
        ),
        "warnings": list(params.get("warnings") or ()),  # for the creator, from submit
        "priority": job.priority,
        "external_id": job.external_id,
        "callback_url": spec.get("callback_url"),
        "progress": round(job.progress, 4),
        "stage": job.stage,
        "attempt": job.attempt,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "output": None,
        "error": None,
        "timings": job.timings or {},
        "device": job.device,
        "compute": job.compute,
        # billing: credits quoted and reserved at submit, what was charged on the final
        # status (0 when failed, cancelled or blocked), the measured cost in USD
        "credits": job.credits,
        "credits_charged": job.credits_charged,
        "billing": job.billing,
        "cost_usd": job.cost_usd,
        "cache_hit": job.cached_from is not None,
        "cached_from": job.cached_from,
        # DELETE /v1/videos/{id}: the row stays (history, billing), its files are removed
        "deleted": job.deleted_at is not None,
        "deleted_at": _iso(job.deleted_at),
    }
    # the stored output carries a sound track (a provider's, kept through marking)
    view["has_audio"] = job.has_audio
    view["moderation"] = job.moderation  # decision and categories only: nothing to evade by
    if job.output_blob and job.output and job.status == "succeeded":
        view["output"] = {
            **job.output,
            "url": f"/v1/videos/{job.id}/content",
            "poster_url": f"/v1/videos/{job.id}/poster" if job.poster_blob else None,
            "sha256": job.output_blob,
            "expires_at": _iso(job.expires_at),  # retention removes the files then
        }
        if links is not None:
            view["output"].update(links.output_fields(job))
    if job.error_code:
        view["error"] = {"code": job.error_code, "message": job.error_message or ""}
    return view


def event_view(event: JobEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "type": event.type,
        "job_id": event.job_id,
        "created_at": _iso(event.created_at),
        **event.data,
    }
