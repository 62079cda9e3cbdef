"""Submit: validate → resolve inputs and model → persist job + first event in one
transaction → enqueue the job id. No device second is spent before all checks pass."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.backends.base import (
    GenerationBackend,
    backend_default_fps,
    backend_parameters,
)
from reelforge.domain.account import AccountRef
from reelforge.domain.job import (
    CONTENT_BLOCKED,
    MODERATION_QUEUE,
    EventType,
    JobStatus,
    blocked_message,
    new_id,
)
from reelforge.domain.spec import (
    DEFAULT_FPS,
    JobSpec,
    Mode,
    Preset,
)
from reelforge.errors import Conflict, Forbidden, InvalidRequest, NotFound
from reelforge.errors import invalid_from as invalid_from  # (one mapper; re-exported)
from reelforge.governance.signals import Action, Decision
from reelforge.logs import event
from reelforge.media.images import encode_png
from reelforge.media.probe import last_frame
from reelforge.net.callbacks import check_callback_url
from reelforge.services.jobs.admission import admit_new
from reelforge.services.jobs.finalize import record_final
from reelforge.services.jobs.image_input import resolve_image_inputs
from reelforge.services.jobs.request import MAX_IMAGE_FIELD_CHARS as MAX_IMAGE_FIELD_CHARS
from reelforge.services.jobs.request import SubmitRequest as SubmitRequest
from reelforge.services.jobs.result_cache import cache_key, find_hit
from reelforge.services.jobs.source_warnings import source_sizes, upscale_warnings, with_warnings
from reelforge.services.jobs.uploads import create_upload
from reelforge.services.jobs.views import job_view
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Account, Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    job: dict[str, Any]
    created: bool  # False when external_id matched an earlier identical request


# Fields added after jobs were first stored with a request hash: left out at their default,
# so repeating an external_id sent before they existed still replays its job after an upgrade.
LATER_FIELDS = ("label_position", "image_url", "last_image_url", "image_upload_ids", "composition")


def _request_hash(req: SubmitRequest) -> str:
    body = req.model_dump(mode="json", exclude={"external_id"})
    for name in LATER_FIELDS:
        if name in body and body[name] == SubmitRequest.model_fields[name].get_default():
            del body[name]
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _replay(existing: Job, request_hash: str) -> Submitted:
    if existing.spec_hash != request_hash:
        raise Conflict(
            f"external_id {existing.external_id!r} was already used for a different request "
            f"(job {existing.id}); use a new external_id for a new job",
            code="external_id_conflict",
            field="external_id",
        )
    return Submitted(job_view(existing), created=False)


def _infer_mode(req: SubmitRequest) -> Mode:
    if req.mode is not None:
        return req.mode
    if req.composition is not None:
        return Mode.IMAGE2VIDEO
    if req.extend_from:
        return Mode.EXTEND
    first = req.image_upload_id or req.image_url
    if first and (req.last_image_upload_id or req.last_image_url):
        return Mode.FIRST_LAST_FRAME
    return Mode.IMAGE2VIDEO if first else Mode.TEXT2VIDEO


def _resolve_uploads(p: Platform, account: AccountRef, req: SubmitRequest) -> list[dict[str, str]]:
    inputs: list[dict[str, str]] = []
    if req.image_url or req.last_image_url:  # only a quote gets here with one unresolved
        return inputs
    named = [
        ("image_upload_id", req.image_upload_id),
        ("last_image_upload_id", req.last_image_upload_id),
    ]
    if req.image_upload_ids:
        if req.image_upload_id or req.last_image_upload_id:
            raise InvalidRequest(
                "send image_upload_ids or image_upload_id/last_image_upload_id, not both",
                field="image_upload_ids",
            )
        named = [("image_upload_ids", upload_id) for upload_id in req.image_upload_ids]
    for field_name, upload_id in named:
        if not upload_id:
            continue
        with p.db.session(write=False) as s:
            upload = repo.upload_for(s, account.id, upload_id)
        if upload is None:
            raise NotFound(f"no upload {upload_id}", code="upload_not_found", field=field_name)
        inputs.append({"upload_id": upload.id, "blob": upload.blob_key})
    return inputs


_PLACEHOLDER_BLOB = "0" * 64  # stands in for the frame an extension starts from, until checked
IMAGES_NEEDED = {Mode.IMAGE2VIDEO: 1, Mode.FIRST_LAST_FRAME: 2, Mode.FRAMES2VIDEO: 2}


@dataclass
class Prepared:
    """A request turned into what runs: spec, backend, parameters, inputs."""

    spec: JobSpec
    backend: GenerationBackend
    params: dict[str, Any] | None
    inputs: list[dict[str, str]]
    source_blob: str | None = None  # extend: the video whose last frame it starts from
    warnings: list[str] = field(default_factory=list)  # for the creator (source_warnings)


def prepare(
    p: Platform,
    account: AccountRef,
    req: SubmitRequest,
    *,
    promoted_from: str | None = None,
    for_quote: bool = False,
) -> Prepared:
    """Validate a request and resolve its model and inputs, writing nothing. `for_quote`
    skips the features' submit checks and stands in for images not uploaded yet."""
    mode = _infer_mode(req)
    model = req.model or p.backends.default_model(mode)
    inputs = _resolve_uploads(p, account, req)
    if for_quote and not inputs and mode in IMAGES_NEEDED:
        inputs = [{"blob": _PLACEHOLDER_BLOB}] * IMAGES_NEEDED[mode]
    source_blob: str | None = None
    if mode is Mode.EXTEND:
        if not req.extend_from:
            raise InvalidRequest(
                "extend needs extend_from: the id of a succeeded job", field="extend_from"
            )
        if inputs:
            raise InvalidRequest(
                "extend starts from the last frame of extend_from's video; "
                "do not send an image as well",
                field="image_upload_id",
            )
        source_blob = extension_source(p, account, req.extend_from)
        inputs.append({"blob": _PLACEHOLDER_BLOB, "extends": req.extend_from})
    if req.callback_url:
        check_callback_url(req.callback_url, p.settings.webhook_allow_hosts)

    found = p.backends.get(model)
    fps = req.fps or (backend_default_fps(found, DEFAULT_FPS) if found else DEFAULT_FPS)

    try:
        spec = JobSpec(
            mode=mode,
            prompt=req.prompt,
            negative_prompt=req.negative_prompt,
            images=tuple(i["blob"] for i in inputs),
            camera=req.camera,
            duration=req.duration,
            fps=fps,
            aspect_ratio=req.aspect_ratio,
            resolution=req.resolution,
            seed=req.seed if req.seed is not None else secrets.randbelow(2**31),
            model=model,
            frames=req.frames,
            width=req.width,
            height=req.height,
            steps=req.steps,
            guidance=req.guidance,
            preset=req.preset,
            extends=req.extend_from if mode is Mode.EXTEND else None,
            promoted_from=promoted_from,
            visible_label=req.visible_label,
            label_position=req.label_position,
            external_id=req.external_id,
            callback_url=req.callback_url,
            composition=req.composition,
        )
    except ValidationError as exc:
        raise invalid_from(exc) from None
    if not req.visible_label:
        check_unlabelled_export(p, account)
    backend = p.backends.resolve(spec, found)
    if not for_quote:
        for check in p.submit_checks:
            check.check(p, account, spec)
    params = backend_parameters(backend, spec)
    warnings = upscale_warnings(backend, spec, params, source_sizes(p, account, inputs))
    return Prepared(spec, backend, params, inputs, source_blob, warnings)


