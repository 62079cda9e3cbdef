"""The Gemini API's Veo endpoints as documented (see backends/providers/veo.py): key in
`x-goog-api-key`, POST /v1beta/models/{model}:predictLongRunning → an operation name, GET
/v1beta/{operation} until `done`, the result's file URI downloaded with the key; errors as
{error: {code, message, status}} (403 PERMISSION_DENIED, 400 INVALID_ARGUMENT, 429
RESOURCE_EXHAUSTED)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.providers.fakes.base import Answer, FakeProvider

MODELS = {
    "veo-3.1-generate-preview",
    "veo-3.1-fast-generate-preview",
    "veo-3.0-generate-001",
    "veo-3.0-fast-generate-001",
    "veo-2.0-generate-001",
}
RESPONSE_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
_CREATE = re.compile(r"^/v1beta/models/([^/:]+):predictLongRunning$")
_OPERATION = re.compile(r"^/v1beta/(models/[^/]+/operations/[A-Za-z0-9_\-]+)$")
_FILE = re.compile(r"^/v1beta/files/([A-Za-z0-9]+):download$")


def _error(code: int, status: str, message: str) -> Answer:
    return Answer(code, {"error": {"code": code, "message": message, "status": status}})


class FakeVeo(FakeProvider):
    def __init__(self, video: Any, api_key: str):
        super().__init__(video)
        self.api_key = api_key
        self.filtered = False  # the provider's safety filter keeps the video back
        self.foreign_uri = False  # the result names another host (must not get the key)
        # the file URI answers 302 to this storage server, as the real API redirects
        # (clients fetch it with `curl -L`); the key must not follow
        self.redirect_to: str | None = None

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> Answer:
        if headers.get("x-goog-api-key") != self.api_key:
            return _error(
                403, "PERMISSION_DENIED", "API key not valid. Please pass a valid API key."
            )
        if method == "POST" and (match := _CREATE.match(path)):
            return self.create(match.group(1), body)
        if method == "GET" and (match := _OPERATION.match(path)):
            return self.operation(match.group(1))
        if method == "GET" and (match := _FILE.match(path)) and query.get("alt") == ["media"]:
            if self.redirect_to:
                location = f"{self.redirect_to}/files/{match.group(1)}.mp4?sig=s"
                return Answer(302, None, {"location": location})
            return self.file(match.group(1))
        return _error(404, "NOT_FOUND", f"{path} not found")

    def create(self, model: str, body: Any) -> Answer:
        if model not in MODELS:
            return _error(404, "NOT_FOUND", f"models/{model} is not found")
        instances = body.get("instances") if isinstance(body, dict) else None
        if not isinstance(instances, list) or len(instances) != 1 or not instances[0].get("prompt"):
            return _error(400, "INVALID_ARGUMENT", "instances[0].prompt is required")
        params = body.get("parameters") or {}
        if params.get("aspectRatio") not in ("16:9", "9:16"):
            return _error(400, "INVALID_ARGUMENT", "aspectRatio must be 16:9 or 9:16")
        for key in ("image", "lastFrame"):
            image = instances[0].get(key)
            if image is not None and (
                not image.get("bytesBase64Encoded")
                or not image.get("mimeType", "").startswith("image/")
            ):
                return _error(400, "INVALID_ARGUMENT", f"instances[0].{key} is not an image")
        if self.take_throttle():
            return _error(
                429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."
            )
        name = f"models/{model}/operations/{uuid.uuid4().hex[:12]}"
        with self.lock:
            self.tasks[name] = {"name": name, "body": body, "file": uuid.uuid4().hex[:16]}
        return Answer(200, {"name": name})

    def operation(self, name: str) -> Answer:
        task = self.tasks.get(name)
        if task is None:
            return _error(404, "NOT_FOUND", f"{name} not found")
        state = self.advance(task)
        if state in ("queued", "running"):
            return Answer(200, {"name": name})
        if state == "failed":
            return Answer(
                200,
                {
                    "name": name,
                    "done": True,
                    "error": {"code": 13, "message": self.quoted("Internal error")},
                },
            )
        host = "https://storage.example.com" if self.foreign_uri else self.base_url
        response: dict[str, Any] = {
            "@type": RESPONSE_TYPE,
            "generateVideoResponse": {
                "generatedSamples": [
                    {"video": {"uri": f"{host}/v1beta/files/{task['file']}:download?alt=media"}}
                ]
            },
        }
        if self.filtered:
            response["generateVideoResponse"] = {
                "raiMediaFilteredCount": 1,
                "raiMediaFilteredReasons": ["The video was filtered for safety."],
            }
        return Answer(200, {"name": name, "done": True, "response": response})
