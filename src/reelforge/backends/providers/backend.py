"""`ProviderBackend`: the GenerationBackend for one registered hosted model.

The lifecycle, the same for every provider:

1. submit (`check`): the provider module maps the spec to its parameters or refuses it with a
   4xx naming what the model supports: no network, nothing written;
2. worker: take a concurrency slot of the provider (RF_PROVIDER_CONCURRENCY; none free: the
   job goes back to `queued`, it does not fail), write the checkpoint (state creating), create
   the remote task, write its id (state submitted) — all before waiting on it;
3. wait: poll with jitter (or wake on the provider's callback), back off on throttling and
   5xx, check for cancel between polls (a cancel cancels the remote task where the API can);
4. download (size-capped), check that it decodes, and hand its frames to the platform, which
   runs the frame checks, draws the label, embeds the watermark, encodes and signs, as for
   every job.

A worker killed at any point is followed by one that finds the checkpoint and resumes the same
remote task (or, killed during the create call, looks it up by our job id where the API can).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np

from reelforge.backends.base import (
    SOURCE_FILE,
    BackendBusy,
    Clip,
    GenerationRequest,
    ProgressFn,
)
from reelforge.backends.providers.base import (
    Capabilities,
    Credentials,
    Provider,
    ProviderApiLike,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
    RemoteStatus,
    TaskRequest,
)
from reelforge.backends.providers.http import (
    AmbiguousRequest,
    ProviderApi,
    Redactor,
    clean_text,
)
from reelforge.config import Settings
from reelforge.domain.clock import Clock, system_clock
from reelforge.domain.spec import JobSpec
from reelforge.errors import BackendError, InvalidRequest, JobInterrupted, ReelforgeError
from reelforge.media.probe import VideoInfo, probe_video
from reelforge.storage import provider_tasks as checkpoint
from reelforge.storage.db import Database
from reelforge.storage.tables import Job

log = logging.getLogger(__name__)

QUEUE = "providers"
CHECK_EVERY = 0.25  # seconds between cancel checks while waiting
CALLBACK_EVERY = 1.0  # seconds between reads of the checkpoint's callback mark
MAX_FAILURE_CHARS = 1000  # a provider's failure text, as the job's error message holds it
MAX_FAILURE_CODE_CHARS = 100  # a provider's failure code


@dataclass(frozen=True)
class ProviderModelConfig:
    """A registered provider model (storage.provider_tables.ProviderModel)."""

    name: str
    provider: str
    remote_model: str
    prices: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "provider": self.provider,
            "remote_model": self.remote_model,
            "price_file": self.prices is not None,
        }


@dataclass(frozen=True)
class ProviderCost:
    """What the provider charges for one clip, from the dated price sheet."""

    usd: float
    usd_per_second: float
    seconds: float
    sheet: str  # the sheet's version or the model's own price file
    source: str  # where the price was published


Pricer = Callable[[ProviderModelConfig, JobSpec, float], ProviderCost | None]
"""(model, spec, billed seconds) -> the provider's cost, or None when the sheet has no price."""


@dataclass
class ProviderRuntime:
    """What every provider backend of one process shares."""

    db: Database
    settings: Settings
    clock: Clock = system_clock
    pricer: Pricer = lambda model, spec, seconds: None
    # (provider, job_id) -> the callback URL to give the provider, or None (polling only)
    callback_url: Callable[[str, str], str | None] = lambda provider, job_id: None
    transport: httpx.BaseTransport | None = None  # tests and benches
    on_request: Callable[[str, str, float], None] | None = None  # request timings (bench)
    sleep: Callable[[float], None] = field(default=time.sleep)
    first_backoff: float = 0.5  # seconds before the first retry of a request (doubling)

    def base_url(self, provider: str) -> str:
        return str(getattr(self.settings, f"provider_{provider}_base_url"))

    def concurrency(self, provider: str) -> int | None:
        value = self.settings.provider_concurrency.get(provider)
        return int(value) if value not in (None, "") else None