def submit_job(
    p: Platform, account: AccountRef, req: SubmitRequest, *, promoted_from: str | None = None
) -> Submitted:
    if req.image_url or req.last_image_url:  # an image in the request: an upload first
        req = resolve_image_inputs(p, account, req)
    request_hash = _request_hash(req)
    if req.external_id and (earlier := _earlier(p, account, req.external_id, request_hash)):
        return earlier
    prepared = prepare(p, account, req, promoted_from=promoted_from)
    if prepared.spec.mode is Mode.EXTEND:  # everything is checked: now store its first frame
        _store_extension_frame(p, account, req, prepared)
    checked = _check(p, account, req, prepared)
    try:
        stored = _store(p, account, req, prepared, checked, request_hash)
    except IntegrityError:  # lost a race on the same external_id?
        if req.external_id and (earlier := _earlier(p, account, req.external_id, request_hash)):
            return earlier
        raise
    if isinstance(stored, Submitted):  # the external_id was taken while it was checked
        return stored
    view, status = stored.view, stored.status
    event(
        log,
        "job.submit",
        job=view["id"],
        account=account.id,
        status=view["status"],
        model=prepared.spec.model,
        code=(view.get("error") or {}).get("code"),
        cached_from=view.get("cached_from"),
    )
    if status is JobStatus.QUEUED:  # not held for a person, waiting for a slot, or refused
        _enqueue(p, view["id"], prepared.backend.queue, view["priority"])
    elif status is JobStatus.MODERATING:  # the guard's task; the generation job once it allows
        _enqueue(p, view["id"], MODERATION_QUEUE, view["priority"])
    return Submitted(view, created=True)


