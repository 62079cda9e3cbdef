"""Runway's API as documented (see backends/providers/runway.py): bearer key plus the required
X-Runway-Version header, POST /v1/image_to_video and /v1/text_to_video returning {id}, GET
/v1/tasks/{id} with PENDING → (THROTTLED) → RUNNING → SUCCEEDED | FAILED, progress and output
URLs, DELETE /v1/tasks/{id} (cancel), 429 on the organisation's rate limit."""

from __future__ import annotations

import uuid
from typing import Any

from tests.providers.fakes.base import Answer, FakeProvider

VERSION = "2024-11-06"
STATUS = {"queued": "PENDING", "running": "RUNNING", "succeeded": "SUCCEEDED", "failed": "FAILED"}


class FakeRunway(FakeProvider):
    def __init__(self, video: Any, api_key: str):
        super().__init__(video)
        self.api_key = api_key
        self.throttled_polls = 0  # status reads answered THROTTLED before the task runs

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> Answer:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return Answer(401, {"error": "Invalid API key"})
        if headers.get("x-runway-version") != VERSION:
            return Answer(400, {"error": "X-Runway-Version header is required"})
        if method == "POST" and path in ("/v1/image_to_video", "/v1/text_to_video"):
            echoed = self.echo(headers)
            if echoed:
                return Answer(400, {"error": echoed})
            return self.create(path, body)
        if path.startswith("/v1/tasks/"):
            task_id = path.removeprefix("/v1/tasks/")
            with self.lock:
                task = self.tasks.get(task_id)
            if task is None:
                return Answer(404, {"error": "Task not found"})
            if method == "DELETE":
                with self.lock:
                    task["cancelled"] = True
                return Answer(204)
            if method == "GET":
                return self.query(task)
        return Answer(404, {"error": "Not found"})

    def create(self, path: str, body: Any) -> Answer:
        if not isinstance(body, dict) or body.get("model") is None:
            return Answer(400, {"error": "model is required"})
        if path == "/v1/image_to_video":
            image = body.get("promptImage")
            uris = [image] if isinstance(image, str) else [i.get("uri") for i in image or []]
            if not uris or not all(
                isinstance(u, str) and u.startswith("data:image/") for u in uris
            ):
                return Answer(400, {"error": "promptImage must be an HTTPS URL or a data URI"})
        elif not body.get("promptText"):
            return Answer(400, {"error": "promptText is required"})
        if body.get("ratio") not in (
            "1280:720",
            "720:1280",
            "960:960",
            "1104:832",
            "1280:768",
            "768:1280",
        ):
            return Answer(400, {"error": "invalid ratio"})
        if self.take_throttle():
            return Answer(429, {"error": "Too many requests"}, {"retry-after": "0.2"})
        task_id = str(uuid.uuid4())
        self.register(task_id, {"id": task_id, "body": body, "throttled": self.throttled_polls})
        return Answer(200, {"id": task_id})

    def query(self, task: dict[str, Any]) -> Answer:
        with self.lock:
            if task["throttled"] > 0:
                task["throttled"] -= 1
                return Answer(200, {"id": task["id"], "status": "THROTTLED", "createdAt": "x"})
        state = self.advance(task)
        if state == "cancelled":
            return Answer(200, {"id": task["id"], "status": "CANCELLED"})
        view: dict[str, Any] = {"id": task["id"], "status": STATUS[state], "createdAt": "x"}
        if state == "running":
            view["progress"] = 0.5
        if state == "failed":
            view["failure"] = self.quoted("The content moderation system rejected the output")
            view["failureCode"] = "SAFETY.OUTPUT.VIDEO"
        if state == "succeeded":
            view["output"] = [f"{self.base_url}/files/{task['id']}.mp4?_jwt=signed-url-token"]
        return Answer(200, view)
