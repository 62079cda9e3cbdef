"""The provider seam: what one hosted video model's API must offer reelforge.

A `Provider` (one module per provider: kling.py, runway.py, luma.py, ...) knows its API's
shapes and nothing else: how a `JobSpec` maps to its parameters (`build`, pure, run at submit
before anything is written: no network), how to create a task, read its status, cancel it and,
where the API allows, find a task by our job id. The lifecycle around it (the persisted
checkpoint, waiting with jitter, throttling, downloads, decode checks, cancellation, cost) is
`ProviderBackend`'s, the same for every provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import BackendError, CapabilityMissing, InvalidRequest

RemoteState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
"""A remote task's state in reelforge's words (each provider maps its own names to these)."""


@dataclass(frozen=True)
class RemoteStatus:
    """One status read of a remote task. `video_url`: where the result is, once succeeded
    (a provider whose result is fetched through its API by id sets `video_ref` instead).
    `throttled`: the provider holds the task back (Runway's THROTTLED): still queued."""

    state: RemoteState
    video_url: str | None = None
    video_ref: str | None = None
    error: str | None = None  # the provider's failure message (secrets removed)
    error_code: str | None = None  # the provider's failure code, as it gave it
    progress: float | None = None  # 0..1 where the provider reports it
    throttled: bool = False
    duration: float | None = None  # seconds of video the provider reports (what it bills)


@dataclass(frozen=True)
class Capabilities:
    """What one remote model accepts. Empty tuples: the parameter is not sent (the provider
    decides). Used by `check_supported` to refuse a request at submit with a clear message."""

    modes: frozenset[Mode]
    durations: tuple[float, ...] = ()  # allowed values (seconds); () any within the limits
    max_duration: float | None = None
    aspect_ratios: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()
    negative_prompt: bool = False
    seed: bool = False
    camera: bool = False  # reelforge's `camera` (a named move) maps to a provider control
    max_prompt_chars: int | None = None
    extend: bool = False  # Mode.EXTEND continues an earlier output (needs its video upstream)


@dataclass(frozen=True)
class TaskRequest:
    """What `Provider.create` sends: the mapped parameters, our job id (Kling's
    external_task_id), the local input images in spec order and a callback URL (or None)."""

    job_id: str
    remote_model: str
    params: Mapping[str, Any]
    images: tuple[Path, ...] = ()
    callback_url: str | None = None


class ProviderError(BackendError):
    """The provider refused or failed the task. The message never holds a credential."""

    code = "provider_error"


class ProviderThrottled(BackendError):
    """The provider says "not now" (429, a concurrency or rate limit): the job waits `queued`
    and is tried again, it does not fail."""

    code = "provider_throttled"

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ProviderUnavailable(BackendError):
    """5xx, timeouts or connection errors that outlasted the retries of one request."""

    code = "provider_unavailable"


class Provider(Protocol):
    """One hosted video API. Implementations live in backends/providers/<name>.py and are
    listed in `registry.PROVIDERS`."""

    name: str  # kling | runway | luma | minimax | google | openai
    # settings fields holding its credentials (RF_PROVIDER_..._KEY), read only by the worker
    credential_settings: tuple[str, ...]
    cancellable: bool  # the API can cancel a running task
    source: str  # the dated note of the documentation the module follows

    def capabilities(self, remote_model: str) -> Capabilities:
        """What `remote_model` accepts (modes, durations, aspect ratios, ...)."""
        ...

    def build(self, spec: JobSpec, remote_model: str) -> dict[str, Any]:
        """The provider's parameters for `spec` (pure; raises `InvalidRequest` /
        `CapabilityMissing` naming what the model supports). Images are added by `create`."""
        ...

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        """Headers that authenticate one request (Kling signs a fresh JWT each time)."""
        ...

    def create(self, api: ProviderApiLike, task: TaskRequest) -> str:
        """Create the remote task; returns its id."""
        ...

    def find(self, api: ProviderApiLike, job_id: str, remote_model: str) -> str | None:
        """The id of a task created earlier for `job_id` (by an idempotency or external id),
        or None when there is none or the API cannot say."""
        ...

    def status(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> RemoteStatus:
        """Read the task's status once."""
        ...

    def cancel(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> None:
        """Cancel (or delete) the task where the API can; a no-op where it cannot."""
        ...

    def download_request(self, status: RemoteStatus, params: Mapping[str, Any]) -> tuple[str, bool]:
        """(URL, authenticated): where the finished video is fetched from, and whether the
        request carries the provider's credentials (a result served by its API) or not (a
        signed CDN URL must not receive our key)."""
        ...

    def error_for(self, status_code: int, body: Any) -> BackendError | None:
        """The exception for a non-2xx answer, where the provider documents codes of its own
        (e.g. Kling's 1303 concurrency limit → ProviderThrottled); None: the generic one."""
        ...


class ProviderApiLike(Protocol):
    """What providers call to talk to their API (http.ProviderApi; a test may swap it)."""

    base_url: str

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> Any: ...


def unsupported(message: str, field: str, code: str = "unsupported_parameter") -> InvalidRequest:
    return InvalidRequest(message, code=code, field=field)


def check_supported(provider: str, remote_model: str, caps: Capabilities, spec: JobSpec) -> None:
    """Refuse, at submit, what `caps` rule out; the message names what the model supports."""
    who = f"{provider} model {remote_model}"
    if spec.mode not in caps.modes:
        raise CapabilityMissing(
            f"{who} does not do {spec.mode}; it supports "
            f"{', '.join(sorted(m.value for m in caps.modes))}",
            code="unsupported_mode",
            field="mode",
        )
    if caps.durations and not any(abs(spec.duration - d) < 1e-6 for d in caps.durations):
        raise unsupported(
            f"{who} makes clips of {_seconds(caps.durations)} seconds, not {spec.duration:g}",
            "duration",
            "unsupported_duration",
        )
    if caps.max_duration is not None and spec.duration > caps.max_duration:
        raise unsupported(
            f"{who} makes clips of at most {caps.max_duration:g} seconds",
            "duration",
            "unsupported_duration",
        )
    if caps.aspect_ratios and str(spec.aspect_ratio) not in caps.aspect_ratios:
        raise unsupported(
            f"{who} supports aspect ratios {', '.join(caps.aspect_ratios)}, "
            f"not {spec.aspect_ratio}",
            "aspect_ratio",
            "unsupported_aspect_ratio",
        )
    if caps.resolutions and str(spec.resolution) not in caps.resolutions:
        raise unsupported(
            f"{who} supports resolutions {', '.join(caps.resolutions)}, not {spec.resolution}",
            "resolution",
            "unsupported_resolution",
        )
    if spec.negative_prompt and not caps.negative_prompt:
        raise unsupported(f"{who} takes no negative prompt; leave it out", "negative_prompt")
    if spec.camera is not None and not caps.camera:
        raise unsupported(f"{who} has no camera control; describe the move in the prompt", "camera")
    if caps.max_prompt_chars is not None and len(spec.prompt) > caps.max_prompt_chars:
        raise unsupported(
            f"{who} takes prompts of at most {caps.max_prompt_chars} characters", "prompt"
        )
    for name in ("steps", "guidance", "frames"):
        if getattr(spec, name) is not None:
            raise unsupported(
                f"{who} is a hosted model: {name} cannot be set; the provider chooses it", name
            )
    if spec.width is not None or spec.height is not None:
        raise unsupported(
            f"{who} is a hosted model: choose aspect_ratio and resolution, not width and height",
            "width",
        )
    if spec.preset is not None:
        raise unsupported(
            f"{who} has no draft/final presets; leave preset out", "preset", "unsupported_preset"
        )


def _seconds(values: Sequence[float]) -> str:
    return " or ".join(f"{v:g}" for v in values)


@dataclass
class Credentials:
    """The values of a provider's credential settings (never stored, logged or echoed)."""

    values: dict[str, str] = field(default_factory=dict, repr=False)

    def secrets(self) -> list[str]:
        return [v for v in self.values.values() if v]