def _earlier(
    p: Platform, account: AccountRef, external_id: str, request_hash: str
) -> Submitted | None:
    """The job an earlier request with this external_id made (its replay), if any."""
    with p.db.session(write=False) as s:
        existing = repo.job_by_external_id(s, account.id, external_id)
        return _replay(existing, request_hash) if existing is not None else None


def _store_extension_frame(
    p: Platform, account: AccountRef, req: SubmitRequest, prepared: Prepared
) -> None:
    """An extension's input becomes the stored last frame of the video it continues."""
    extends = req.extend_from or ""
    frame_upload, frame_blob = store_last_frame(p, account, prepared.source_blob or "", extends)
    prepared.inputs[0] = {"upload_id": frame_upload, "blob": frame_blob, "extends": extends}
    prepared.spec = prepared.spec.model_copy(update={"images": (frame_blob,)})


@dataclass(frozen=True)
class _Checked:
    """What the checks before any device second decided: the moderation port's decision,
    the first status, the billing port's price, and an earlier identical job's result."""

    decision: Decision | None
    timings: dict[str, float]
    status: JobStatus
    credits: int
    key: str | None  # the result cache's key (an explicit seed only)
    hit: Job | None  # the cached job that answers it


def _check(p: Platform, account: AccountRef, req: SubmitRequest, prepared: Prepared) -> _Checked:
    spec, backend = prepared.spec, prepared.backend
    decision, timings = _moderate(p, account, spec)
    status = _FIRST_STATUS[decision.decision if decision else Action.ALLOW]
    if decision is not None and decision.guard:  # a guard model checks it first (issue 17)
        status = JobStatus.MODERATING
    # An explicit seed makes the request reproducible, so an identical earlier one answers it.
    key = cache_key(p, spec, prepared.params, backend) if req.seed is not None else None
    hit = find_hit(p, account.id, key) if key and status is JobStatus.QUEUED else None
    credits = _price(p, spec, backend, cached=hit is not None)
    if hit is not None:
        status = JobStatus.SUCCEEDED
    return _Checked(decision, timings, status, credits, key, hit)


def _moderate(
    p: Platform, account: AccountRef, spec: JobSpec
) -> tuple[Decision | None, dict[str, float]]:
    """The moderation port's submit check (texts, images, likeness), timed."""
    timings: dict[str, float] = {}
    if p.moderation is None:
        return None, timings
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reelforge-moderate-") as tmp:
        decision = p.moderation.check_submit(account, spec, Path(tmp))
    timings["moderation_submit"] = round(time.perf_counter() - t0, 4)
    return decision, timings


def _price(p: Platform, spec: JobSpec, backend: GenerationBackend, *, cached: bool) -> int:
    """The billing port's price in credits (billing also raises the priority to the plan's,
    in its submit recorder); 0 without billing."""
    if p.billing is None:
        return 0
    credits = p.billing.quote(spec, backend.queue, model_hourly_usd(backend)).credits
    return p.billing.sheet.cache_hit_credits(credits) if cached else credits


@dataclass(frozen=True)
class _Stored:
    view: dict[str, Any]
    status: JobStatus  # after admission: queued, throttled, review, blocked or succeeded


