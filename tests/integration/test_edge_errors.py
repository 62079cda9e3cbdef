"""Inputs that answered 500 (issue 13 item 11) now get a clear 4xx with the error shape:
callback URLs whose host is not a valid DNS name (an empty or 64-character label: idna's
UnicodeError), sequence numbers past 64 bits (OverflowError in the database driver) in
`?after=` or `Last-Event-ID`, and a lone surrogate in a moderation text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.errors import UnsafeCallbackUrl
from reelforge.net.callbacks import check_callback_url
from reelforge.services.accounts import accounts

BODY = {"prompt": "a gradient", "duration": 1, "resolution": "480p", "model": "gradient"}
BAD_HOSTS = [
    "http://a..b/",
    "http://" + "a" * 64 + ".example.com/",
    "https://.x/",
    "http://" + "a." * 130 + "com/",
    "http://xn--/",
]


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    key = accounts.create_api_key(platform, "alice").key
    with TestClient(create_app(platform), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def _clear_4xx(r: Any, status: int = 422) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    error = r.json()["error"]
    assert error["code"] and error["message"]
    return dict(error)


@pytest.mark.parametrize("url", BAD_HOSTS)
def test_a_host_that_is_not_a_dns_name_is_an_unsafe_callback(url: str) -> None:
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url(url)


@pytest.mark.parametrize("url", BAD_HOSTS[:2])
def test_submit_with_such_a_callback_is_a_422(client: TestClient, url: str) -> None:
    error = _clear_4xx(client.post("/v1/videos", json={**BODY, "callback_url": url}))
    assert error["field"] == "callback_url"
    assert client.get("/v1/videos").json()["data"] == []


def test_event_sequence_numbers_past_64_bits_are_refused(client: TestClient) -> None:
    job = client.post("/v1/videos", json=BODY).json()
    huge = str(2**63)
    error = _clear_4xx(client.get(f"/v1/videos/{job['id']}/events", params={"after": huge}))
    assert error["field"] == "after"
    error = _clear_4xx(
        client.get(f"/v1/videos/{job['id']}/events", headers={"Last-Event-ID": huge})
    )
    assert error["field"] == "last-event-id"
    r = client.get("/v1/videos", params={"limit": huge})
    assert 400 <= r.status_code < 500, r.text


def test_a_lone_surrogate_in_a_moderation_text_is_a_422(client: TestClient) -> None:
    r = client.post(
        "/v1/moderations",
        content=b'{"text": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert _clear_4xx(r)["code"] == "invalid_characters"
