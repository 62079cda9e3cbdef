"""Submit: validate → resolve inputs and model → persist job + first event in one
transaction → enqueue the job id. No device second is spent before all checks pass."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError

from reelforge.domain.job import EventType, JobStatus, new_id
from reelforge.domain.spec import (
    MAX_DURATION_S,
    MAX_PROMPT_CHARS,
    MIN_DURATION_S,
    AspectRatio,
    Camera,
    JobSpec,
    Mode,
    Resolution,
)
from reelforge.errors import Conflict, InvalidRequest, NotFound
from reelforge.services.accounts import AccountRef
from reelforge.services.callbacks import check_callback_url
from reelforge.services.platform import Platform
from reelforge.services.views import job_view
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Job

log = logging.getLogger(__name__)


class SubmitRequest(BaseModel):
    """The body of POST /v1/videos (and what the CLI builds). Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(default="", max_length=MAX_PROMPT_CHARS)
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    mode: Mode | None = None  # inferred: image → image2video, else text2video
    image_upload_id: str | None = Field(default=None, max_length=40)
    camera: Camera | None = None
    duration: float = Field(default=5.0, ge=MIN_DURATION_S, le=MAX_DURATION_S)
    fps: int = Field(default=24, ge=1, le=60)
    aspect_ratio: AspectRatio = AspectRatio.LANDSCAPE
    resolution: Resolution = Resolution.P720
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    model: str | None = Field(default=None, min_length=1, max_length=100)
    priority: int = Field(default=0, ge=0, le=9)
    external_id: str | None = Field(default=None, min_length=1, max_length=128)
    callback_url: str | None = Field(default=None, max_length=2048)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SubmitRequest:
        """Build from untrusted input, turning validation errors into InvalidRequest."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise invalid_from(exc) from None


def invalid_from(exc: ValidationError) -> InvalidRequest:
    first = exc.errors()[0]
    field = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or None
    kind = first.get("type", "")
    code = "unknown_field" if kind == "extra_forbidden" else "invalid_request"
    msg = first.get("msg", "invalid request")
    return InvalidRequest(f"{field}: {msg}" if field else msg, code=code, field=field)


@dataclass(frozen=True)
class Submitted:
    job: dict[str, Any]
    created: bool  # False when external_id matched an earlier identical request


def _request_hash(req: SubmitRequest) -> str:
    body = req.model_dump(mode="json", exclude={"external_id"})
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _replay(existing: Job, request_hash: str) -> Submitted:
    if existing.spec_hash != request_hash:
        raise Conflict(
            f"external_id {existing.external_id!r} was already used for a different request "
            f"(job {existing.id}); use a new external_id for a new job",
            code="external_id_conflict", field="external_id",
        )
    return Submitted(job_view(existing), created=False)


def submit_job(p: Platform, account: AccountRef, req: SubmitRequest) -> Submitted:
    request_hash = _request_hash(req)
    if req.external_id:
        with p.db.session(write=False) as s:
            existing = repo.job_by_external_id(s, account.id, req.external_id)
            if existing is not None:
                return _replay(existing, request_hash)

    mode = req.mode or (Mode.IMAGE2VIDEO if req.image_upload_id else Mode.TEXT2VIDEO)
    model = req.model or p.backends.default_model(mode)
    inputs: list[dict[str, str]] = []
    if req.image_upload_id:
        with p.db.session(write=False) as s:
            upload = repo.upload_for(s, account.id, req.image_upload_id)
            if upload is None:
                raise NotFound(f"no upload {req.image_upload_id}", code="upload_not_found",
                               field="image_upload_id")
            inputs.append({"upload_id": upload.id, "blob": upload.blob_key})
    if req.callback_url:
        check_callback_url(req.callback_url, p.settings.webhook_allow_hosts)

    try:
        spec = JobSpec(
            mode=mode, prompt=req.prompt, negative_prompt=req.negative_prompt,
            images=tuple(i["blob"] for i in inputs), camera=req.camera, duration=req.duration,
            fps=req.fps, aspect_ratio=req.aspect_ratio, resolution=req.resolution,
            seed=req.seed if req.seed is not None else secrets.randbelow(2**31),
            model=model, external_id=req.external_id, callback_url=req.callback_url,
        )
    except ValidationError as exc:
        raise invalid_from(exc) from None
    backend = p.backends.resolve(spec)
    for check in p.submit_checks:
        check.check(p, account, spec)

    now = p.clock()
    job_id = new_id("vid")
    try:
        with p.db.session() as s:
            job = Job(
                id=job_id, account_id=account.id, status=str(JobStatus.QUEUED),
                mode=str(spec.mode), model=spec.model, queue=backend.queue,
                priority=req.priority, spec=spec.model_dump(mode="json"),
                spec_hash=request_hash, external_id=req.external_id, inputs=inputs,
                attempt=0, max_attempts=p.settings.max_attempts, cancel_requested=False,
                event_seq=0, progress=0.0, created_at=now, enqueued_at=now,
            )
            s.add(job)
            s.flush()
            repo.append_event(s, job_id, EventType.SUBMITTED,
                              {"status": str(JobStatus.QUEUED), "model": spec.model}, now)
            for recorder in p.submit_recorders:
                recorder.on_submit(s, job, now)
            view = job_view(job)
    except IntegrityError:
        if not req.external_id:
            raise
        with p.db.session(write=False) as s:  # lost a race on the same external_id
            existing = repo.job_by_external_id(s, account.id, req.external_id)
            if existing is None:
                raise
            return _replay(existing, request_hash)

    try:
        p.queue.enqueue(job_id, queue=backend.queue, priority=req.priority)
    except Exception:  # the job is safe in the database; the reaper enqueues it later
        log.exception("enqueue of %s failed; the reaper will retry", job_id)
    return Submitted(view, created=True)