def _store(
    p: Platform,
    account: AccountRef,
    req: SubmitRequest,
    prepared: Prepared,
    checked: _Checked,
    request_hash: str,
) -> _Stored | Submitted:
    """Persist the job, its first event and the features' records in one transaction
    (a deadlock victim runs again: storage/db.py); a replay when the external_id was
    taken meanwhile."""
    now = p.clock()
    job_id = new_id("vid")
    stored: _Stored | None = None
    for attempt in p.db.retrying():
        with attempt as s:
            status = checked.status
            if p.billing is not None:
                p.billing.lock(s, account.id)
            if req.external_id:  # again under the lock: never wait on another's job row
                existing = repo.job_by_external_id(s, account.id, req.external_id)
                if existing is not None:  # (the lock order in storage/db.py)
                    return _replay(existing, request_hash)
            if status is JobStatus.QUEUED and checked.hit is None:  # over the plan's
                status = admit_new(p, s, account.id, now)  # concurrency: waits as throttled
            job = _new_job(p, account, req, prepared, checked, request_hash, job_id, status, now)
            s.add(job)
            s.flush()
            _record_submit(p, s, job, status, account, prepared.spec, checked.decision, now)
            if status is JobStatus.BLOCKED:
                error = {"code": CONTENT_BLOCKED, "message": job.error_message}
                job = record_final(p, s, job_id, {"error": error}, now)
            elif checked.hit is not None:
                job = record_final(p, s, job_id, {"cache_hit": True, "output": job.output}, now)
            stored = _Stored(job_view(job), status)
    assert stored is not None  # the last try's error propagates
    return stored


def _new_job(
    p: Platform,
    account: AccountRef,
    req: SubmitRequest,
    prepared: Prepared,
    checked: _Checked,
    request_hash: str,
    job_id: str,
    status: JobStatus,
    now: datetime,
) -> Job:
    spec, decision = prepared.spec, checked.decision
    blocked = status is JobStatus.BLOCKED
    job = Job(
        id=job_id,
        account_id=account.id,
        status=str(status),
        mode=str(spec.mode),
        model=spec.model,
        queue=prepared.backend.queue,
        priority=req.priority,
        spec=spec.model_dump(mode="json"),
        spec_hash=request_hash,
        external_id=req.external_id,
        inputs=prepared.inputs,
        attempt=0,
        max_attempts=p.settings.max_attempts,
        cancel_requested=False,
        event_seq=0,
        progress=0.0,
        created_at=now,
        params=with_warnings(prepared.params, prepared.warnings),
        enqueued_at=now if status in (JobStatus.QUEUED, JobStatus.MODERATING) else None,
        finished_at=now if blocked else None,
        error_code=CONTENT_BLOCKED if blocked else None,
        error_message=blocked_message(job_id, decision.categories)
        if blocked and decision
        else None,
        timings=checked.timings or None,
        key_id=account.key_id,
        credits=checked.credits,
        billing="none",
        credits_charged=0,
        cache_key=checked.key,
    )
    if checked.hit is not None:
        _answer_from_cache(job, checked.hit, now)
    return job


def _record_submit(
    p: Platform,
    s: Session,
    job: Job,
    status: JobStatus,
    account: AccountRef,
    spec: JobSpec,
    decision: Decision | None,
    now: datetime,
) -> None:
    """The submitted event, then what the features record beside the new job: the
    moderation port's decision (and hold), the unlabelled export's audit, the recorders."""
    repo.append_event(
        s, job.id, EventType.SUBMITTED, {"status": str(status), "model": spec.model}, now
    )
    if p.moderation is not None and decision is not None:
        p.moderation.record_submit(s, job, account, decision, now)
        if status is JobStatus.REVIEW:
            p.moderation.hold_for_review(
                s, job, stage="submit", categories=decision.categories, now=now
            )
    if not spec.visible_label:
        repo.record_audit(
            s,
            now,
            actor=f"account:{account.id}",
            action="provenance.unlabelled_export",
            account_id=account.id,
            subject=job.id,
            data={"policy": p.policy_version},
        )
    for recorder in p.submit_recorders:
        recorder.on_submit(s, job, now)


def _enqueue(p: Platform, job_id: str, queue: str, priority: int) -> None:
    try:
        p.queue.enqueue(job_id, queue=queue, priority=priority)
    except Exception:  # the job is safe in the database; the reaper enqueues it later
        log.exception("enqueue of %s failed; the reaper will retry", job_id)


def model_hourly_usd(backend: Any) -> float | None:
    """A registered model's own hourly rate, if the operator set one."""
    return getattr(getattr(backend, "model", None), "gpu_hourly_usd", None)


def _answer_from_cache(job: Job, hit: Job, now: datetime) -> None:
    """Fill a new job with a cached job's output: no compute, the same file."""
    job.cached_from = hit.id
    job.output, job.output_blob, job.poster_blob = hit.output, hit.output_blob, hit.poster_blob
    job.has_audio = hit.has_audio
    job.device, job.compute = None, {"cache_hit": True}
    job.started_at = job.finished_at = now
    job.progress, job.stage = 1.0, "done"
    job.moderation = hit.moderation


