"""Running one job on a worker: claim → heartbeat → generate → encode → store → finish.

Exactly-once rests on conditional updates: a worker claims `queued → running` (attempt+1)
and may only finish the job while it is still `running` on *its* attempt. If the reaper
handed the job to someone else, this worker's late result is simply not recorded.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.app.ports import FrameHook, OutputRefused, chain_frame_hooks
from reelforge.backends.base import BackendBusy, Clip, GenerationRequest
from reelforge.domain.job import (
    CONTENT_BLOCKED,
    FINALIZE_FAILED,
    FINALIZING,
    EventType,
    JobStatus,
    blocked_message,
)
from reelforge.domain.spec import JobSpec
from reelforge.errors import JobInterrupted, ReelforgeError
from reelforge.governance.signals import Action, Decision
from reelforge.media.audio import add_audio
from reelforge.media.encode import EncodeResult, encode_mp4
from reelforge.media.images import save_jpeg
from reelforge.queue.jobqueue import Outage
from reelforge.services.jobs.extension_sound import extension_sound
from reelforge.services.jobs.finalize import cancel_waiting, record_final
from reelforge.services.jobs.periodic import is_outage
from reelforge.services.jobs.reaper import fail_unfinishable
from reelforge.storage import repositories as repo
from reelforge.storage.blobs import StoredBlob
from reelforge.storage.tables import Job

log = logging.getLogger(__name__)
_FINISH_TRIES = 5  # a dropped database connection: 0.1 + 0.2 + 0.4 + 0.8 s between tries

# Share of overall progress each stage covers: (start, end).
STAGE_SPAN: dict[str, tuple[float, float]] = {
    "load": (0.0, 0.05),
    "prepare": (0.0, 0.05),
    "text_encode": (0.05, 0.1),
    "denoise": (0.1, 0.85),
    "decode": (0.85, 0.92),
    "render": (0.05, 0.97),
    "encode": (0.92, 0.97),
    # hosted providers: waiting on the remote task, downloading, then the platform's pass
    "provider": (0.02, 0.85),
    "download": (0.85, 0.88),
    "frames": (0.88, 0.97),
}


@dataclass(frozen=True)
class RunOutcome:
    job_id: str
    status: str  # succeeded | failed | cancelled | requeued | skipped | lost
    error: str | None = None  # the failure code, when failed


class Heartbeat:
    """Refreshes the job's heartbeat on its own thread (a denoising step can take minutes)
    and learns from the same UPDATE whether the job was cancelled or taken away."""

    def __init__(self, p: Platform, job_id: str, attempt: int):
        self.p, self.job_id, self.attempt = p, job_id, attempt
        self.cancel_requested = threading.Event()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def beat(self) -> None:
        with self.p.db.session() as s:
            ours, cancel = repo.heartbeat(s, self.job_id, self.attempt, self.p.clock())
        if not ours:
            self.lost.set()
        if cancel:
            self.cancel_requested.set()

    def _loop(self) -> None:
        # One line when beats start failing and one when they work again, not one per beat;
        # beats keep their interval (a later one must land before the reaper's timeout).
        outage = Outage(
            f"database (heartbeat of {self.job_id})", log, retry="retrying every heartbeat interval"
        )
        failures = 0
        while not self._stop.wait(self.p.settings.heartbeat_interval):
            try:
                self.beat()
                outage.ok()
                failures = 0
            except Exception as exc:  # a transient DB error must not kill the job
                failures += 1
                outage.failed(exc, failures)


class JobExecutor:
    """Runs jobs for one worker identity. `hand_back` says when to stop mid-job (shutdown)."""

    def __init__(self, p: Platform, worker_id: str, hand_back: Callable[[], bool] = lambda: False):
        self.p = p
        self.worker_id = worker_id
        self.hand_back = hand_back

    # -- claim ----------------------------------------------------------------------------

    def _claim(self, job_id: str) -> Job | None:
        now = self.p.clock()
        for attempt in self.p.db.retrying():  # a deadlock victim claims again at once
            with attempt as s:
                job = repo.claim_job(s, job_id, self.worker_id, now)
                if job is None:
                    return None
                repo.append_event(
                    s,
                    job_id,
                    EventType.STARTED,
                    {"status": "running", "attempt": job.attempt, "worker": self.worker_id},
                    now,
                )
                return job
        return None  # not reached: the last try's error propagates

    def _cancel_requested_waiting(self, job_id: str) -> bool:
        """A waiting job whose cancel was requested is never claimed: end it now."""
        with self.p.db.session() as s:
            return cancel_waiting(
                self.p, s, job_id, self.p.clock(), by="user", only_if_requested=True
            )

    def run(self, job_id: str) -> RunOutcome:
        job = self._claim(job_id)
        if job is None:
            if self._cancel_requested_waiting(job_id):
                log.info(
                    "job.end job=%s status=cancelled worker=%s reason=cancel_requested",
                    job_id,
                    self.worker_id,
                )
                return RunOutcome(job_id, "cancelled")
            return RunOutcome(job_id, "skipped")
        # One structured line when a job starts and one when it ends: a job's life on this
        # worker can be read from the log alone (grep its id).
        log.info(
            "job.start job=%s account=%s status=running queue=%s model=%s attempt=%d worker=%s",
            job.id,
            job.account_id,
            job.queue,
            job.model,
            job.attempt,
            self.worker_id,
        )
        started = time.perf_counter()
        outcome = self._run_claimed(job)
        log.info(
            "job.end job=%s status=%s account=%s seconds=%.2f attempt=%d worker=%s%s",
            job.id,
            outcome.status,
            job.account_id,
            time.perf_counter() - started,
            job.attempt,
            self.worker_id,
            f" code={outcome.error}" if outcome.error else "",
        )
        return outcome

    def _run_claimed(self, job: Job) -> RunOutcome:
        job_id = job.id
        if job.attempt > job.max_attempts:
            self._finish(
                job,
                JobStatus.FAILED,
                code="worker_lost",
                message=f"the job was interrupted {job.max_attempts} times; giving up",
            )
            return RunOutcome(job_id, "failed")
        workdir = Path(tempfile.mkdtemp(prefix=f"reelforge-{job_id}-"))
        try:
            with Heartbeat(self.p, job_id, job.attempt) as hb:
                return self._execute(job, hb, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            if self.p.moderation is not None:
                self.p.moderation.forget(job_id)

    # -- execute --------------------------------------------------------------------------

    def _execute(self, job: Job, hb: Heartbeat, workdir: Path) -> RunOutcome:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        progress = _ProgressWriter(self.p, job, hb, self.hand_back)
        try:
            return self._produce(job, workdir, progress, timings, started)
        except Exception as exc:
            try:
                return self._failed(job, exc, timings, started)
            except DBAPIError as db_exc:
                return self._unrecordable(job, db_exc)

    def _unrecordable(self, job: Job, exc: DBAPIError) -> RunOutcome:
        """The job's final status could not be written. An outage (connection lost, the
        database locked or away) leaves it to the reaper, which runs it again; an error of
        this job's own rows (PostgreSQL refusing a NUL in its stored callback_url, say) would
        only recur on every attempt, so the job is failed now with FINALIZE_FAILED, its
        credits released and no webhook (reaper.fail_unfinishable), and is never rendered
        again."""
        if exc.connection_invalidated or is_outage(exc):
            raise exc
        if not fail_unfinishable(self.p, job.id, exc):
            raise exc  # the fallback failed too (logged): the reaper's turn
        return RunOutcome(job.id, "failed", FINALIZE_FAILED)

    def _produce(
        self,
        job: Job,
        workdir: Path,
        progress: _ProgressWriter,
        timings: dict[str, float],
        started: float,
    ) -> RunOutcome:
        """Generate, encode (through the frame filters), run the output steps, store, and
        record the outcome; `timings` fills as it goes (a failure records what it has)."""
        spec = JobSpec.model_validate(job.spec)
        backend = self.p.backends.get(spec.model)
        if backend is None:
            raise ReelforgeError(
                f"this worker does not serve model {spec.model!r}", code="model_unavailable"
            )
        inputs = self._fetch_inputs(spec, workdir, timings)
        clip = backend.generate(GenerationRequest(job.id, spec, tuple(inputs), workdir), progress)
        video_path, poster_path = workdir / "output.mp4", workdir / "poster.jpg"
        encoded, poster = self._encode(job, spec, clip, video_path)
        # the model's sound beside the marked frames; an extension of a clip with sound and
        # none of its own: a silent track in that clip's format (services.jobs.extension_sound)
        sound = clip.audio or extension_sound(self.p, spec, workdir)
        if sound is not None:
            video_path = add_audio(
                video_path,
                sound,
                workdir / "output.audio.mp4",
                duration=encoded.frames / clip.fps,
                frame_seconds=1 / clip.fps,
                silent=clip.audio is None,
            ).path
            clip.audio = sound
        progress.check()
        self._enter_finalizing(job)  # from here on a cancel answers 409 too_late
        video_path, refused = self._output_steps(job, spec, video_path, workdir, progress, timings)
        timings.update({k: round(v, 4) for k, v in clip.timings.items()})
        timings["encode"] = encoded.encode_seconds
        t0 = time.perf_counter()
        if poster:
            save_jpeg(poster[0], poster_path)
        video_blob = self.p.blobs.put_file(video_path, "video/mp4")
        poster_blob = (
            self.p.blobs.put_file(poster_path, "image/jpeg") if poster_path.exists() else None
        )
        timings["store"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - started
        status = JobStatus.SUCCEEDED
        if refused is not None:
            status = JobStatus.BLOCKED if refused.decision is Action.BLOCK else JobStatus.REVIEW
        won = self._finish(
            job,
            status,
            video=video_blob,
            poster=poster_blob,
            output=_output(encoded, clip, video_blob),
            timings=timings,
            device=clip.device,
            compute={"device": clip.device, **clip.compute},
            refused=refused,
        )
        return RunOutcome(job.id, str(status) if won else "lost")

    def _fetch_inputs(self, spec: JobSpec, workdir: Path, timings: dict[str, float]) -> list[Path]:
        t0 = time.perf_counter()
        inputs = []
        for i, key in enumerate(spec.images):
            dest = workdir / f"input-{i}"
            self.p.blobs.download(key, dest)
            inputs.append(dest)
        timings["fetch_inputs"] = time.perf_counter() - t0
        return inputs

    def _encode(
        self, job: Job, spec: JobSpec, clip: Clip, video_path: Path
    ) -> tuple[EncodeResult, list[np.ndarray]]:
        """Encode the clip's frames through the frame filters' hooks, with the output
        metadata's tags; also (the last hook) the middle frame for the poster."""
        poster_index = clip.frame_count // 2
        poster: list[np.ndarray] = []

        def grab_poster(index: int, frame: np.ndarray) -> None:
            if index == poster_index:
                poster.append(frame)

        hooks: list[FrameHook] = []
        for factory in self.p.frame_filters:
            hook = factory.for_job(job, spec, clip.width, clip.height, clip.fps)
            if hook is not None:
                hooks.append(hook)
        hooks.append(grab_poster)  # last: the poster shows what the video shows
        tags: dict[str, str] = {}
        for provider in self.p.output_metadata:
            tags.update(provider.tags(job, spec))
        encoded = encode_mp4(
            clip.frames,
            video_path,
            fps=clip.fps,
            crf=self.p.settings.encode_crf,
            preset=self.p.settings.encode_preset,
            on_frame=chain_frame_hooks(hooks),
            metadata=tags,
        )
        return encoded, poster

    def _output_steps(
        self,
        job: Job,
        spec: JobSpec,
        video_path: Path,
        workdir: Path,
        progress: _ProgressWriter,
        timings: dict[str, float],
    ) -> tuple[Path, Decision | None]:
        """The output steps in turn (each timed): the final file, and the decision of a
        step that refused it."""
        refused: Decision | None = None
        for step in self.p.output_steps:
            t0 = time.perf_counter()
            try:
                video_path = step.process(job, spec, video_path, workdir)
            except OutputRefused as exc:  # kept, but held for review or never released;
                refused = exc.decision  # the later steps still run (a held file is
                # released as it is, signed and labelled, if a reviewer approves it)
            name = f"output_{type(step).__name__.lower()}"
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
            progress.check()
        return video_path, refused

    def _failed(
        self, job: Job, exc: Exception, timings: dict[str, float], started: float
    ) -> RunOutcome:
        """What an error while running means: interrupted (cancel, lost, shutdown), a
        failure with its code, a lost database (the reaper runs it again), or a bug."""
        if isinstance(exc, JobInterrupted):
            return self._interrupted(job, exc.reason, timings, started)
        if isinstance(exc, BackendBusy):
            return self._busy(job, exc)
        if isinstance(exc, ReelforgeError):
            self._finish(
                job,
                JobStatus.FAILED,
                code=exc.code,
                message=exc.message,
                timings=_close(timings, started),
            )
            return RunOutcome(job.id, "failed", exc.code)
        if isinstance(exc, DBAPIError):
            if not exc.connection_invalidated:
                raise exc
            # The database went away (restart, failover, a dropped connection): not the job's
            # fault. Record nothing; its heartbeat stops and the reaper runs it again.
            log.warning(
                "job %s: the database connection was lost (%s); the reaper will run it again",
                job.id,
                type(exc.orig).__name__,
            )
            return RunOutcome(job.id, "lost")
        log.exception("job %s failed unexpectedly", job.id)
        self._finish(
            job,
            JobStatus.FAILED,
            code="internal_error",
            message=f"generation failed with an internal error; operators can "
            f"find the details in the worker log under job {job.id}",
            timings=_close(timings, started),
        )
        return RunOutcome(job.id, "failed", "internal_error")

    def _enter_finalizing(self, job: Job) -> None:
        """Mark the job `finalizing` unless a cancel was requested (the database says, not
        the last heartbeat): a cancel either landed before this (the job ends cancelled)
        or is refused after it (jobs.cancel_job) — never both."""
        with self.p.db.session() as s:
            marked = s.execute(
                update(Job)
                .where(
                    Job.id == job.id,
                    Job.attempt == job.attempt,
                    Job.status == str(JobStatus.RUNNING),
                    Job.cancel_requested.is_(False),
                )
                .values(stage=FINALIZING)
            )
            if marked.rowcount == 1:  # type: ignore[attr-defined]
                repo.append_event(
                    s,
                    job.id,
                    EventType.PROGRESS,
                    {"stage": FINALIZING, "done": 0, "total": 1, "progress": 0.97},
                    self.p.clock(),
                )
                return
            now = repo.job_for(s, job.id, None)
        ours = (
            now is not None and now.status == str(JobStatus.RUNNING) and now.attempt == job.attempt
        )
        raise JobInterrupted("cancelled" if ours else "lost")

    def _interrupted(
        self, job: Job, reason: str, timings: dict[str, float], started: float
    ) -> RunOutcome:
        if reason == "lost":
            return RunOutcome(job.id, "lost")
        if reason == "cancelled":
            won = self._finish(job, JobStatus.CANCELLED, timings=_close(timings, started))
            return RunOutcome(job.id, "cancelled" if won else "lost")
        # shutdown: hand the job back to the queue ...
        won = self._hand_back(job, {"reason": "worker_shutdown"}, progress=0.0, stage=None)
        if won:
            self.p.queue.enqueue(job.id, queue=job.queue, priority=job.priority)
            return RunOutcome(job.id, "requeued")
        # ... unless its cancel was requested (a cancel racing SIGTERM, not yet seen by a
        # heartbeat): no worker would ever claim it again, so it ends here, cancelled.
        won = self._finish(job, JobStatus.CANCELLED, timings=_close(timings, started))
        return RunOutcome(job.id, "cancelled" if won else "lost")

    def _hand_back(self, job: Job, event: dict[str, Any], **values: Any) -> bool:
        """running -> queued for this attempt unless a cancel was requested, with a
        `requeued` event carrying `event`; whether this worker won the transition."""
        now = self.p.clock()
        with self.p.db.session() as s:
            won = repo.transition(
                s,
                job.id,
                JobStatus.QUEUED,
                attempt=job.attempt,
                extra_where=[Job.status == "running", Job.cancel_requested.is_(False)],
                worker_id=None,
                heartbeat_at=None,
                enqueued_at=now,
                **values,
            )
            if won:
                repo.append_event(s, job.id, EventType.REQUEUED, {"status": "queued", **event}, now)
        return won

    def _busy(self, job: Job, exc: BackendBusy) -> RunOutcome:
        """The backend cannot take the job now (a provider's concurrency limit): back to
        `queued` without using up an attempt, and on the queue again after `retry_after`."""
        won = self._hand_back(
            job,
            {
                "reason": "backend_busy",
                "message": exc.message,
                "retry_after": round(exc.retry_after, 3),
            },
            stage="waiting_for_provider",
            max_attempts=job.max_attempts + 1,
        )
        if not won:  # cancelled meanwhile, or no longer ours
            won = self._finish(job, JobStatus.CANCELLED, timings={})
            return RunOutcome(job.id, "cancelled" if won else "lost")
        log.info("job %s: %s; queued again in %.1f s", job.id, exc.message, exc.retry_after)
        timer = threading.Timer(exc.retry_after, self._enqueue_later, args=(job,))
        timer.daemon = True  # a worker that exits first leaves it to the reaper's requeue
        timer.start()
        return RunOutcome(job.id, "requeued")

    def _enqueue_later(self, job: Job) -> None:
        try:
            self.p.queue.enqueue(job.id, queue=job.queue, priority=job.priority)
        except Exception:  # a closed or unreachable queue: the reaper enqueues it later
            log.warning("job %s: re-enqueue failed; the reaper will enqueue it", job.id)

    # -- finish ---------------------------------------------------------------------------

    def _finish(
        self,
        job: Job,
        status: JobStatus,
        *,
        code: str | None = None,
        message: str | None = None,
        video: StoredBlob | None = None,
        poster: StoredBlob | None = None,
        output: dict[str, Any] | None = None,
        timings: dict[str, float] | None = None,
        device: str | None = None,
        compute: dict[str, Any] | None = None,
        refused: Decision | None = None,
    ) -> bool:
        """Record a final status if this attempt still owns the job. Returns whether it did."""
        now = self.p.clock()
        if status is JobStatus.BLOCKED and refused is not None:
            code, message = CONTENT_BLOCKED, blocked_message(job.id, refused.categories)
        for n in range(_FINISH_TRIES):
            try:
                return self._record_final(
                    job,
                    status,
                    now,
                    code,
                    message,
                    video,
                    poster,
                    output,
                    timings,
                    device,
                    compute,
                    refused,
                )
            except _NotOurs:
                return False
            except DBAPIError as exc:
                # A dropped connection (pg_terminate_backend, a restart, a failover): record
                # again on a fresh one. Safe even if the lost COMMIT went through: the record
                # is conditional on this attempt still running, so a second one finds it done.
                if not exc.connection_invalidated or n == _FINISH_TRIES - 1:
                    raise
                log.warning(
                    "job %s: the database connection dropped while recording %s; recording again",
                    job.id,
                    status,
                )
                time.sleep(0.1 * 2**n)
        return False  # not reached: the last try's error propagates

    def _record_final(
        self,
        job: Job,
        status: JobStatus,
        now: datetime,
        code: str | None,
        message: str | None,
        video: StoredBlob | None,
        poster: StoredBlob | None,
        output: dict[str, Any] | None,
        timings: dict[str, float] | None,
        device: str | None,
        compute: dict[str, Any] | None,
        refused: Decision | None,
    ) -> bool:
        for attempt in self.p.db.retrying():  # a deadlock victim records again at once
            with attempt as s:
                return self._record_final_in(
                    s,
                    job,
                    status,
                    now,
                    code,
                    message,
                    video,
                    poster,
                    output,
                    timings,
                    device,
                    compute,
                    refused,
                )
        return False  # not reached: the last try's error propagates

    def _record_final_in(
        self,
        s: Session,
        job: Job,
        status: JobStatus,
        now: datetime,
        code: str | None,
        message: str | None,
        video: StoredBlob | None,
        poster: StoredBlob | None,
        output: dict[str, Any] | None,
        timings: dict[str, float] | None,
        device: str | None,
        compute: dict[str, Any] | None,
        refused: Decision | None,
    ) -> bool:
        for blob in (video, poster):
            if blob is not None:
                repo.register_blob(s, blob, now)
        values: dict[str, Any] = {
            "finished_at": now,
            "heartbeat_at": now,
            "error_code": code,
            "error_message": message,
        }
        if status is JobStatus.REVIEW:
            values["finished_at"] = None  # not over: a reviewer decides
        if video is not None:  # succeeded, or held/blocked: kept, released only if approved
            values.update(
                progress=1.0,
                stage="done",
                output=output,
                output_blob=video.key if video else None,
                poster_blob=poster.key if poster else None,
                has_audio=bool(output and output.get("has_audio")),
            )
        if timings is not None:  # beside what submit measured (moderation_submit)
            values["timings"] = {
                **(job.timings or {}),
                **{k: round(v, 4) for k, v in timings.items()},
            }
        if device is not None:
            values["device"] = device
        if compute is not None:
            values["compute"] = compute
        won = repo.transition(
            s, job.id, status, attempt=job.attempt, extra_where=[Job.status == "running"], **values
        )
        if not won:
            raise _NotOurs  # rolls back the blob rows too
        moderation = self.p.moderation
        if refused is not None and moderation is not None:
            refreshed = repo.job_for(s, job.id, None)
            assert refreshed is not None
            moderation.record_output(s, refreshed, refused, now)
            if status is JobStatus.REVIEW:
                moderation.hold_for_review(
                    s, refreshed, stage="output", categories=refused.categories, now=now
                )
                return True
        data: dict[str, Any] = {}
        if code:
            data["error"] = {"code": code, "message": message}
        if output:
            data["output"] = output
        record_final(self.p, s, job.id, data, now)
        return True


