"""A provider's answers are outside strings too (issue 13: every string from outside is hostile
until checked). Text a hosted provider sends back — a failure message, a refusal's body, a task
id — is cleaned where it enters the platform (ProviderApi): NUL, the other control characters
but tab and newline, and lone surrogates are removed and a failure text is bounded, so on
PostgreSQL (whose text refuses NUL) the job still ends with the provider's own outcome and a
readable message, not `finalize_failed` because its final write broke."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reelforge.backends.providers.http import ProviderApi, Redactor
from reelforge.storage import provider_tasks
from tests.providers.conftest import Hosted
from tests.providers.fakes.base import Answer

HOSTILE = "\x00\x1b[31m\x85\ud800\x07"  # NUL, ESC, C1 NEL, a lone surrogate, BEL


def _readable(text: str) -> None:
    assert not any(ord(c) < 32 and c not in "\t\n" for c in text), repr(text)
    assert not any(0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) <= 0xDFFF for c in text), repr(text)
    text.encode("utf-8")  # no lone surrogate: it can be stored, logged and sent


@pytest.mark.parametrize("stack", ["sqlite", "postgres"])
def test_a_failure_message_with_control_characters_ends_provider_failed(
    hosted: Callable[..., Hosted], stack: str
) -> None:
    h = hosted("runway", "gen4.5", stack=stack)
    h.fake.fail_tasks = True
    # the provider's failure text carries NUL and friends, and is very long
    h.fake.quoted = lambda text: f"{text}{HOSTILE} (details: {'x' * 5000})"  # type: ignore[method-assign]
    job = h.submit(duration=5)
    done = h.run(job["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "provider_failed"  # before: internal_error / finalize_failed
    message = done["error"]["message"]
    _readable(message)
    assert "The content moderation system rejected the output[31m (details: x" in message
    assert "SAFETY.OUTPUT.VIDEO" in message
    assert len(message) < 1200  # bounded, not the provider's 5,000 characters
    assert done["billing"] == "released"
    with h.p.db.session(write=False) as s:
        row = provider_tasks.get(s, job["id"])
        assert row is not None and row.state == "failed" and row.detail
        _readable(row.detail)


@pytest.mark.parametrize("stack", ["sqlite", "postgres"])
def test_a_refusal_whose_body_is_hostile_text_ends_provider_rejected(
    hosted: Callable[..., Hosted], stack: str
) -> None:
    """A 400 whose body is not JSON (text quoted into the job's error message as it came)."""
    h = hosted("runway", "gen4.5", stack=stack)
    real = h.fake.route

    def route(method: str, path: str, *args: Any) -> Answer:
        if method == "POST":
            text = f"bad request{HOSTILE}: prompt refused"
            return Answer(400, text.encode("utf-8", "surrogatepass"))
        return real(method, path, *args)

    h.fake.route = route  # type: ignore[method-assign,assignment]
    done = h.run(h.submit(duration=5)["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "provider_rejected"  # before: internal_error / finalize_failed
    _readable(done["error"]["message"])
    assert "400 bad request[31m" in done["error"]["message"]


@pytest.mark.parametrize("stack", ["sqlite", "postgres"])
def test_a_task_id_and_result_url_with_control_characters_are_cleaned(
    hosted: Callable[..., Hosted], stack: str
) -> None:
    """The task id is stored (the checkpoint, the job's compute record): a NUL in it broke
    those writes on PostgreSQL. Cleaned, it is the id the provider knows."""
    h = hosted("runway", "gen4.5", stack=stack)
    real = h.fake.route

    def route(method: str, path: str, *args: Any) -> Answer:
        answer = real(method, path, *args)
        if isinstance(answer.body, dict) and method == "POST" and "id" in answer.body:
            answer.body["id"] += "\x00"
        if isinstance(answer.body, dict) and answer.body.get("output"):
            answer.body["output"] = [u + "\x1b\x9b" for u in answer.body["output"]]
        return answer

    h.fake.route = route  # type: ignore[method-assign,assignment]
    job = h.submit(duration=5)
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done.get("error")
    with h.p.db.session(write=False) as s:
        row = provider_tasks.get(s, job["id"])
        assert row is not None and row.task_id is not None
        _readable(row.task_id)
        assert row.task_id in h.fake.tasks


def test_every_string_of_a_json_answer_is_cleaned_as_it_enters() -> None:
    body = {
        "id": f"task{HOSTILE}1",
        "status": "FAILED\x00",
        "nested": [{"url\x00": f"https://cdn.example/v.mp4{HOSTILE}"}, 3, None, True],
        "text": "line one\nline\ttwo\r",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        # as a provider sends it: JSON escapes (\u0000, \ud800) in an ASCII body
        return httpx.Response(200, content=json.dumps(body).encode())

    with ProviderApi(
        "runway",
        "https://api.example",
        auth=dict,
        redact=Redactor(),
        transport=httpx.MockTransport(handler),
    ) as api:
        answer = api.request("GET", "/v1/tasks/1")
    assert answer == {
        "id": "task[31m1",
        "status": "FAILED",
        "nested": [{"url": "https://cdn.example/v.mp4[31m"}, 3, None, True],
        "text": "line one\nline\ttwo",
    }


def test_a_key_quoted_back_with_control_characters_in_it_is_still_redacted() -> None:
    """Cleaning happens before the redaction too: a failure text that quotes our key with a
    NUL or an escape inside it must not come out, once cleaned, as the bare key."""
    from dataclasses import dataclass

    from reelforge.backends.providers.backend import Redacting
    from reelforge.backends.providers.base import RemoteStatus

    key = "sk-live-0123456789abcdef"

    @dataclass
    class Quoting:  # only status() is called here
        name: str = "quoting"
        credential_settings: tuple[str, ...] = ()
        cancellable: bool = False
        source: str = ""

        def status(self, api: object, task_id: str, params: object) -> RemoteStatus:
            split = key[:7] + "\x00\x1b" + key[7:]
            return RemoteStatus("failed", error=f"bad key {split}", error_code=f"E{split}")

    wrapped = Redacting(Quoting(), Redactor([key]))  # type: ignore[arg-type]
    status = wrapped.status(object(), "t1", {})  # type: ignore[arg-type]
    assert status.error is not None and status.error_code is not None
    assert key not in status.error and key not in status.error_code, status
    assert "***" in status.error
