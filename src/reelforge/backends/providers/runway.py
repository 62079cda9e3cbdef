"""Runway (api.dev.runwayml.com): image-to-video and text-to-video tasks.

Source (read 2026-12-06 through the project's search index: Runway's API reference
docs.dev.runwayml.com/api and client code quoting it, e.g. ComfyUI's Runway nodes):
- auth `Authorization: Bearer <key>` and the required `X-Runway-Version: 2024-11-06` header;
- POST /v1/image_to_video {model, promptImage (HTTPS URL or data URI, or a list of
  {uri, position: first|last}), promptText (≤1000), ratio, duration, seed} → {id};
  POST /v1/text_to_video {model, promptText, ratio, duration, seed} → {id};
- GET /v1/tasks/{id} → {id, status PENDING|THROTTLED|RUNNING|SUCCEEDED|FAILED|CANCELLED,
  progress (0..1 while running), output [URL, ...], failure, failureCode, createdAt};
  THROTTLED: accepted but held until one of the organisation's running tasks ends;
- DELETE /v1/tasks/{id}: cancels a running task (deletes a finished one) → 204;
- 429 when the organisation's rate or daily limits are reached; output URLs are signed and
  expire, so the key is never sent to them.

Maps: mode text2video (gen4.5, veo3), image2video (all models), first_last_frame (gen3a_turbo,
promptImage position last); prompt (≤1000), duration (per model), aspect_ratio → ratio
(16:9 1280:720, 9:16 720:1280, 1:1 960:960, 4:3 1104:832; gen3a_turbo 1280:768 / 768:1280),
resolution 720p, seed. Does not map: negative_prompt, camera, extend, 4:5, 480p and 1080p,
presets, steps/guidance/frames/width/height.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reelforge.backends.providers.base import (
    Capabilities,
    Provider,
    ProviderApiLike,
    ProviderError,
    RemoteStatus,
    TaskRequest,
    check_supported,
)
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import BackendError, InvalidRequest

SOURCE = "Runway API reference (docs.dev.runwayml.com/api), read 2026-12-06"
API_VERSION = "2024-11-06"
GEN4_RATIOS = {"16:9": "1280:720", "9:16": "720:1280", "1:1": "960:960", "4:3": "1104:832"}
GEN3_RATIOS = {"16:9": "1280:768", "9:16": "768:1280"}
VEO_RATIOS = {"16:9": "1280:720", "9:16": "720:1280"}
_I2V = frozenset({Mode.IMAGE2VIDEO})


def _caps(
    modes: frozenset[Mode], ratios: dict[str, str], durations: tuple[float, ...]
) -> Capabilities:
    return Capabilities(
        modes=modes,
        durations=durations,
        aspect_ratios=tuple(ratios),
        resolutions=("720p",),
        seed=True,
        max_prompt_chars=1000,
    )


MODELS: dict[str, tuple[Capabilities, dict[str, str]]] = {
    "gen4_turbo": (_caps(_I2V, GEN4_RATIOS, (5.0, 10.0)), GEN4_RATIOS),
    "gen4.5": (
        _caps(frozenset({Mode.TEXT2VIDEO, Mode.IMAGE2VIDEO}), GEN4_RATIOS, (5.0, 10.0)),
        GEN4_RATIOS,
    ),
    "gen3a_turbo": (
        _caps(frozenset({Mode.IMAGE2VIDEO, Mode.FIRST_LAST_FRAME}), GEN3_RATIOS, (5.0, 10.0)),
        GEN3_RATIOS,
    ),
    "veo3": (_caps(frozenset({Mode.TEXT2VIDEO, Mode.IMAGE2VIDEO}), VEO_RATIOS, (8.0,)), VEO_RATIOS),
}
STATES = {
    "PENDING": "queued",
    "THROTTLED": "queued",
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
}
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # data URIs: Runway's documented limit for inline images


def data_uri(path: Path) -> str:
    data = path.read_bytes()
    if len(data) > MAX_IMAGE_BYTES:
        raise ProviderError(
            f"runway takes inline images up to {MAX_IMAGE_BYTES} bytes; this one is {len(data)}",
            code="provider_rejected",
        )
    kind = _sniff(data) or mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class Runway:
    name = "runway"
    credential_settings: tuple[str, ...] = ("provider_runway_api_key",)
    cancellable = True
    source = SOURCE

    def capabilities(self, remote_model: str) -> Capabilities:
        found = MODELS.get(remote_model)
        if found is None:
            raise InvalidRequest(
                f"runway has no model {remote_model!r} that reelforge knows; one of "
                f"{', '.join(MODELS)}",
                code="unknown_remote_model",
                field="remote_model",
            )
        return found[0]

    def build(self, spec: JobSpec, remote_model: str) -> dict[str, Any]:
        caps = self.capabilities(remote_model)
        check_supported(self.name, remote_model, caps, spec)
        ratios = MODELS[remote_model][1]
        params: dict[str, Any] = {
            "model": remote_model,
            "ratio": ratios[str(spec.aspect_ratio)],
            "duration": int(spec.duration),
            "seed": spec.seed,
        }
        if spec.prompt:
            params["promptText"] = spec.prompt
        return params

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {credentials['provider_runway_api_key']}",
            "X-Runway-Version": API_VERSION,
        }

    def create(self, api: ProviderApiLike, task: TaskRequest) -> str:
        body = dict(task.params)
        path = "/v1/text_to_video"
        if task.images:
            path = "/v1/image_to_video"
            if len(task.images) == 1:
                body["promptImage"] = data_uri(task.images[0])
            else:
                body["promptImage"] = [
                    {"uri": data_uri(task.images[0]), "position": "first"},
                    {"uri": data_uri(task.images[1]), "position": "last"},
                ]
        answer = api.request("POST", path, json=body, idempotent=False)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise ProviderError(
                f"runway answered the create call without a task id: {str(answer)[:200]}",
                code="provider_bad_response",
            )
        return str(answer["id"])

    def find(self, api: ProviderApiLike, job_id: str, remote_model: str) -> str | None:
        return None  # the API has no idempotency key or external id

    def status(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> RemoteStatus:
        answer = api.request("GET", f"/v1/tasks/{task_id}")
        status = answer.get("status") if isinstance(answer, dict) else None
        if status not in STATES:
            raise ProviderError(
                f"runway answered a task query without a known status: {str(answer)[:200]}",
                code="provider_bad_response",
            )
        assert isinstance(answer, dict)
        state = STATES[status]
        if state == "failed":
            return RemoteStatus(
                "failed",
                error=str(answer.get("failure") or "")[:500],
                error_code=str(answer.get("failureCode") or "") or None,
            )
        if state == "succeeded":
            output = answer.get("output") or []
            if not output or not isinstance(output[0], str):
                raise ProviderError(
                    "runway reported success without an output URL",
                    code="provider_invalid_output",
                )
            return RemoteStatus("succeeded", video_url=output[0])
        progress = answer.get("progress")
        return RemoteStatus(
            state,  # type: ignore[arg-type]
            throttled=status == "THROTTLED",
            progress=float(progress) if isinstance(progress, int | float) else None,
        )

    def cancel(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> None:
        api.request("DELETE", f"/v1/tasks/{task_id}")

    def download_request(self, status: RemoteStatus, params: Mapping[str, Any]) -> tuple[str, bool]:
        assert status.video_url is not None
        return status.video_url, False

    def error_for(self, status_code: int, body: Any) -> BackendError | None:
        if status_code in (401, 403):
            return ProviderError(
                f"runway refused the credentials ({status_code})", code="provider_auth"
            )
        return None


PROVIDER: Provider = Runway()