class _NotOurs(Exception):
    """This attempt no longer owns the job (reaped, cancelled or finished elsewhere)."""


def _close(timings: dict[str, float], started: float) -> dict[str, float]:
    return {**timings, "total": time.perf_counter() - started}


def _output(encoded: EncodeResult, clip: Clip, video: StoredBlob) -> dict[str, Any]:
    """The job's public `output`: what the stored file is."""
    return {
        "width": encoded.width,
        "height": encoded.height,
        "frames": encoded.frames,
        "fps": clip.fps,
        "duration": round(encoded.frames / clip.fps, 4),
        "size_bytes": video.size_bytes,
        "has_audio": clip.audio is not None,
    }


class _ProgressWriter:
    """The `on_progress` callable handed to backends: records progress (throttled) and
    raises JobInterrupted when the job was cancelled, taken away, or must be handed back."""

    def __init__(self, p: Platform, job: Job, hb: Heartbeat, hand_back: Callable[[], bool]):
        self.p, self.job, self.hb, self.hand_back = p, job, hb, hand_back
        self._last_write = 0.0
        self._last_stage: str | None = None

    def check(self) -> None:
        if self.hb.lost.is_set():
            raise JobInterrupted("lost")
        if self.hb.cancel_requested.is_set():
            raise JobInterrupted("cancelled")
        if self.hand_back():
            raise JobInterrupted("shutdown")

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.check()
        now_mono = time.monotonic()
        stage_changed = stage != self._last_stage
        if not (
            stage_changed
            or done >= total
            or now_mono - self._last_write >= self.p.settings.progress_interval
        ):
            return
        self._last_write, self._last_stage = now_mono, stage
        lo, hi = STAGE_SPAN.get(stage, (0.0, 1.0))
        fraction = lo + (hi - lo) * (done / total if total else 1.0)
        now = self.p.clock()
        with self.p.db.session() as s:
            if not repo.set_progress(s, self.job.id, self.job.attempt, fraction, stage):
                self.hb.lost.set()
            else:
                repo.append_event(
                    s,
                    self.job.id,
                    EventType.PROGRESS,
                    {"stage": stage, "done": done, "total": total, "progress": round(fraction, 4)},
                    now,
                )
        self.check()