class ProviderBackend:
    queue = QUEUE
    default_fps = 24

    def __init__(self, config: ProviderModelConfig, provider: Provider, runtime: ProviderRuntime):
        self.config = config
        self.provider = provider
        self.runtime = runtime
        self.name = config.name

    # -- submit ---------------------------------------------------------------------------

    def check(self, spec: JobSpec) -> None:
        self.provider.build(spec, self.config.remote_model)

    def parameters(self, spec: JobSpec) -> dict[str, Any]:
        """What is sent (recorded on the job): the provider, its model and mapped parameters."""
        params = self.provider.build(spec, self.config.remote_model)
        return {
            "provider": self.provider.name,
            "remote_model": self.config.remote_model,
            "request": params,
            "duration": spec.duration,
            "aspect_ratio": str(spec.aspect_ratio),
            "resolution": str(spec.resolution),
        }

    def cache_identity(self) -> dict[str, Any]:
        return {"backend": "provider", **self.config.to_dict()}

    def estimated_cost(self, spec: JobSpec) -> ProviderCost | None:
        """The provider's price for `spec` (quotes)."""
        return self.runtime.pricer(self.config, spec, spec.duration)

    # -- worker ---------------------------------------------------------------------------

    def credentials(self) -> Credentials:
        values: dict[str, str] = {}
        missing = []
        for setting in self.provider.credential_settings:
            secret = getattr(self.runtime.settings, setting, None)
            value = secret.get_secret_value() if secret is not None else ""
            if not value:
                missing.append(f"RF_{setting.upper()}")
            values[setting] = value
        if missing:
            raise BackendError(
                f"model {self.name!r} runs on {self.provider.name}, and this worker has no "
                f"credentials for it: set {', '.join(missing)}",
                code="provider_not_configured",
            )
        return Credentials(values)

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        run = _Run(self, request, on_progress)
        return run.execute()


