"""Google Veo through the Gemini API: a long-running operation, polled until done, whose
result is a file URI downloaded with the API key.

Source (read 2026-12-06 through the project's search index: the Gemini API video guide
ai.google.dev/gemini-api/docs/video, the wire types of the Developer API's
`predictLongRunning` (gproxy-protocol's wire/gemini/video, docs.rs) and client code calling it):
- auth: header `x-goog-api-key: <API key>`; base https://generativelanguage.googleapis.com/v1beta;
- POST /models/{model}:predictLongRunning {instances: [{prompt, image: {bytesBase64Encoded,
  mimeType}, lastFrame: {...}}], parameters: {aspectRatio 16:9|9:16, resolution 720p|1080p,
  durationSeconds, negativePrompt, personGeneration}} → an operation {name:
  "models/{model}/operations/{id}"};
- GET /{operation name} → {name, done, metadata?, response: {generateVideoResponse:
  {generatedSamples: [{video: {uri}}], raiMediaFilteredCount, raiMediaFilteredReasons}}}
  or {done: true, error: {code, message, status}};
- the video: GET {uri} with the key (the Developer API has no seed, fps or storage URI; those
  are Vertex AI's);
- errors: {error: {code, message, status}}: 400 INVALID_ARGUMENT, 403 PERMISSION_DENIED,
  404 NOT_FOUND, 429 RESOURCE_EXHAUSTED (quota or rate: throttled), 500/503 (retried).

Maps: modes text2video, image2video (image), first_last_frame (lastFrame; Veo 3.1); prompt;
negative_prompt; duration (Veo 3.1: 4|6|8, Veo 3: 8, Veo 2: 5-8; 1080p with 8 s only);
aspect_ratio 16:9|9:16; resolution 720p|1080p (Veo 2: 720p). Veo 3 and 3.1 return sound
(kept by the platform). Does not map: seed (Vertex AI only), camera (describe the move in the
prompt), extend (Veo extends only videos it made, by its own file), 480p, 1:1, 4:5, 4:3,
presets, steps/guidance/frames/width/height. No cancel (the operation runs to its end).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

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
from reelforge.backends.providers.images import inline_image
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import BackendError, InvalidRequest

SOURCE = "Gemini API Veo video generation (predictLongRunning), read 2026-12-06"
_ALL = frozenset({Mode.TEXT2VIDEO, Mode.IMAGE2VIDEO, Mode.FIRST_LAST_FRAME})
_T2V_I2V = frozenset({Mode.TEXT2VIDEO, Mode.IMAGE2VIDEO})


def _caps(
    modes: frozenset[Mode], durations: tuple[float, ...], resolutions: tuple[str, ...]
) -> Capabilities:
    return Capabilities(
        modes=modes,
        durations=durations,
        aspect_ratios=("16:9", "9:16"),
        resolutions=resolutions,
        negative_prompt=True,
    )


MODELS: dict[str, Capabilities] = {
    "veo-3.1-generate-preview": _caps(_ALL, (4.0, 6.0, 8.0), ("720p", "1080p")),
    "veo-3.1-fast-generate-preview": _caps(_ALL, (4.0, 6.0, 8.0), ("720p", "1080p")),
    "veo-3.0-generate-001": _caps(_T2V_I2V, (8.0,), ("720p", "1080p")),
    "veo-3.0-fast-generate-001": _caps(_T2V_I2V, (8.0,), ("720p", "1080p")),
    "veo-2.0-generate-001": _caps(_T2V_I2V, (5.0, 6.0, 7.0, 8.0), ("720p",)),
}
_OPERATION = re.compile(r"^models/[A-Za-z0-9.\-]+/operations/[A-Za-z0-9_\-]+$")
THROTTLED = {"RESOURCE_EXHAUSTED"}
REFUSALS = {
    "INVALID_ARGUMENT": "provider_rejected",
    "FAILED_PRECONDITION": "provider_rejected",
    "PERMISSION_DENIED": "provider_auth",
    "UNAUTHENTICATED": "provider_auth",
    "NOT_FOUND": "provider_rejected",
}


class Veo:
    name = "google"
    credential_settings: tuple[str, ...] = ("provider_google_api_key",)
    cancellable = False  # the Gemini API documents no cancel for video operations
    source = SOURCE

    def capabilities(self, remote_model: str) -> Capabilities:
        caps = MODELS.get(remote_model)
        if caps is None:
            raise InvalidRequest(
                f"google has no Veo model {remote_model!r} that reelforge knows; one of "
                f"{', '.join(MODELS)}",
                code="unknown_remote_model",
                field="remote_model",
            )
        return caps

    def build(self, spec: JobSpec, remote_model: str) -> dict[str, Any]:
        caps = self.capabilities(remote_model)
        check_supported(self.name, remote_model, caps, spec)
        if str(spec.resolution) == "1080p" and spec.duration != 8:
            raise unsupported(
                f"google model {remote_model} makes 1080p in 8 s clips only",
                "duration",
                "unsupported_duration",
            )
        if (
            remote_model.startswith("veo-3.0")
            and str(spec.resolution) == "1080p"
            and str(spec.aspect_ratio) != "16:9"
        ):
            raise unsupported(
                f"google model {remote_model} makes 1080p in 16:9 only",
                "aspect_ratio",
                "unsupported_aspect_ratio",
            )
        parameters: dict[str, Any] = {
            "aspectRatio": str(spec.aspect_ratio),
            "durationSeconds": int(spec.duration),
        }
        if not remote_model.startswith("veo-2"):
            parameters["resolution"] = str(spec.resolution)
        if spec.negative_prompt:
            parameters["negativePrompt"] = spec.negative_prompt
        return {"model": remote_model, "prompt": spec.prompt, "parameters": parameters}

    def auth_headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return {"x-goog-api-key": credentials["provider_google_api_key"]}

    def create(self, api: ProviderApiLike, task: TaskRequest) -> str:
        instance: dict[str, Any] = {"prompt": task.params["prompt"]}
        for key, path in zip(("image", "lastFrame"), task.images, strict=False):
            data, mime = inline_image(path)
            instance[key] = {"bytesBase64Encoded": data, "mimeType": mime}
        body = {"instances": [instance], "parameters": dict(task.params["parameters"])}
        model = task.params["model"]
        answer = api.request(
            "POST", f"/models/{model}:predictLongRunning", json=body, idempotent=False
        )
        name = answer.get("name") if isinstance(answer, dict) else None
        if not isinstance(name, str) or not _OPERATION.match(name):
            raise ProviderError(
                f"google answered predictLongRunning without an operation name: "
                f"{str(answer)[:200]}",
                code="provider_bad_response",
            )
        return name

    def find(self, api: ProviderApiLike, job_id: str, remote_model: str) -> str | None:
        return None  # no idempotency or external id in the API

    def status(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> RemoteStatus:
        if not _OPERATION.match(task_id):
            raise ProviderError(
                f"not a Veo operation name: {task_id[:100]}", code="provider_bad_response"
            )
        answer = api.request("GET", f"/{task_id}")
        if not isinstance(answer, dict):
            raise ProviderError(
                f"google answered an operation read with {str(answer)[:200]}",
                code="provider_bad_response",
            )
        if not answer.get("done"):
            return RemoteStatus("running")
        error = answer.get("error")
        if isinstance(error, dict):
            return RemoteStatus(
                "failed",
                error=str(error.get("message") or "")[:500],
                error_code=str(error.get("status") or error.get("code") or "") or None,
            )
        result = (answer.get("response") or {}).get("generateVideoResponse") or {}
        samples = result.get("generatedSamples") or []
        video = samples[0].get("video") if samples and isinstance(samples[0], dict) else None
        uri = video.get("uri") if isinstance(video, dict) else None
        if not isinstance(uri, str) or not uri:
            reasons = result.get("raiMediaFilteredReasons")
            if reasons:  # the provider's own safety filter kept the video back
                return RemoteStatus(
                    "failed",
                    error=f"google filtered the video: {str(reasons)[:300]}",
                    error_code="RAI_FILTERED",
                )
            raise ProviderError(
                "google finished the operation without a video URI",
                code="provider_invalid_output",
            )
        if _origin(uri) != _origin(api.base_url):
            # the URI is fetched with our key: only from the API's own host
            raise ProviderError(
                f"google's video URI is not on the API's host ({_origin(uri)})",
                code="provider_invalid_output",
            )
        return RemoteStatus(
            "succeeded", video_url=uri, duration=params["parameters"].get("durationSeconds")
        )

    def cancel(self, api: ProviderApiLike, task_id: str, params: Mapping[str, Any]) -> None:
        return None

    def download_request(self, status: RemoteStatus, params: Mapping[str, Any]) -> tuple[str, bool]:
        assert status.video_url is not None
        return status.video_url, True  # served by the API: the key goes with it

    def error_for(self, status_code: int, body: Any) -> BackendError | None:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return None
        kind = str(error.get("status") or "")
        message = f"google: {status_code} {kind} {str(error.get('message') or '')[:300]}".strip()
        if kind in THROTTLED or status_code == 429:
            return ProviderThrottled(message)
        if status_code >= 500:
            return None  # retried
        return ProviderError(message, code=REFUSALS.get(kind, "provider_rejected"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


PROVIDER: Provider = Veo()
