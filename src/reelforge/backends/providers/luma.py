"""Luma Dream Machine (api.lumalabs.ai/dream-machine/v1): video generations with keyframes.

Source (read 2026-12-06 through the project's search index: docs.lumalabs.ai API reference
and its "Callbacks & Credits Balance" changelog, the lumalabs/lumaai-api OpenAPI file, and
client code quoting them):
- auth `Authorization: Bearer <key>`;
- POST /generations {prompt, model ray-2|ray-flash-2|ray-1-6, aspect_ratio 1:1|16:9|9:16|4:3|
  3:4|21:9|9:21, loop, keyframes {frame0, frame1: {type: "image", url} | {type: "generation",
  id}}, resolution 540p|720p|1080p|4k, duration "5s"|"9s", callback_url} → 201 Generation;
- GET /generations/{id} → Generation {id, state queued|dreaming|completed|failed,
  failure_reason, assets {video, image}, model, request, created_at};
- DELETE /generations/{id};
- callback: Luma POSTs the Generation object to callback_url on each state change (dreaming,
  completed, failed), retried 3 times; no signature is documented, so reelforge's callback
  URL carries its own token and the body only wakes the worker, which reads the state back;
- errors: 400 with {"detail": ...} for bad requests, 401 bad key, 429 rate limited.

Maps: mode text2video, image2video (keyframes.frame0), first_last_frame (frame0 + frame1);
prompt, duration 5|9, aspect_ratio 16:9|9:16|1:1|4:3, resolution 480p → 540p (Luma's nearest),
720p, 1080p. Images are sent inline as data: URIs (the documentation shows https URLs; a
deployment whose Luma account refuses data URIs needs public input links, not built).
Does not map: extend (Luma extends its own generations by id), negative_prompt, seed, camera,
4:5, presets, steps/guidance/frames/width/height.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from reelforge.backends.providers.runway import data_uri
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import BackendError, InvalidRequest

SOURCE = "Luma Dream Machine API reference (docs.lumalabs.ai), read 2026-12-06"
RESOLUTIONS = {"480p": "540p", "720p": "720p", "1080p": "1080p"}
_MODES = frozenset({Mode.TEXT2VIDEO, Mode.IMAGE2VIDEO, Mode.FIRST_LAST_FRAME})


def _caps(resolutions: tuple[str, ...]) -> Capabilities:
    return Capabilities(
        modes=_MODES,
        durations=(5.0, 9.0),
        aspect_ratios=("16:9", "9:16", "1:1", "4:3"),
        resolutions=resolutions,
    )


MODELS: dict[str, Capabilities] = {
    "ray-2": _caps(("480p", "720p", "1080p")),
    "ray-flash-2": _caps(("480p", "720p", "1080p")),
    "ray-1-6": Capabilities(modes=_MODES, aspect_ratios=("16:9", "9:16", "1:1", "4:3")),
}
STATES = {"queued": "queued", "dreaming": "running", "completed": "succeeded", "failed": "failed"}


class Luma:
    name = "luma"
    credential_settings: tuple[str, ...] = ("provider_luma_api_key",)
    cancellable = True  # DELETE /generations/{id}
    source = SOURCE

    def capabilities(self, remote_model: str) -> Capabilities:
        caps = MODELS.get(remote_model)
        if caps is None:
            raise InvalidRequest(
                f"luma has no model {remote_model!r} that reelforge knows; one of "
                f"{', '.join(MODELS)}",
                code="unknown_remote_model",
                field="remote_model",
            )
        return caps

    def build(self, spec: JobSpec, remote_model: str) -> dict[str, Any]:
        caps = self.capabilities(remote_model)
        check_supported(self.name, remote_model, caps, spec)
        params: dict[str, Any] = {
            "model": remote_model,
            "prompt": spec.prompt,
            "aspect_ratio": str(spec.aspect_ratio),
        }
        if caps.durations:  # ray-1-6 takes neither duration nor resolution
            params["duration"] = f"{int(spec.duration)}s"
            params["resolution"] = RESOLUTIONS[str(spec.resolution)]
        return params

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials['provider_luma_api_key']}"}

    def create(self, api: ProviderApiLike, task: TaskRequest) -> str:
        body = dict(task.params)
        if task.images:
            keyframes = {"frame0": {"type": "image", "url": data_uri(task.images[0])}}
            if len(task.images) > 1:
                keyframes["frame1"] = {"type": "image", "url": data_uri(task.images[1])}
            body["keyframes"] = keyframes
        if task.callback_url:
            body["callback_url"] = task.callback_url
        answer = api.request("POST", "/generations", json=body, idempotent=False)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise ProviderError(
                f"luma answered the create call without a generation id: {str(answer)[:200]}",
                code="provider_bad_response",
            )
        return str(answer["id"])

    def find(self, api: ProviderApiLike, job_id: str, remote_model: str) -> str | None:
        return None  # no idempotency key or external id in the API

    def status(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> RemoteStatus:
        answer = api.request("GET", f"/generations/{task_id}")
        state = answer.get("state") if isinstance(answer, dict) else None
        if state not in STATES:
            raise ProviderError(
                f"luma answered a generation query without a known state: {str(answer)[:200]}",
                code="provider_bad_response",
            )
        assert isinstance(answer, dict)
        mapped = STATES[state]
        if mapped == "failed":
            return RemoteStatus("failed", error=str(answer.get("failure_reason") or "")[:500])
        if mapped == "succeeded":
            video = (answer.get("assets") or {}).get("video")
            if not isinstance(video, str) or not video:
                raise ProviderError(
                    "luma reported a completed generation without a video",
                    code="provider_invalid_output",
                )
            return RemoteStatus("succeeded", video_url=video)
        return RemoteStatus(mapped)  # type: ignore[arg-type]

    def cancel(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> None:
        api.request("DELETE", f"/generations/{task_id}")

    def download_request(self, status: RemoteStatus, params: Mapping[str, Any]) -> tuple[str, bool]:
        assert status.video_url is not None
        return status.video_url, False

    def error_for(self, status_code: int, body: Any) -> BackendError | None:
        if status_code in (401, 403):
            return ProviderError(
                f"luma refused the credentials ({status_code})", code="provider_auth"
            )
        if status_code == 400 and isinstance(body, dict) and body.get("detail"):
            return ProviderError(
                f"luma refused the request: {body['detail']}", code="provider_rejected"
            )
        return None


PROVIDER: Provider = Luma()
