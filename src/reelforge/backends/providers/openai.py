"""OpenAI Sora: /v1/videos create, retrieve until completed, then the content download.

Source (read 2026-12-06: the API reference developers.openai.com/api/reference/resources/
videos, and the official `openai` Python package's types/video*.py and resources/videos.py,
version 3.63.0, installed here):
- auth: `Authorization: Bearer <API key>`; base https://api.openai.com/v1;
- POST /videos {prompt, model sora-2|sora-2-pro, seconds "4"|"8"|"12", size 720x1280|1280x720
  (sora-2-pro also 1024x1792|1792x1024), input_reference: a file, or {image_url: a URL or a
  base64 data URL} (the first frame; it must have the requested size)} → a video object {id,
  object "video", model, status queued|in_progress|completed|failed, progress 0-100,
  created_at, completed_at, expires_at, seconds, size, error {code, message}};
- GET /videos/{id} → the video object; GET /videos/{id}/content[?variant=video] → the MP4
  (with the key); DELETE /videos/{id} removes a completed or failed video (there is no cancel);
- errors: {error: {message, type, param, code}}: 400 invalid_request_error (e.g.
  moderation_blocked), 401 invalid_api_key, 429 rate_limit_exceeded (throttled) or
  insufficient_quota (the account: not retried), 5xx (retried).
The SDK marks the videos API deprecated (the Sora service is announced to shut down on
2026-09-24); the shapes are what this module and reelforge's /openai/v1 surface speak.

Maps: modes text2video, image2video (input_reference as a data URL, the image cropped and
scaled to the size); prompt; duration 4|8|12 → seconds; aspect_ratio 16:9|9:16 with
resolution 720p → 1280x720|720x1280, 1080p (sora-2-pro) → 1792x1024|1024x1792. Sora 2 returns
sound (kept by the platform). Does not map: negative_prompt, seed, camera (describe the move in
the prompt), first_last_frame, extend (Sora's remix is another operation), 480p, 1:1, 4:5,
4:3, presets, steps/guidance/frames/width/height. No remote cancel.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageOps

from reelforge.backends.providers.base import (
    Capabilities,
    Provider,
    ProviderApiLike,
    ProviderError,
    ProviderThrottled,
    RemoteStatus,
    TaskRequest,
    check_supported,
)
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import BackendError, InvalidRequest

SOURCE = "OpenAI videos API reference and openai-python 3.63.0 types, read 2026-12-06"
_MODES = frozenset({Mode.TEXT2VIDEO, Mode.IMAGE2VIDEO})
SIZES = {
    ("16:9", "720p"): "1280x720",
    ("9:16", "720p"): "720x1280",
    ("16:9", "1080p"): "1792x1024",
    ("9:16", "1080p"): "1024x1792",
}
MODELS: dict[str, Capabilities] = {
    "sora-2": Capabilities(
        modes=_MODES,
        durations=(4.0, 8.0, 12.0),
        aspect_ratios=("16:9", "9:16"),
        resolutions=("720p",),
    ),
    "sora-2-pro": Capabilities(
        modes=_MODES,
        durations=(4.0, 8.0, 12.0),
        aspect_ratios=("16:9", "9:16"),
        resolutions=("720p", "1080p"),
    ),
}
STATES = {
    "queued": "queued",
    "in_progress": "running",
    "completed": "succeeded",
    "failed": "failed",
}
REFUSALS = {
    "invalid_api_key": "provider_auth",
    "insufficient_quota": "provider_account",
    "moderation_blocked": "provider_content_refused",
}


class Sora:
    name = "openai"
    credential_settings: tuple[str, ...] = ("provider_openai_api_key",)
    cancellable = False  # the API deletes finished videos; it cannot stop a running one
    source = SOURCE

    def capabilities(self, remote_model: str) -> Capabilities:
        caps = MODELS.get(remote_model)
        if caps is None:
            raise InvalidRequest(
                f"openai has no video model {remote_model!r} that reelforge knows; one of "
                f"{', '.join(MODELS)}",
                code="unknown_remote_model",
                field="remote_model",
            )
        return caps

    def build(self, spec: JobSpec, remote_model: str) -> dict[str, Any]:
        check_supported(self.name, remote_model, self.capabilities(remote_model), spec)
        return {
            "model": remote_model,
            "prompt": spec.prompt,
            "seconds": str(int(spec.duration)),
            "size": SIZES[(str(spec.aspect_ratio), str(spec.resolution))],
        }

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials['provider_openai_api_key']}"}

    def create(self, api: ProviderApiLike, task: TaskRequest) -> str:
        body = dict(task.params)
        if task.images:
            body["input_reference"] = {"image_url": _reference(task.images[0], body["size"])}
        answer = api.request("POST", "/videos", json=body, idempotent=False)
        video_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(video_id, str) or not video_id or "/" in video_id:
            raise ProviderError(
                f"openai answered the create call without a video id: {str(answer)[:200]}",
                code="provider_bad_response",
            )
        return video_id

    def find(self, api: ProviderApiLike, job_id: str, remote_model: str) -> str | None:
        return None  # no external id in the API

    def status(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> RemoteStatus:
        answer = api.request("GET", f"/videos/{task_id}")
        state = STATES.get(str(answer.get("status"))) if isinstance(answer, dict) else None
        if state is None or not isinstance(answer, dict):
            raise ProviderError(
                f"openai answered a video read without a known status: {str(answer)[:200]}",
                code="provider_bad_response",
            )
        progress = answer.get("progress")
        fraction = (
            min(1.0, max(0.0, progress / 100))
            if isinstance(progress, int | float) and not isinstance(progress, bool)
            else None
        )
        if state == "failed":
            found = answer.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            return RemoteStatus(
                "failed",
                error=str(error.get("message") or "")[:500],
                error_code=str(error.get("code") or "") or None,
            )
        if state != "succeeded":
            return RemoteStatus(state, progress=fraction)  # type: ignore[arg-type]
        try:
            seconds = float(answer.get("seconds") or params["seconds"])
        except (TypeError, ValueError):
            seconds = float(params["seconds"])
        return RemoteStatus("succeeded", video_ref=task_id, duration=seconds)

    def cancel(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> None:
        return None

    def download_request(self, status: RemoteStatus, params: Mapping[str, Any]) -> tuple[str, bool]:
        assert status.video_ref is not None
        return f"/videos/{status.video_ref}/content", True  # the API serves it, with our key

    def error_for(self, status_code: int, body: Any) -> BackendError | None:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return None
        code = str(error.get("code") or error.get("type") or "")
        message = f"openai: {status_code} {code} {str(error.get('message') or '')[:300]}".strip()
        if code == "insufficient_quota":  # a 429 that waiting does not cure
            return ProviderError(message, code="provider_account")
        if status_code == 429:
            return ProviderThrottled(message)
        if status_code >= 500:
            return None  # retried
        if status_code == 401:
            return ProviderError(message, code="provider_auth")
        return ProviderError(message, code=REFUSALS.get(code, "provider_rejected"))


def _reference(path: Any, size: str) -> str:
    """The first frame as Sora wants it: exactly `size`, cropped to its shape and scaled."""
    width, height = (int(v) for v in size.split("x"))
    with Image.open(path) as image:
        fitted = ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    fitted.save(out, "JPEG", quality=92)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


PROVIDER: Provider = Sora()