class _Run:
    """One worker attempt at one provider job."""

    def __init__(
        self, backend: ProviderBackend, request: GenerationRequest, on_progress: ProgressFn
    ):
        self.b = backend
        self.provider = backend.provider
        self.rt = backend.runtime
        self.settings = backend.runtime.settings
        self.request = request
        self.spec = request.spec
        self.job_id = request.job_id
        self.on_progress = on_progress
        # check for cancel/hand-back without writing a progress event (the executor's writer
        # has `check`; any other callable is asked with a progress call)
        self.check: Callable[[], None] = getattr(
            on_progress, "check", lambda: on_progress("provider", 0, 100)
        )
        self.timings: dict[str, float] = {}

    def now(self) -> datetime:
        return self.rt.clock()

    def wait(self, seconds: float, *, wake: Callable[[], bool] | None = None) -> None:
        """Sleep `seconds`, checking for cancel every CHECK_EVERY (and `wake` every
        CALLBACK_EVERY: a callback arrived)."""
        end = time.monotonic() + seconds
        next_wake = time.monotonic() + CALLBACK_EVERY
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            if wake is not None and time.monotonic() >= next_wake:
                if wake():
                    return
                next_wake = time.monotonic() + CALLBACK_EVERY
            self.rt.sleep(min(CHECK_EVERY, left))

    def execute(self) -> Clip:
        creds = self.b.credentials()
        redact = Redactor(creds.secrets())
        # every error and failure text a provider module hands back passes the redactor
        # before it is logged, checkpointed or recorded on the job (a 2xx body quoting the key
        # never passes the client's error path)
        self.provider = Redacting(self.b.provider, redact)
        try:
            return self._execute(creds, redact)
        except ReelforgeError as exc:
            redact.error(exc)
            raise

    def _execute(self, creds: Credentials, redact: Redactor) -> Clip:
        started = time.perf_counter()
        params = self.provider.build(self.spec, self.b.config.remote_model)
        self.on_progress("provider", 0, 100)
        api = ProviderApi(
            self.provider.name,
            self.rt.base_url(self.provider.name),
            auth=lambda: _registered(redact, self.provider.auth_headers(creds.values)),
            redact=redact,
            error_for=self.provider.error_for,
            timeout=self.settings.provider_request_timeout,
            wait=self.wait,
            transport=self.rt.transport,
            on_request=self.rt.on_request,
            first_backoff=self.rt.first_backoff,
        )
        with api:
            task_id, resumed = self._task(api, params)
            self.timings["provider_submit"] = time.perf_counter() - started
            try:
                status = self._await(api, task_id, params)
                video, info = self._download(api, status, params)
            except JobInterrupted as exc:
                if exc.reason == "cancelled":
                    self._cancel_remote(api, task_id, params)
                raise
        return self._clip(video, info, task_id, status, resumed)

    # -- create (or resume) ---------------------------------------------------------------

    def _attempt(self) -> int:
        with self.rt.db.session(write=False) as s:
            job = s.get(Job, self.job_id)
            return int(job.attempt) if job is not None else 0

    def _task(self, api: ProviderApi, params: dict[str, Any]) -> tuple[str, bool]:
        """(remote task id, resumed): the checkpoint's task, else a new one."""
        attempt = self._attempt()
        name, remote = self.provider.name, self.b.config.remote_model
        with self.rt.db.session() as s:
            row = checkpoint.get(s, self.job_id)
            known = row.task_id if row is not None else None
            state = row.state if row is not None else None
            if known and state in (*checkpoint.ACTIVE_STATES, "succeeded"):
                checkpoint.set_state(s, self.job_id, state, self.now(), attempt=attempt)
        if known and state in (*checkpoint.ACTIVE_STATES, "succeeded"):
            log.info(
                "provider.resume job=%s provider=%s task=%s attempt=%d",
                self.job_id,
                name,
                known,
                attempt,
            )
            return known, True
        if state == "creating":  # a worker died during the create call: did it land?
            try:
                found = self.provider.find(api, self.job_id, remote)
            except ProviderUnavailable as exc:  # ask again later rather than create blindly
                raise BackendBusy(
                    exc.message, retry_after=self.settings.provider_busy_retry
                ) from None
            if found:
                self._created(found, attempt)
                log.info("provider.found job=%s provider=%s task=%s", self.job_id, name, found)
                return found, True
        limit = self.rt.concurrency(name)
        with self.rt.db.session() as s:
            checkpoint.lock_provider(s, name)
            if limit is not None:
                active = checkpoint.active_count(s, name, except_job=self.job_id)
                if active >= limit:
                    raise BackendBusy(
                        f"{name} runs {active} of this deployment's {limit} tasks at once "
                        f"(RF_PROVIDER_CONCURRENCY); the job waits its turn",
                        retry_after=self.settings.provider_busy_retry,
                    )
            checkpoint.start_create(s, self.job_id, name, remote, attempt, self.now())
        task = TaskRequest(
            job_id=self.job_id,
            remote_model=remote,
            params=params,
            images=self.request.input_paths,
            callback_url=self.rt.callback_url(name, self.job_id),
        )
        try:
            task_id = self.provider.create(api, task)
        except ProviderThrottled as exc:
            with self.rt.db.session() as s:
                checkpoint.release_slot(s, self.job_id, self.now())
            raise BackendBusy(
                exc.message, retry_after=exc.retry_after or self.settings.provider_busy_retry
            ) from None
        except AmbiguousRequest as exc:
            found = self.provider.find(api, self.job_id, remote)
            if not found:  # state stays `creating`: the next attempt looks again first
                raise BackendBusy(
                    exc.message, retry_after=self.settings.provider_busy_retry
                ) from None
            task_id = found
        except BackendError as exc:
            with self.rt.db.session() as s:
                checkpoint.set_state(s, self.job_id, "failed", self.now(), detail=exc.message)
            raise
        self._created(task_id, attempt)
        log.info(
            "provider.created job=%s provider=%s model=%s task=%s",
            self.job_id,
            name,
            remote,
            task_id,
        )
        return task_id, False

    def _created(self, task_id: str, attempt: int) -> None:
        with self.rt.db.session() as s:
            checkpoint.set_state(
                s, self.job_id, "submitted", self.now(), task_id=task_id, attempt=attempt
            )

    # -- wait -----------------------------------------------------------------------------

    def _await(self, api: ProviderApi, task_id: str, params: dict[str, Any]) -> RemoteStatus:
        interval = self.settings.provider_poll_interval
        # the timeout counts from the task's creation, across attempts (a resumed wait does not
        # start the clock again)
        deadline = time.monotonic() + self.settings.provider_timeout - self._task_age()
        started = time.perf_counter()
        with self.rt.db.session(write=False) as s:
            seen_callback = checkpoint.callback_at(s, self.job_id)

        def callback_arrived() -> bool:
            nonlocal seen_callback
            with self.rt.db.session(write=False) as s:
                mark = checkpoint.callback_at(s, self.job_id)
            if mark is not None and mark != seen_callback:
                seen_callback = mark
                return True
            return False

        while True:
            self.check()
            try:
                status = self.provider.status(api, task_id, params)
            except ProviderThrottled as exc:
                self.wait(exc.retry_after or 2 * interval)
                continue
            except ProviderUnavailable as exc:  # its retries are spent; the task lives on
                if time.monotonic() > deadline:
                    raise
                log.warning("provider.poll_failed job=%s %s", self.job_id, exc.message)
                self.wait(interval)
                continue
            state = {"queued": "submitted", "running": "running"}.get(status.state, status.state)
            with self.rt.db.session() as s:
                checkpoint.set_state(
                    s,
                    self.job_id,
                    state,
                    self.now(),
                    polled=True,
                    detail=status.error if status.state == "failed" else None,
                )
            if status.state == "succeeded":
                self.timings["provider_wait"] = time.perf_counter() - started
                return status
            if status.state in ("failed", "cancelled"):
                raise ProviderError(
                    f"{self.provider.name} {'failed' if status.state == 'failed' else 'cancelled'}"
                    f" the task: {status.error or 'no reason given'}"
                    + (f" ({status.error_code})" if status.error_code else ""),
                    code="provider_failed" if status.state == "failed" else "provider_cancelled",
                )
            progress = status.progress
            if progress is None:  # no figure from the provider: time against the timeout
                progress = min(0.95, (time.perf_counter() - started) / max(1.0, 30 * interval))
            self.on_progress("provider", int(progress * 100), 100)
            if time.monotonic() > deadline:
                self._cancel_remote(api, task_id, params)
                raise ProviderError(
                    f"{self.provider.name} did not finish the task in "
                    f"{self.settings.provider_timeout:g} s (RF_PROVIDER_TIMEOUT)",
                    code="provider_timeout",
                )
            self.wait(interval * random.uniform(0.8, 1.2), wake=callback_arrived)

    def _task_age(self) -> float:
        """Seconds since the remote task was first created (0 without a checkpoint)."""
        with self.rt.db.session(write=False) as s:
            row = checkpoint.get(s, self.job_id)
            created = row.created_at if row is not None else self.now()
        return max(0.0, (self.now() - created).total_seconds())

    def _cancel_remote(self, api: ProviderApi, task_id: str, params: dict[str, Any]) -> None:
        if self.provider.cancellable:
            try:
                self.provider.cancel(api, task_id, params)
            except (BackendError, JobInterrupted) as exc:  # best effort: the job ends anyway
                log.warning("provider.cancel_failed job=%s %s", self.job_id, exc)
        with self.rt.db.session() as s:
            checkpoint.set_state(s, self.job_id, "cancelled", self.now())
        log.info(
            "provider.cancelled job=%s provider=%s task=%s remote=%s",
            self.job_id,
            self.provider.name,
            task_id,
            self.provider.cancellable,
        )

    # -- download -------------------------------------------------------------------------

    def _download(
        self, api: ProviderApi, status: RemoteStatus, params: dict[str, Any]
    ) -> tuple[Path, VideoInfo]:
        started = time.perf_counter()
        self.on_progress("download", 0, 1)
        url, authenticated = self.provider.download_request(status, params)
        dest = self.request.workdir / SOURCE_FILE  # output steps keep its C2PA manifest
        while True:
            try:
                api.download(
                    url,
                    dest,
                    max_bytes=self.settings.provider_max_download_bytes,
                    authenticated=authenticated,
                    check=self.check,
                )
                break
            except ProviderThrottled as exc:
                self.wait(exc.retry_after or self.settings.provider_poll_interval)
            except ProviderUnavailable as exc:
                # the task is done and paid for: try the download again later (a later attempt
                # resumes the same task), until the task is older than RF_PROVIDER_TIMEOUT
                if self._task_age() > self.settings.provider_timeout:
                    raise
                raise BackendBusy(
                    exc.message, retry_after=self.settings.provider_busy_retry
                ) from None
        self.timings["download"] = time.perf_counter() - started
        started = time.perf_counter()
        try:
            info = probe_video(dest)  # decodes every frame: a truncated file is caught here
        except InvalidRequest as exc:
            raise ProviderError(
                f"{self.provider.name} returned a result that is not a playable video: "
                f"{api.redact(exc.message)}",
                code="provider_invalid_output",
            ) from None
        if info.frames < 1 or info.width < 2 or info.height < 2:
            raise ProviderError(
                f"{self.provider.name} returned a video without frames",
                code="provider_invalid_output",
            )
        limit = self.settings.max_verify_pixels
        if info.width * info.height > limit:
            raise ProviderError(
                f"{self.provider.name} returned {info.width}x{info.height} frames; the limit is "
                f"{limit} pixels (RF_MAX_VERIFY_PIXELS)",
                code="provider_invalid_output",
            )
        self.timings["check_output"] = time.perf_counter() - started
        self.on_progress("download", 1, 1)
        return dest, info

    # -- hand over ------------------------------------------------------------------------

    def _clip(
        self, video: Path, info: VideoInfo, task_id: str, status: RemoteStatus, resumed: bool
    ) -> Clip:
        fps = max(1, round(info.fps)) if info.fps else self.b.default_fps
        width, height, count = info.width // 2 * 2, info.height // 2 * 2, info.frames
        seconds = status.duration or self.spec.duration
        cost = self.rt.pricer(self.b.config, self.spec, seconds)
        compute: dict[str, Any] = {
            "provider": self.provider.name,
            "remote_model": self.b.config.remote_model,
            "provider_task_id": task_id,
            "provider_resumed": resumed,
            "provider_seconds": seconds,
        }
        if cost is not None:
            compute.update(
                provider_cost_usd=round(cost.usd, 6),
                provider_usd_per_second=cost.usd_per_second,
                provider_price_sheet=cost.sheet,
                provider_price_source=cost.source,
            )
            with self.rt.db.session() as s:
                checkpoint.set_state(s, self.job_id, "succeeded", self.now(), cost_usd=cost.usd)
        else:
            with self.rt.db.session() as s:
                checkpoint.set_state(s, self.job_id, "succeeded", self.now())
        timings = dict(self.timings)
        timings["frames"] = 0.0
        return Clip(
            width=width,
            height=height,
            fps=fps,
            frame_count=count,
            frames=_frames(video, width, height, count, timings, self.on_progress),
            timings=timings,
            device="cpu",
            compute=compute,
            audio=video if _has_audio(video) else None,
        )


