"""Exact requests the API fuzzer (test_fuzz_api.py) or the isolation sweep found answering
wrongly, each kept as a plain test after its fix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    key = accounts.create_api_key(platform, "fuzz").key
    with TestClient(create_app(platform)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


@pytest.mark.parametrize("path", ["/v1/videos", "/v1/quotes", "/v1/moderations"])
def test_a_json_body_that_is_not_utf8_is_invalid_json(client: TestClient, path: str) -> None:
    """Found by the fuzzer: FastAPI's own 400 for a body it cannot decode left with the
    catch-all code `http_error`; every other malformed JSON body is `invalid_json`."""
    r = client.post(path, content=b"%7l\xe8\xa5", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_json", r.text


def test_the_event_stream_schema_describes_each_event(
    platform: Platform, client: TestClient
) -> None:
    """Found by the fuzzer: GET /v1/videos/{id}/events declared `{"type": "string"}` for
    text/event-stream, which OpenAPI tools read as the schema of each event (an object of
    `id`, `event`, `data`); every event of a real stream must match what is declared."""
    import json

    import jsonschema

    from reelforge.worker.loop import Worker
    from tests.helpers import wait_for

    job = client.post(
        "/v1/videos",
        json={"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"},
    ).json()
    worker = Worker(platform).start()
    try:
        wait_for(lambda: client.get(f"/v1/videos/{job['id']}").json()["status"] == "succeeded")
    finally:
        worker.stop()
    op = client.get("/openapi.json").json()["paths"]["/v1/videos/{video_id}/events"]["get"]
    declared = op["responses"]["200"]["content"]["text/event-stream"]["schema"]
    text = client.get(f"/v1/videos/{job['id']}/events").text
    events = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(":")
        )
        if "data" in fields:
            events.append(fields)
    assert len(events) >= 3
    for event in events:
        jsonschema.validate(event, declared)
        assert json.loads(event["data"])["type"] == event["event"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"after": "2147483648"}, {}),  # past PostgreSQL's INTEGER: was a 500 there
        ({}, {"Last-Event-ID": "2147483648"}),
        ({"after": "9223372036854775808"}, {}),
        ({}, {"Last-Event-ID": "9223372036854775808"}),
    ],
)
def test_an_event_position_past_any_event_id_is_422(
    client: TestClient, params: dict, headers: dict
) -> None:
    """Found by the fuzzer on PostgreSQL: `GET /v1/videos/{id}/events?after=2147483648`
    answered 500 (job_events.seq is a 32-bit INTEGER; psycopg NumericValueOutOfRange)."""
    job = client.post(
        "/v1/videos",
        json={"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"},
    ).json()
    client.post(f"/v1/videos/{job['id']}/cancel")  # final: a stream would end by itself
    r = client.get(f"/v1/videos/{job['id']}/events", params=params, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"


@pytest.mark.timeout(60)
def test_a_last_event_id_of_non_ascii_digits_is_not_a_500(client: TestClient) -> None:
    """`str.isdigit` is true for "²" but int("²") raises: the header is read as latin-1."""
    job = client.post(
        "/v1/videos",
        json={"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"},
    ).json()
    client.post(f"/v1/videos/{job['id']}/cancel")  # final: the stream ends by itself
    r = client.get(f"/v1/videos/{job['id']}/events", headers={"Last-Event-ID": b"\xb2"})
    assert r.status_code < 500, r.text
