"""The provider HTTP client against a real server on loopback: retries, throttling, ambiguous
creates, size caps, result locations it refuses to fetch, redaction."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from reelforge.backends.providers.base import (
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from reelforge.backends.providers.http import AmbiguousRequest, ProviderApi, Redactor, backoff
from reelforge.errors import PayloadTooLarge
from tests.providers.fakes.base import Answer, FakeProvider

SECRET = "sekrit-0123456789"


class Scripted(FakeProvider):
    """Answers from a script: path -> list of Answers (the last one repeats)."""

    def __init__(self, video: Path):
        super().__init__(video)
        self.script: dict[str, list[Answer]] = {}
        self.sleep = 0.0

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> Answer:
        if self.sleep:
            time.sleep(self.sleep)
        answers = self.script.get(path) or [Answer(404, {"error": "no"})]
        return answers.pop(0) if len(answers) > 1 else answers[0]


@pytest.fixture
def server(provider_video: Path) -> Any:
    fake = Scripted(provider_video).start()
    yield fake
    fake.stop()


def _api(server: Scripted, **kw: Any) -> ProviderApi:
    return ProviderApi(
        "testprov",
        server.base_url,
        auth=lambda: {"Authorization": f"Bearer {SECRET}"},
        redact=Redactor([SECRET]),
        wait=lambda s: None,
        **kw,
    )


def test_5xx_is_retried_then_reported(server: Scripted) -> None:
    server.script["/a"] = [Answer(503, {}), Answer(500, {}), Answer(200, {"ok": 1})]
    with _api(server) as api:
        assert api.request("GET", "/a") == {"ok": 1}
    server.script["/b"] = [Answer(502, {"error": f"upstream said {SECRET}"})]
    with _api(server, tries=3) as api, pytest.raises(ProviderUnavailable) as caught:
        api.request("GET", "/b")
    assert caught.value.code == "provider_unavailable" and "3 tries" in caught.value.message
    assert SECRET not in caught.value.message and SECRET not in str(caught.value)


def test_429_is_throttling_with_retry_after(server: Scripted) -> None:
    server.script["/c"] = [Answer(429, {"error": "slow down"}, {"retry-after": "7"})]
    with _api(server) as api, pytest.raises(ProviderThrottled) as caught:
        api.request("POST", "/c", json={}, idempotent=False)
    assert caught.value.retry_after == 7.0


def test_a_429_the_provider_calls_a_refusal_is_not_waited_for(server: Scripted) -> None:
    """OpenAI's 429 insufficient_quota: waiting does not cure an empty account."""
    server.script["/q"] = [Answer(429, {"error": {"code": "insufficient_quota"}})]

    def error_for(status: int, body: Any) -> ProviderError | None:
        return ProviderError("out of quota", code="provider_account") if status == 429 else None

    with _api(server, error_for=error_for) as api, pytest.raises(ProviderError) as caught:
        api.request("POST", "/q", json={}, idempotent=False)
    assert caught.value.code == "provider_account"
    assert not isinstance(caught.value, ProviderThrottled)


def test_a_redirect_to_another_port_of_the_provider_host_drops_the_key(
    server: Scripted, provider_video: Path, tmp_path: Path
) -> None:
    storage = Scripted(provider_video).start()  # a second server on the same loopback host
    try:
        server.script["/files-redirect"] = [
            Answer(302, None, {"location": f"{storage.base_url}/files/v.mp4"})
        ]
        with _api(server) as api:
            size = api.download(
                "/files-redirect", tmp_path / "v.mp4", max_bytes=10**8, authenticated=True
            )
        assert size == len(provider_video.read_bytes())
        [first] = [r for r in server.requests if r.path == "/files-redirect"]
        [second] = storage.requests
        assert first.headers["authorization"] == f"Bearer {SECRET}"
        assert "authorization" not in second.headers  # the key stays with the provider
    finally:
        storage.stop()


def test_a_create_that_times_out_is_not_sent_again(server: Scripted) -> None:
    server.script["/create"] = [Answer(200, {"id": "x"})]
    server.sleep = 0.5
    with _api(server, timeout=0.2) as api, pytest.raises(AmbiguousRequest):
        api.request("POST", "/create", json={}, idempotent=False)
    assert len([r for r in server.requests if r.path == "/create"]) == 1


def test_a_4xx_names_the_provider_and_hides_secrets(server: Scripted) -> None:
    server.script["/d"] = [Answer(400, {"error": f"bad key {SECRET}"})]
    with _api(server) as api, pytest.raises(ProviderError) as caught:
        api.request("POST", "/d", json={})
    assert caught.value.code == "provider_rejected"
    assert "testprov POST" in caught.value.message and "***" in caught.value.message
    assert SECRET not in str(caught.value)


def test_download_size_cap_and_redirect_checks(server: Scripted, tmp_path: Path) -> None:
    with _api(server) as api:
        assert (
            api.download("/files/x.mp4", tmp_path / "a.mp4", max_bytes=10**8, authenticated=False)
            > 0
        )
        with pytest.raises(PayloadTooLarge) as caught:
            api.download("/files/x.mp4", tmp_path / "b.mp4", max_bytes=1000, authenticated=False)
        assert caught.value.code == "provider_result_too_large"
        for url in (
            "http://example.com/v.mp4",
            "https://169.254.169.254/latest",
            "https://10.0.0.7/v",
        ):
            with pytest.raises(ProviderError) as refused:
                api.download(url, tmp_path / "c.mp4", max_bytes=10**8, authenticated=False)
            assert refused.value.code == "provider_bad_response"
        server.script["/moved"] = [Answer(302, None, {"location": "http://10.1.2.3:9/internal"})]
        with pytest.raises(ProviderError) as redirected:
            api.download("/moved", tmp_path / "d.mp4", max_bytes=10**8, authenticated=True)
        assert redirected.value.code == "provider_bad_response"


def test_backoff_is_jittered_and_capped() -> None:
    values = [backoff(n) for n in range(1, 12) for _ in range(20)]
    assert max(values) <= 20.0 and min(values) > 0
    assert len({round(v, 6) for v in values}) > 100  # jitter, not a fixed ladder
