"""OpenAI's videos API as documented (see backends/providers/openai.py): Bearer key, POST
/v1/videos → a video object (queued), GET /v1/videos/{id} (queued → in_progress with progress
→ completed | failed with error {code, message}), GET /v1/videos/{id}/content (the MP4, with
the key), errors as {error: {message, type, param, code}} (401 invalid_api_key, 400
invalid_request_error, 429 rate_limit_exceeded or insufficient_quota)."""

from __future__ import annotations

import base64
import io
import re
import time
import uuid
from typing import Any

from PIL import Image

from tests.providers.fakes.base import Answer, FakeProvider

SIZES = {
    "sora-2": {"720x1280", "1280x720"},
    "sora-2-pro": {"720x1280", "1280x720", "1024x1792", "1792x1024"},
}
_VIDEO = re.compile(r"^/v1/videos/(video_[0-9a-f]+)$")
_CONTENT = re.compile(r"^/v1/videos/(video_[0-9a-f]+)/content$")
STATUS = {"queued": "queued", "running": "in_progress", "succeeded": "completed"}


def _error(status: int, message: str, kind: str, code: str, param: str | None = None) -> Answer:
    return Answer(
        status, {"error": {"message": message, "type": kind, "param": param, "code": code}}
    )


class FakeSora(FakeProvider):
    def __init__(self, video: Any, api_key: str):
        super().__init__(video)
        self.api_key = api_key
        self.quota_exhausted = False  # 429 insufficient_quota: the account, not the rate

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> Answer:
        given = headers.get("authorization", "").removeprefix("Bearer ")
        if given != self.api_key:  # the key quoted back, as OpenAI's message does
            return _error(
                401,
                f"Incorrect API key provided: {given}.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if method == "POST" and path == "/v1/videos":
            return self.create(body)
        if method == "GET" and (match := _VIDEO.match(path)):
            return self.read(match.group(1))
        if method == "GET" and (match := _CONTENT.match(path)):
            if query.get("variant", ["video"]) != ["video"]:
                return _error(400, "unknown variant", "invalid_request_error", "invalid_value")
            task = self.tasks.get(match.group(1))
            if task is None or task.get("state") != "succeeded":
                return _error(404, "video is not ready", "invalid_request_error", "not_found")
            return self.file(match.group(1))
        return _error(404, f"{path} not found", "invalid_request_error", "not_found")

    def create(self, body: Any) -> Answer:
        if not isinstance(body, dict) or body.get("model") not in SIZES:
            return _error(400, "invalid model", "invalid_request_error", "invalid_value", "model")
        if body.get("seconds") not in ("4", "8", "12"):
            return _error(
                400, "invalid seconds", "invalid_request_error", "invalid_value", "seconds"
            )
        if body.get("size") not in SIZES[body["model"]]:
            return _error(400, "invalid size", "invalid_request_error", "invalid_value", "size")
        reference = body.get("input_reference")
        if reference is not None:
            url = reference.get("image_url", "") if isinstance(reference, dict) else ""
            if not url.startswith("data:image/"):
                return _error(
                    400,
                    "bad input_reference",
                    "invalid_request_error",
                    "invalid_value",
                    "input_reference",
                )
            image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
            if f"{image.width}x{image.height}" != body["size"]:
                return _error(
                    400,
                    "Inpaint image must match the requested width and height",
                    "invalid_request_error",
                    "invalid_value",
                    "input_reference",
                )
        if self.quota_exhausted:
            return _error(
                429, "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
            )
        if self.take_throttle():
            return Answer(
                429,
                {
                    "error": {
                        "message": "Rate limit reached for requests",
                        "type": "requests",
                        "param": None,
                        "code": "rate_limit_exceeded",
                    }
                },
                {"retry-after": "0.1"},
            )
        video_id = f"video_{uuid.uuid4().hex[:24]}"
        task = {"id": video_id, "body": body, "created_at": int(time.time())}
        with self.lock:
            self.tasks[video_id] = task
        return Answer(200, self.view(task, "queued"))

    def read(self, video_id: str) -> Answer:
        task = self.tasks.get(video_id)
        if task is None:
            return _error(404, "no such video", "invalid_request_error", "not_found")
        return Answer(200, self.view(task, self.advance(task)))

    def view(self, task: dict[str, Any], state: str) -> dict[str, Any]:
        body = task["body"]
        done = state in ("succeeded", "failed")
        return {
            "id": task["id"],
            "object": "video",
            "model": body["model"],
            "status": STATUS.get(state, "failed"),
            "progress": 100 if state == "succeeded" else 40 if state == "running" else 0,
            "created_at": task["created_at"],
            "completed_at": int(time.time()) if done else None,
            "expires_at": int(time.time()) + 3600 if state == "succeeded" else None,
            "prompt": body.get("prompt"),
            "seconds": body["seconds"],
            "size": body["size"],
            "remixed_from_video_id": None,
            "error": (
                {
                    "code": "video_generation_failed",
                    "message": self.quoted("the video could not be made"),
                }
                if state == "failed"
                else None
            ),
        }
