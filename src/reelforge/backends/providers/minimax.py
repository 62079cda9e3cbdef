"""MiniMax Hailuo: a video generation task, then its file id, then the file's download URL.

Source (read 2026-12-06 through the project's search index: MiniMax's OpenAPI description
platform.minimax.io/docs/api-reference/video/generation/api/openapi.json, its "Video
Download" page, and gateway pages quoting the create parameters):
- auth: `Authorization: Bearer <API key>`; base https://api.minimax.io;
- POST /v1/video_generation {model, prompt (≤2000 chars, camera moves as bracketed
  directives such as "[Pan left]"), prompt_optimizer, first_frame_image, last_frame_image
  (a URL or a data:image/...;base64 URL), duration 6|10, resolution 512P|768P|1080P,
  callback_url} → {task_id, base_resp: {status_code, status_msg}};
- GET /v1/query/video_generation?task_id= → {task_id, status Preparing|Queueing|Processing|
  Success|Fail, file_id, video_width, video_height, base_resp};
- GET /v1/files/retrieve?file_id= → {file: {file_id, bytes, created_at, filename, purpose,
  download_url}, base_resp};
- errors come as HTTP 200 with base_resp.status_code != 0: 1002 rate limit, 1004 and 2049
  authentication, 1008 insufficient balance, 1026 sensitive input, 1027 sensitive output,
  2013 invalid parameters, 1000/1001 unknown error or timeout (retryable);
- callback_url is first sent a {"challenge"} that must be echoed within 3 s: reelforge's
  callback receiver does not, so this module polls (no callback_url is sent).

Maps: modes text2video, image2video (first_frame_image), first_last_frame (+ last_frame_image,
MiniMax-Hailuo-02); prompt; duration 6|10 (10 s not at 1080P); resolution 480p → 512P
(Hailuo-02 image-to-video), 720p → 768P (720P on the 01 Director models), 1080p → 1080P;
camera → a bracketed directive ([Zoom in], [Pan left], [Push in] for dolly, [Static shot],
...). Does not map: negative_prompt, seed, aspect_ratio other than 16:9 for text2video
(image-to-video follows the image), extend, presets, steps/guidance/frames/width/height.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reelforge.backends.providers.base import (
    Capabilities,
    Provider,
    ProviderApiLike,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
    RemoteStatus,
    TaskRequest,
    check_supported,
    unsupported,
)
from reelforge.backends.providers.images import data_url
from reelforge.domain.camera import Camera
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import BackendError, InvalidRequest

SOURCE = "MiniMax video generation API (OpenAPI description and docs), read 2026-12-06"
MAX_PROMPT = 2000


@dataclass(frozen=True)
class _Model:
    caps: Capabilities
    sizes: Mapping[str, str]  # reelforge resolution -> MiniMax resolution
    long_at: tuple[str, ...]  # MiniMax resolutions that allow 10 s


_T2V = frozenset({Mode.TEXT2VIDEO})
_I2V = frozenset({Mode.IMAGE2VIDEO})


def _model(
    modes: frozenset[Mode], sizes: Mapping[str, str], durations: tuple[float, ...], *, camera: bool
) -> _Model:
    return _Model(
        Capabilities(
            modes=modes,
            durations=durations,
            resolutions=tuple(sizes),
            camera=camera,
            max_prompt_chars=MAX_PROMPT - 20,  # room for the camera directive
        ),
        sizes,
        ("512P", "768P"),
    )


MODELS: dict[str, _Model] = {
    "MiniMax-Hailuo-2.3": _model(
        _T2V | _I2V, {"720p": "768P", "1080p": "1080P"}, (6.0, 10.0), camera=True
    ),
    "MiniMax-Hailuo-02": _model(
        _T2V | _I2V | {Mode.FIRST_LAST_FRAME},
        {"480p": "512P", "720p": "768P", "1080p": "1080P"},
        (6.0, 10.0),
        camera=True,
    ),
    "T2V-01-Director": _model(_T2V, {"720p": "720P"}, (6.0,), camera=True),
    "I2V-01-Director": _model(_I2V, {"720p": "720P"}, (6.0,), camera=True),
}
STATES = {
    "Preparing": "queued",
    "Queueing": "queued",
    "Processing": "running",
    "Success": "succeeded",
    "Fail": "failed",
}
DIRECTIVES = {
    Camera.ZOOM_IN: "[Zoom in]",
    Camera.ZOOM_OUT: "[Zoom out]",
    Camera.PAN_LEFT: "[Pan left]",
    Camera.PAN_RIGHT: "[Pan right]",
    Camera.TILT_UP: "[Tilt up]",
    Camera.TILT_DOWN: "[Tilt down]",
    Camera.DOLLY: "[Push in]",
    Camera.STATIC: "[Static shot]",
}
THROTTLED = {1002, 1039}  # rate (RPM / TPM) limits
RETRYABLE = {1000, 1001}  # unknown error, timeout
REFUSALS = {
    1004: "provider_auth",
    2049: "provider_auth",
    1008: "provider_account",
    1026: "provider_content_refused",
    1027: "provider_content_refused",
    2013: "provider_rejected",
}


class MiniMax:
    name = "minimax"
    credential_settings: tuple[str, ...] = ("provider_minimax_api_key",)
    cancellable = False  # the API has no cancel
    source = SOURCE

    def _model(self, remote_model: str) -> _Model:
        model = MODELS.get(remote_model)
        if model is None:
            raise InvalidRequest(
                f"minimax has no model {remote_model!r} that reelforge knows; one of "
                f"{', '.join(MODELS)}",
                code="unknown_remote_model",
                field="remote_model",
            )
        return model

    def capabilities(self, remote_model: str) -> Capabilities:
        return self._model(remote_model).caps

    def build(self, spec: JobSpec, remote_model: str) -> dict[str, Any]:
        model = self._model(remote_model)
        check_supported(self.name, remote_model, model.caps, spec)
        who = f"minimax model {remote_model}"
        resolution = model.sizes[str(spec.resolution)]
        if resolution == "512P" and spec.mode is not Mode.IMAGE2VIDEO:
            raise unsupported(
                f"{who} makes 480p (512P) in image2video only; ask for 720p or 1080p",
                "resolution",
                "unsupported_resolution",
            )
        if spec.duration > 6 and resolution not in model.long_at:
            raise unsupported(
                f"{who} makes 10 s clips at 480p or 720p only; at {spec.resolution} ask for 6 s",
                "duration",
                "unsupported_duration",
            )
        if spec.mode is Mode.TEXT2VIDEO and str(spec.aspect_ratio) != "16:9":
            raise unsupported(
                f"{who} makes text2video in 16:9 only (image2video follows the image)",
                "aspect_ratio",
                "unsupported_aspect_ratio",
            )
        prompt = spec.prompt
        if spec.camera is not None:
            prompt = f"{prompt} {DIRECTIVES[spec.camera]}".strip()
        return {
            "model": remote_model,
            "prompt": prompt,
            "duration": int(spec.duration),
            "resolution": resolution,
            "prompt_optimizer": True,
        }

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials['provider_minimax_api_key']}"}

    def create(self, api: ProviderApiLike, task: TaskRequest) -> str:
        body = dict(task.params)
        if task.images:
            body["first_frame_image"] = data_url(task.images[0])
            if len(task.images) > 1:
                body["last_frame_image"] = data_url(task.images[1])
        answer = _checked(api.request("POST", "/v1/video_generation", json=body, idempotent=False))
        task_id = answer.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderError(
                f"minimax answered the create call without a task_id: {str(answer)[:200]}",
                code="provider_bad_response",
            )
        return task_id

    def find(self, api: ProviderApiLike, job_id: str, remote_model: str) -> str | None:
        return None  # no idempotency or external id in the API

    def status(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> RemoteStatus:
        answer = _checked(
            api.request("GET", "/v1/query/video_generation", params={"task_id": task_id})
        )
        state = STATES.get(str(answer.get("status")))
        if state is None:
            raise ProviderError(
                f"minimax answered a task query without a known status: {str(answer)[:200]}",
                code="provider_bad_response",
            )
        if state == "failed":
            return RemoteStatus("failed", error="minimax reported the task failed")
        if state != "succeeded":
            return RemoteStatus(state)  # type: ignore[arg-type]
        file_id = answer.get("file_id")
        if not isinstance(file_id, str | int) or isinstance(file_id, bool) or not str(file_id):
            raise ProviderError(
                "minimax reported success without a file_id", code="provider_invalid_output"
            )
        # the file id names the result; its download URL comes from the file retrieval
        found = _checked(api.request("GET", "/v1/files/retrieve", params={"file_id": str(file_id)}))
        file = found.get("file")
        url = file.get("download_url") if isinstance(file, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderError(
                f"minimax's file {file_id} has no download URL", code="provider_invalid_output"
            )
        return RemoteStatus(
            "succeeded", video_url=url, video_ref=str(file_id), duration=params.get("duration")
        )

    def cancel(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> None:
        return None

    def download_request(self, status: RemoteStatus, params: Mapping[str, Any]) -> tuple[str, bool]:
        assert status.video_url is not None
        return status.video_url, False  # a signed CDN URL: the key is not sent there

    def error_for(self, status_code: int, body: Any) -> BackendError | None:
        base = body.get("base_resp") if isinstance(body, dict) else None
        code = base.get("status_code") if isinstance(base, dict) else None
        return _error(code, base.get("status_msg", "") if isinstance(base, dict) else "")


def _error(code: Any, message: Any) -> BackendError | None:
    if not isinstance(code, int) or code == 0:
        return None
    text = f"minimax: {code} {str(message)[:300]}".strip()
    if code in THROTTLED:
        return ProviderThrottled(text)
    if code in RETRYABLE:
        return ProviderUnavailable(text, code="provider_unavailable")
    return ProviderError(
        f"minimax refused the request: {code} {str(message)[:300]}".strip(),
        code=REFUSALS.get(code, "provider_rejected"),
    )


def _checked(answer: Any) -> dict[str, Any]:
    """The answer, if its base_resp says success (MiniMax reports errors with HTTP 200, so they
    do not pass through the client's error path; the backend redacts what a provider raises)."""
    if not isinstance(answer, dict):
        raise ProviderError(
            f"minimax answered with something other than a JSON object: {str(answer)[:200]}",
            code="provider_bad_response",
        )
    base = answer.get("base_resp")
    if isinstance(base, dict):
        error = _error(base.get("status_code"), base.get("status_msg", ""))
        if error is not None:
            raise error
    return answer


PROVIDER: Provider = MiniMax()