class Redacting:
    """A provider module whose raised errors and reported failure texts pass `redact` (the
    credentials, the tokens made from them, any bearer token) before the framework sees them."""

    def __init__(self, provider: Provider, redact: Redactor):
        self.inner = provider
        self.redact = redact
        self.name = provider.name
        self.credential_settings = provider.credential_settings
        self.cancellable = provider.cancellable
        self.source = provider.source

    def capabilities(self, remote_model: str) -> Capabilities:
        return self.inner.capabilities(remote_model)

    def build(self, spec: JobSpec, remote_model: str) -> dict[str, Any]:
        return self.inner.build(spec, remote_model)

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return self.inner.auth_headers(credentials)

    def create(self, api: ProviderApiLike, task: TaskRequest) -> str:
        try:
            return self.inner.create(api, task)
        except ReelforgeError as exc:
            self.redact.error(exc)
            raise

    def find(self, api: ProviderApiLike, job_id: str, remote_model: str) -> str | None:
        try:
            return self.inner.find(api, job_id, remote_model)
        except ReelforgeError as exc:
            self.redact.error(exc)
            raise

    def status(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> RemoteStatus:
        try:
            status = self.inner.status(api, task_id, params)
        except ReelforgeError as exc:
            self.redact.error(exc)
            raise
        # the provider's failure text becomes the job's error message: cleaned (also where a
        # module or a test's api hands back text that did not pass ProviderApi) and bounded
        return replace(
            status,
            # cleaned before the redaction too: a key split by control characters is a key
            error=clean_text(self.redact(clean_text(status.error)), MAX_FAILURE_CHARS)
            if status.error is not None
            else None,
            error_code=clean_text(
                self.redact(clean_text(status.error_code)), MAX_FAILURE_CODE_CHARS
            )
            if status.error_code is not None
            else None,
        )

    def cancel(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> None:
        try:
            self.inner.cancel(api, task_id, params)
        except ReelforgeError as exc:
            self.redact.error(exc)
            raise

    def download_request(self, status: RemoteStatus, params: Mapping[str, Any]) -> tuple[str, bool]:
        try:
            return self.inner.download_request(status, params)
        except ReelforgeError as exc:
            self.redact.error(exc)
            raise

    def error_for(self, status_code: int, body: Any) -> BackendError | None:
        error = self.inner.error_for(status_code, body)
        if error is not None:
            self.redact.error(error)
        return error


def _registered(redact: Redactor, headers: dict[str, str]) -> dict[str, str]:
    """Headers carry tokens made from the credentials (a signed JWT): they are secrets too."""
    for name, value in headers.items():
        if name.lower() in ("authorization", "x-api-key", "x-goog-api-key", "api-key"):
            redact.add(value.split(" ", 1)[-1])
    return headers


def _has_audio(path: Path) -> bool:
    with av.open(str(path)) as container:
        return bool(container.streams.audio)


def _frames(
    path: Path,
    width: int,
    height: int,
    count: int,
    timings: dict[str, float],
    on_progress: ProgressFn,
) -> Iterator[np.ndarray]:
    """The downloaded video's frames (RGB, even-sized), as the platform's frame hooks expect."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream), start=1):
            started = time.perf_counter()
            array = frame.to_ndarray(format="rgb24")[:height, :width]
            timings["frames"] += time.perf_counter() - started
            on_progress("frames", min(index, count), count)
            yield np.ascontiguousarray(array)
