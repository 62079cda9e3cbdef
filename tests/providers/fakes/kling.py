"""Kling's API as documented (see backends/providers/kling.py): JWT-authenticated task creation
for text2video and image2video with external_task_id and callback_url, the task query by
task id or external id, statuses submitted/processing/succeed/failed, and the documented error
codes (1002 bad token, 1201 bad parameter, 1303 concurrency over the resource package)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
import uuid
from typing import Any

import httpx

from tests.providers.fakes.base import Answer, FakeProvider

KINDS = ("text2video", "image2video")
STATUS = {
    "queued": "submitted",
    "running": "processing",
    "succeeded": "succeed",
    "failed": "failed",
}


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeKling(FakeProvider):
    def __init__(self, video: Any, access_key: str, secret_key: str):
        super().__init__(video)
        self.access_key, self.secret_key = access_key, secret_key

    def check_jwt(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return False
        try:
            head, payload, signature = auth[7:].split(".")
        except ValueError:
            return False
        expected = hmac.new(self.secret_key.encode(), f"{head}.{payload}".encode(), hashlib.sha256)
        if not hmac.compare_digest(_unb64(signature), expected.digest()):
            return False
        claims = json.loads(_unb64(payload))
        now = time.time()
        return (
            json.loads(_unb64(head)).get("alg") == "HS256"
            and claims.get("iss") == self.access_key
            and claims.get("nbf", now) <= now + 1
            and claims.get("exp", 0) > now
        )

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> Answer:
        if not self.check_jwt(headers):
            return Answer(
                401, {"code": 1002, "message": "Authorization is invalid", "request_id": "r"}
            )
        parts = path.strip("/").split("/")
        if (
            len(parts) == 3
            and parts[:2] == ["v1", "videos"]
            and parts[2] in KINDS
            and method == "POST"
        ):
            return self.create(parts[2], body, headers)
        if (
            len(parts) == 4
            and parts[:2] == ["v1", "videos"]
            and parts[2] in KINDS
            and method == "GET"
        ):
            return self.query(parts[2], parts[3])
        return Answer(404, {"code": 1200, "message": "not found", "request_id": "r"})

    def create(self, kind: str, body: Any, headers: dict[str, str]) -> Answer:
        if not isinstance(body, dict) or not body.get("model_name"):
            return Answer(
                400, {"code": 1201, "message": "model_name is required", "request_id": "r"}
            )
        if kind == "image2video" and not body.get("image"):
            return Answer(400, {"code": 1201, "message": "image is required", "request_id": "r"})
        if kind == "text2video" and not body.get("prompt"):
            return Answer(400, {"code": 1201, "message": "prompt is required", "request_id": "r"})
        if body.get("duration") not in ("5", "10") or body.get("mode") not in ("std", "pro"):
            return Answer(400, {"code": 1201, "message": "bad duration or mode", "request_id": "r"})
        echoed = self.echo(headers)
        if echoed:
            return Answer(400, {"code": 1201, "message": echoed, "request_id": "r"})
        if self.quote_key and not self.fail_tasks:  # a 200 without a task, quoting the token
            message = self.quoted("task not accepted")
            return Answer(200, {"code": 0, "message": message, "request_id": "r", "data": None})
        if self.take_throttle():
            return Answer(
                429,
                {
                    "code": 1303,
                    "message": "parallel task over resource pack limit",
                    "request_id": "r",
                },
            )
        task_id = uuid.uuid4().hex[:20]
        task = {
            "kind": kind,
            "task_id": task_id,
            "external_task_id": body.get("external_task_id"),
            "callback_url": body.get("callback_url"),
            "body": body,
            "created_at": int(time.time() * 1000),
        }
        self.register(task_id, task)
        if task["callback_url"]:
            threading.Timer(0.05, self._callback, args=(task,)).start()
        return Answer(
            200,
            {
                "code": 0,
                "message": "SUCCEED",
                "request_id": "r",
                "data": {
                    "task_id": task_id,
                    "task_status": "submitted",
                    "task_info": {"external_task_id": task["external_task_id"]},
                    "created_at": task["created_at"],
                    "updated_at": task["created_at"],
                },
            },
        )

    def _find(self, kind: str, ident: str) -> dict[str, Any] | None:
        with self.lock:
            task = self.tasks.get(ident)
            if task is None:
                task = next(
                    (t for t in self.tasks.values() if t["external_task_id"] == ident), None
                )
        return task if task is not None and task["kind"] == kind else None

    def query(self, kind: str, ident: str) -> Answer:
        task = self._find(kind, ident)
        if task is None:
            return Answer(404, {"code": 1203, "message": "task not found", "request_id": "r"})
        state = self.advance(task)
        return Answer(
            200,
            {"code": 0, "message": "SUCCEED", "request_id": "r", "data": self.view(task, state)},
        )

    def view(self, task: dict[str, Any], state: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "task_id": task["task_id"],
            "task_status": STATUS.get(state, "failed"),
            "task_status_msg": (
                self.quoted("risk control: content failed review") if state == "failed" else ""
            ),
            "task_info": {"external_task_id": task["external_task_id"]},
            "created_at": task["created_at"],
            "updated_at": int(time.time() * 1000),
        }
        if state == "succeeded":
            data["task_result"] = {
                "videos": [
                    {
                        "id": f"v-{task['task_id']}",
                        "url": f"{self.base_url}/files/{task['task_id']}.mp4",
                        "duration": str(task["body"]["duration"]),
                    }
                ]
            }
        return data

    def _callback(self, task: dict[str, Any]) -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(task["callback_url"], json=self.view(task, "running"), timeout=5)
