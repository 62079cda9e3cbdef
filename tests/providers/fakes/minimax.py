"""MiniMax's video API as documented (see backends/providers/minimax.py): Bearer-key task
creation at /v1/video_generation, the task query (Preparing/Queueing/Processing/Success/Fail,
file_id on success), file retrieval (/v1/files/retrieve → download_url), and errors the way
MiniMax sends them: HTTP 200 with base_resp.status_code (1004 login failed, 1002 rate limit,
2013 invalid parameters)."""

from __future__ import annotations

import itertools
from typing import Any

from tests.providers.fakes.base import Answer, FakeProvider

MODELS = {"MiniMax-Hailuo-2.3", "MiniMax-Hailuo-02", "T2V-01-Director", "I2V-01-Director"}
STATUS = {"queued": "Queueing", "running": "Processing", "succeeded": "Success", "failed": "Fail"}


def _base(code: int = 0, message: str = "success") -> dict[str, Any]:
    return {"status_code": code, "status_msg": message}


class FakeMiniMax(FakeProvider):
    def __init__(self, video: Any, api_key: str):
        super().__init__(video)
        self.api_key = api_key
        self.ids = itertools.count(106916112212032)
        self.result_without_file = False  # a "Success" without a file_id (a malformed answer)

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> Answer:
        given = headers.get("authorization", "")
        if given != f"Bearer {self.api_key}":  # quoting what it got, as some APIs do
            message = f"login fail: Please carefully check the API secret key ({given})"
            return Answer(200, {"base_resp": _base(1004, message)})
        if method == "POST" and path == "/v1/video_generation":
            return self.create(body)
        if method == "GET" and path == "/v1/query/video_generation":
            return self.query(query.get("task_id", [""])[0])
        if method == "GET" and path == "/v1/files/retrieve":
            return self.retrieve(query.get("file_id", [""])[0])
        return Answer(404, {"base_resp": _base(404, "not found")})

    def create(self, body: Any) -> Answer:
        if not isinstance(body, dict) or body.get("model") not in MODELS:
            return Answer(200, {"base_resp": _base(2013, "invalid params: model")})
        if not body.get("prompt") and not body.get("first_frame_image"):
            return Answer(200, {"base_resp": _base(2013, "invalid params: prompt")})
        if body.get("duration") not in (6, 10) or body.get("resolution") not in (
            "512P",
            "720P",
            "768P",
            "1080P",
        ):
            return Answer(200, {"base_resp": _base(2013, "invalid params: duration/resolution")})
        for key in ("first_frame_image", "last_frame_image"):
            if key in body and not str(body[key]).startswith("data:image/"):
                return Answer(200, {"base_resp": _base(2013, f"invalid params: {key}")})
        if self.quote_key:
            return Answer(200, {"base_resp": _base(2013, self.quoted("invalid params"))})
        if self.take_throttle():
            return Answer(200, {"base_resp": _base(1002, "rate limit exceeded(RPM)")})
        task_id = str(next(self.ids))
        with self.lock:
            self.tasks[task_id] = {"task_id": task_id, "body": body, "file_id": next(self.ids)}
        return Answer(200, {"task_id": task_id, "base_resp": _base()})

    def query(self, task_id: str) -> Answer:
        task = self.tasks.get(task_id)
        if task is None:
            return Answer(200, {"base_resp": _base(2013, "invalid params: task_id")})
        state = self.advance(task)
        answer: dict[str, Any] = {
            "task_id": task_id,
            "status": STATUS.get(state, "Fail"),
            "file_id": "",
            "base_resp": _base(),
        }
        if state == "succeeded" and not self.result_without_file:
            answer.update(file_id=str(task["file_id"]), video_width=1366, video_height=768)
        return Answer(200, answer)

    def retrieve(self, file_id: str) -> Answer:
        known = any(str(t["file_id"]) == file_id for t in self.tasks.values())
        if not known:
            return Answer(200, {"base_resp": _base(2013, "invalid params: file_id")})
        return Answer(
            200,
            {
                "file": {
                    "file_id": int(file_id),
                    "bytes": len(self.video),
                    "created_at": 1700469398,
                    "filename": "output_aigc.mp4",
                    "purpose": "video_generation",
                    "download_url": f"{self.base_url}/files/{file_id}.mp4?Expires=1&Signature=s",
                },
                "base_resp": _base(),
            },
        )
