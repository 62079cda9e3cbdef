"""Luma's Dream Machine API as documented (see backends/providers/luma.py): bearer key, POST
/generations with keyframes and callback_url returning 201 with the Generation, GET
/generations/{id} with queued → dreaming → completed | failed, DELETE /generations/{id}, and a
callback POST of the Generation on each state change."""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Any

import httpx

from tests.providers.fakes.base import Answer, FakeProvider

STATE = {"queued": "queued", "running": "dreaming", "succeeded": "completed", "failed": "failed"}


class FakeLuma(FakeProvider):
    def __init__(self, video: Any, api_key: str):
        super().__init__(video)
        self.api_key = api_key
        self.callbacks_sent: list[dict[str, Any]] = []

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> Answer:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return Answer(401, {"detail": "Invalid API key provided"})
        if method == "POST" and path == "/generations":
            echoed = self.echo(headers)
            if echoed:
                return Answer(400, {"detail": echoed})
            return self.create(body)
        if path.startswith("/generations/"):
            gen_id = path.removeprefix("/generations/")
            with self.lock:
                task = self.tasks.get(gen_id)
            if task is None:
                return Answer(404, {"detail": "Generation not found"})
            if method == "DELETE":
                with self.lock:
                    task["cancelled"] = True
                return Answer(204)
            state = self.advance(task)
            return Answer(200, self.view(task, state))
        return Answer(404, {"detail": "Not found"})

    def create(self, body: Any) -> Answer:
        if not isinstance(body, dict) or (not body.get("prompt") and not body.get("keyframes")):
            return Answer(400, {"detail": "prompt is required"})
        for frame in (body.get("keyframes") or {}).values():
            if frame.get("type") != "image" or not str(frame.get("url", "")).startswith(
                "data:image/"
            ):
                return Answer(400, {"detail": "keyframe must be an image"})
        if body.get("duration") not in (None, "5s", "9s"):
            return Answer(400, {"detail": "duration must be 5s or 9s"})
        if self.take_throttle():
            return Answer(429, {"detail": "Rate limit exceeded"})
        gen_id = str(uuid.uuid4())
        task = {"id": gen_id, "body": body, "callback_url": body.get("callback_url")}
        self.register(gen_id, task)
        if task["callback_url"]:
            threading.Timer(0.05, self._callback, args=(task, "running")).start()
        return Answer(201, self.view(task, "queued"))

    def view(self, task: dict[str, Any], state: str) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": task["id"],
            "generation_type": "video",
            "state": STATE.get(state, "failed"),
            "failure_reason": self.quoted("Prompt not allowed") if state == "failed" else None,
            "created_at": "2026-12-06T08:00:00Z",
            "assets": None,
            "model": task["body"].get("model"),
            "request": task["body"],
        }
        if state == "succeeded":
            view["assets"] = {"video": f"{self.base_url}/files/{task['id']}.mp4"}
        return view

    def _callback(self, task: dict[str, Any], state: str) -> None:
        body = self.view(task, state)
        self.callbacks_sent.append(body)
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(task["callback_url"], json=body, timeout=5)