_FIRST_STATUS = {
    Action.ALLOW: JobStatus.QUEUED,
    Action.REVIEW: JobStatus.REVIEW,
    Action.BLOCK: JobStatus.BLOCKED,
}


def check_unlabelled_export(p: Platform, account: AccountRef) -> None:
    """An export without the visible label needs the policy's leave and the account's
    agreement to label the content itself."""
    allowed = p.moderation is not None and p.moderation.profile.unlabelled_export
    if not allowed:
        raise Forbidden(
            f"the policy in force ({p.policy_version}) requires the visible label on every output",
            code="unlabelled_export_not_allowed",
            field="visible_label",
        )
    with p.db.session(write=False) as s:
        row = s.get(Account, account.id)
        agreed = row is not None and row.unlabelled_duties_at is not None
    if not agreed:
        raise Forbidden(
            "this account has not agreed to the duties of unlabelled export (it "
            "must label the content where it publishes it); an operator records "
            "the agreement with `reelforge provenance allow-unlabelled`",
            code="unlabelled_export_not_agreed",
            field="visible_label",
        )


def extension_source(p: Platform, account: AccountRef, job_id: str) -> str:
    """The output blob of the succeeded job an extension continues."""
    with p.db.session(write=False) as s:
        source = repo.job_for(s, job_id, account.id)
        if source is None:
            raise NotFound(f"no video {job_id}", field="extend_from")
        if source.status != JobStatus.SUCCEEDED or not source.output_blob:
            raise Conflict(
                f"video {job_id} is {source.status}; only a succeeded video can be extended",
                code="job_not_succeeded",
                field="extend_from",
            )
        if source.purged_at is not None:
            raise Conflict(
                f"the output of video {job_id} was removed; it cannot be extended",
                code="content_deleted",
                field="extend_from",
            )
        return source.output_blob


def store_last_frame(
    p: Platform, account: AccountRef, video_blob: str, job_id: str
) -> tuple[str, str]:
    """Save the last frame of a stored video as an upload of the account:
    (upload id, blob key)."""
    with tempfile.TemporaryDirectory(prefix="reelforge-extend-") as tmp:
        local = Path(tmp) / "source.mp4"
        p.blobs.download(video_blob, local)
        frame = last_frame(local)
    data = encode_png(frame)
    upload = create_upload(p, account, data, f"{job_id}-last-frame.png")
    return upload.id, hashlib.sha256(data).hexdigest()


def promote_job(
    p: Platform, account: AccountRef, job_id: str, *, external_id: str | None = None
) -> Submitted:
    """Submit the final version of a draft: same model, prompt, inputs and seed, with the
    model's final settings (steps, size) instead of the draft's."""
    with p.db.session(write=False) as s:
        draft = repo.job_for(s, job_id, account.id)
        if draft is None:
            raise NotFound(f"no video {job_id}")
        spec = JobSpec.model_validate(draft.spec)
        uploads = [
            i.get("upload_id") for i in draft.inputs if i.get("upload_id") and not i.get("extends")
        ]
        priority = draft.priority
    if spec.preset is not Preset.DRAFT:
        raise Conflict(
            f"video {job_id} is not a draft (preset {spec.preset or 'final'}); "
            f"only drafts can be promoted",
            code="not_a_draft",
        )
    fields: dict[str, Any] = {
        "prompt": spec.prompt,
        "negative_prompt": spec.negative_prompt,
        "mode": spec.mode,
        "camera": spec.camera,
        "duration": spec.duration,
        "fps": spec.fps,
        "aspect_ratio": spec.aspect_ratio,
        "resolution": spec.resolution,
        "seed": spec.seed,
        "model": spec.model,
        "frames": spec.frames,
        "width": spec.width,
        "height": spec.height,
        "guidance": spec.guidance,
        "preset": Preset.FINAL,
        "priority": priority % 10,
        "external_id": external_id,
        "callback_url": spec.callback_url,
        "extend_from": spec.extends,
        "label_position": spec.label_position,
        "image_upload_id": uploads[0] if uploads else None,
        "last_image_upload_id": uploads[1] if len(uploads) > 1 else None,
    }
    return submit_job(p, account, SubmitRequest.parse(fields), promoted_from=job_id)
