"""Kling AI (Kuaishou): text-to-video and image-to-video tasks.

Source (read 2026-12-06 through the project's search index: Kling's developer documentation
app.klingai.com/global/dev/document-api and client code quoting it):
- auth: `Authorization: Bearer <JWT>`, HS256-signed with the secret key, claims
  {"iss": access key, "exp": now + 1800, "nbf": now - 5};
- POST /v1/videos/text2video {model_name, prompt, negative_prompt, cfg_scale, mode std|pro,
  camera_control, aspect_ratio 16:9|9:16|1:1, duration "5"|"10", callback_url,
  external_task_id}; POST /v1/videos/image2video {model_name, image, image_tail, prompt,
  negative_prompt, mode, duration, callback_url, external_task_id} (image: Base64 or URL);
- answer {code: 0, message, request_id, data: {task_id, task_status, task_info:
  {external_task_id}, created_at, updated_at}};
- GET /v1/videos/{text2video|image2video}/{id} (id: the task_id or our external_task_id):
  data.task_status submitted|processing|succeed|failed, task_status_msg,
  task_result.videos[{id, url, duration}];
- callback: POST of the same task object to callback_url when the status changes (not
  signed: reelforge's callback URL carries a token of its own, and the body is not trusted);
- error codes: 1000-1004 authentication (401), 1100-1102 account (arrears, no resource
  package left), 1200-1203 request parameters (400), 1300 policy, 1301 content security,
  1302 rate too high and 1303 concurrency over the resource package's limit (429),
  5000-5002 server (500/503/504).

Maps: mode text2video, image2video, first_last_frame (image + image_tail); prompt (≤2500),
negative_prompt, duration 5|10, aspect_ratio 16:9|9:16|1:1 (text2video; image-to-video follows
the image), resolution 720p → mode std, 1080p → mode pro, camera (kling-v1-6 text2video, as
camera_control "simple"). Does not map: extend (Kling extends only its own videos), seed,
480p, 4:5 and 4:3, presets, steps/guidance/frames/width/height.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from reelforge.backends.providers.base import (
    Capabilities,
    Provider,
    ProviderApiLike,
    ProviderError,
    ProviderThrottled,
    RemoteStatus,
    TaskRequest,
    check_supported,
    unsupported,
)
from reelforge.domain.spec import Camera, JobSpec, Mode
from reelforge.errors import BackendError, InvalidRequest

SOURCE = "Kling developer API documentation, read 2026-12-06 (see module docstring)"
_T2V_I2V = frozenset({Mode.TEXT2VIDEO, Mode.IMAGE2VIDEO})
_ALL = frozenset({Mode.TEXT2VIDEO, Mode.IMAGE2VIDEO, Mode.FIRST_LAST_FRAME})


def _caps(modes: frozenset[Mode], *, camera: bool = False) -> Capabilities:
    return Capabilities(
        modes=modes,
        durations=(5.0, 10.0),
        aspect_ratios=("16:9", "9:16", "1:1"),
        resolutions=("720p", "1080p"),
        negative_prompt=True,
        max_prompt_chars=2500,
        camera=camera,
    )


MODELS: dict[str, Capabilities] = {
    "kling-v1-6": _caps(_ALL, camera=True),
    "kling-v2-1": _caps(_ALL),
    "kling-v2-1-master": _caps(_T2V_I2V),
    "kling-v2-5-turbo": _caps(_T2V_I2V),
}
STATES = {
    "submitted": "queued",
    "processing": "running",
    "succeed": "succeeded",
    "failed": "failed",
}
THROTTLE_CODES = {1302, 1303}
# camera_control "simple": one axis in [-10, 10]
CAMERA_AXIS = {
    Camera.ZOOM_IN: ("zoom", 5),
    Camera.ZOOM_OUT: ("zoom", -5),
    Camera.PAN_LEFT: ("pan", -5),
    Camera.PAN_RIGHT: ("pan", 5),
    Camera.TILT_UP: ("tilt", 5),
    Camera.TILT_DOWN: ("tilt", -5),
    Camera.DOLLY: ("horizontal", 5),
}


def jwt_hs256(access_key: str, secret_key: str, now: float | None = None) -> str:
    """Kling's bearer token: a JWT signed HS256 with the secret key, valid 30 minutes."""
    issued = int(time.time() if now is None else now)
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"iss": access_key, "exp": issued + 1800, "nbf": issued - 5}
    signing = f"{_b64(_json(header))}.{_b64(_json(payload))}"
    signature = hmac.new(secret_key.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(signature)}"


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Kling:
    name = "kling"
    credential_settings: tuple[str, ...] = (
        "provider_kling_access_key",
        "provider_kling_secret_key",
    )
    cancellable = False  # the API has no cancel
    source = SOURCE

    def capabilities(self, remote_model: str) -> Capabilities:
        caps = MODELS.get(remote_model)
        if caps is None:
            raise InvalidRequest(
                f"kling has no model {remote_model!r} that reelforge knows; one of "
                f"{', '.join(MODELS)}",
                code="unknown_remote_model",
                field="remote_model",
            )
        return caps

    def build(self, spec: JobSpec, remote_model: str) -> dict[str, Any]:
        caps = self.capabilities(remote_model)
        check_supported(self.name, remote_model, caps, spec)
        params: dict[str, Any] = {
            "model_name": remote_model,
            "prompt": spec.prompt,
            "mode": "pro" if str(spec.resolution) == "1080p" else "std",
            "duration": str(int(spec.duration)),
        }
        if spec.negative_prompt:
            params["negative_prompt"] = spec.negative_prompt
        if spec.mode is Mode.TEXT2VIDEO:
            params["aspect_ratio"] = str(spec.aspect_ratio)
        # image-to-video takes the image's shape: no aspect_ratio is sent
        if spec.mode is Mode.FIRST_LAST_FRAME and params["mode"] != "pro":
            raise unsupported(
                f"kling model {remote_model} takes a last frame in pro mode only: ask for "
                f"resolution 1080p",
                "resolution",
                "unsupported_resolution",
            )
        if spec.camera is not None and spec.camera is not Camera.STATIC:
            if spec.mode is not Mode.TEXT2VIDEO:
                raise unsupported(
                    f"kling model {remote_model} takes a camera move in text2video only",
                    "camera",
                )
            axis, amount = CAMERA_AXIS[spec.camera]
            params["camera_control"] = {"type": "simple", "config": {axis: amount}}
        return params

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        token = jwt_hs256(
            credentials["provider_kling_access_key"], credentials["provider_kling_secret_key"]
        )
        return {"Authorization": f"Bearer {token}"}

    def create(self, api: ProviderApiLike, task: TaskRequest) -> str:
        body = {k: v for k, v in task.params.items() if not k.startswith("_")}
        kind = "text2video"
        if task.images:
            kind = "image2video"
            body["image"] = base64.b64encode(task.images[0].read_bytes()).decode()
            if len(task.images) > 1:
                body["image_tail"] = base64.b64encode(task.images[1].read_bytes()).decode()
        body["external_task_id"] = task.job_id
        if task.callback_url:
            body["callback_url"] = task.callback_url
        answer = api.request("POST", f"/v1/videos/{kind}", json=body, idempotent=False)
        return _task_id(answer, kind)

    def find(self, api: ProviderApiLike, job_id: str, remote_model: str) -> str | None:
        for kind in ("text2video", "image2video"):
            try:
                answer = api.request("GET", f"/v1/videos/{kind}/{job_id}")
            except ProviderError:
                continue  # not found under this kind
            data = answer.get("data") if isinstance(answer, dict) else None
            if isinstance(data, dict) and isinstance(data.get("task_id"), str):
                return f"{kind}:{data['task_id']}"
        return None

    def status(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> RemoteStatus:
        kind, _, remote_id = task_id.partition(":")
        answer = api.request("GET", f"/v1/videos/{kind}/{remote_id}")
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or data.get("task_status") not in STATES:
            raise ProviderError(
                f"kling answered a task query without a known task_status: {str(answer)[:200]}",
                code="provider_bad_response",
            )
        state = STATES[data["task_status"]]
        if state == "failed":
            return RemoteStatus("failed", error=str(data.get("task_status_msg") or "")[:500])
        if state != "succeeded":
            return RemoteStatus(state)  # type: ignore[arg-type]
        videos = (data.get("task_result") or {}).get("videos") or []
        if not videos or not isinstance(videos[0], dict) or not videos[0].get("url"):
            raise ProviderError(
                "kling reported success without a video URL", code="provider_invalid_output"
            )
        duration = videos[0].get("duration")
        try:
            seconds = float(duration) if duration is not None else None
        except (TypeError, ValueError):
            seconds = None
        return RemoteStatus("succeeded", video_url=str(videos[0]["url"]), duration=seconds)

    def cancel(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> None:
        return None

    def download_request(self, status: RemoteStatus, params: Mapping[str, Any]) -> tuple[str, bool]:
        assert status.video_url is not None
        return status.video_url, False  # a CDN URL: our token is not sent there

    def error_for(self, status_code: int, body: Any) -> BackendError | None:
        code = body.get("code") if isinstance(body, dict) else None
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if not isinstance(code, int):
            return None
        if code in THROTTLE_CODES:
            return ProviderThrottled(f"kling: {code} {message}".strip())
        if 5000 <= code < 6000:
            return None  # retried as a 5xx
        kinds = {
            1000: "provider_auth",
            1100: "provider_account",
            1200: "provider_rejected",
            1300: "provider_content_refused",
        }
        error_code = kinds.get(code // 100 * 100, "provider_rejected")
        if code == 1301:
            error_code = "provider_content_refused"
        elif code == 1304:
            error_code = "provider_auth"
        return ProviderError(
            f"kling refused the request: {code} {message}".strip(), code=error_code
        )


def _task_id(answer: Any, kind: str) -> str:
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("task_id"), str):
        raise ProviderError(
            f"kling answered the create call without a task id: {str(answer)[:200]}",
            code="provider_bad_response",
        )
    return f"{kind}:{data['task_id']}"


PROVIDER: Provider = Kling()
