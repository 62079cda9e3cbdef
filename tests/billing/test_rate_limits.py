"""Request rate limits: only work-creating requests count against the plan's
`requests_per_minute`; reads (polls, SSE, downloads) have their own, much larger
`reads_per_minute`. Every rate-limited response says where the client stands
(`X-RateLimit-Limit/Remaining/Reset`) and every 429 says when to come back (`Retry-After`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.app.platform import Platform
from reelforge.config import Settings
from reelforge.services.accounts import accounts
from reelforge.services.billing import customers
from reelforge.services.billing.ratelimit import RateLimiter
from reelforge.worker.loop import Worker
from tests.billing.test_credits import BODY, Clock, billed, custom_sheet
from tests.fakes import GradientBackend
from tests.helpers import wait_final

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


class Frozen:
    """The rate limiter's clock: a minute passes only when a test says so."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def frozen() -> Frozen:
    return Frozen()


@pytest.fixture
def p(
    settings: Settings, backend: GradientBackend, frozen: Frozen, tmp_path: Path
) -> Iterator[Platform]:
    sheet = custom_sheet(
        tmp_path,
        burst={
            "concurrency": 100,
            "max_queued": 100,
            "postpaid": True,
            "credit_usd": 0.01,
            "requests_per_minute": 20,
            "reads_per_minute": 100,
        },
    )
    platform = billed(settings, backend, Clock(), billing_file=sheet)
    platform.billing.rate_limiter = RateLimiter(clock=frozen)
    yield platform
    platform.close()


def client(p: Platform, account: str) -> TestClient:
    c = TestClient(create_app(p))
    c.headers["Authorization"] = f"Bearer {accounts.create_api_key(p, account).key}"
    return c


def test_polling_a_job_sse_and_the_download_are_not_refused_on_the_free_plan(p: Platform) -> None:
    with client(p, "alice") as c:
        created = c.post("/v1/videos", json=BODY)
        assert created.status_code == 202, created.text
        assert created.headers["X-RateLimit-Limit"] == "20"
        assert created.headers["X-RateLimit-Remaining"] == "19"
        job_id = created.json()["id"]
        acct = accounts.ensure_account(p, "alice")
        worker = Worker(p).start()
        try:
            polls = [c.get(f"/v1/videos/{job_id}") for _ in range(60)]
            wait_final(p, acct, job_id)
        finally:
            worker.stop()
        assert [r.status_code for r in polls] == [200] * 60
        last = polls[-1]
        assert int(last.headers["X-RateLimit-Limit"]) >= 600  # the read budget
        assert (
            int(last.headers["X-RateLimit-Remaining"])
            == int(last.headers["X-RateLimit-Limit"]) - 60
        )
        events = c.get(f"/v1/videos/{job_id}/events")
        assert events.status_code == 200 and "event: succeeded" in events.text
        content = c.get(f"/v1/videos/{job_id}/content")
        assert content.status_code == 200 and content.content[4:8] == b"ftyp"
        for streamed in (events, content):  # streams carry the headers too
            assert all(h in streamed.headers for h in RATE_HEADERS)
        assert c.get("/v1/videos").status_code == 200
        # The polls took nothing from the submit budget.
        again = c.post("/v1/videos", json=BODY)
        assert again.status_code == 202 and again.headers["X-RateLimit-Remaining"] == "18"


def test_the_21st_submit_in_a_minute_is_429_with_retry_after_and_the_headers(
    p: Platform, frozen: Frozen
) -> None:
    with client(p, "acme") as c:
        customers.set_plan(p, "acme", "burst")  # 20 submits a minute, 100 at a time
        codes = [c.post("/v1/videos", json=BODY).status_code for _ in range(20)]
        assert codes == [202] * 20
        refused = c.post("/v1/videos", json=BODY)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 3  # one token comes back in 3 s
        assert refused.headers["X-RateLimit-Limit"] == "20"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert 1 <= int(refused.headers["X-RateLimit-Reset"]) <= 60
        # Reads still pass, and a cancel (it stops spending) is never refused for rate.
        listed = c.get("/v1/videos?limit=1")
        assert listed.status_code == 200
        job_id = listed.json()["data"][0]["id"]
        assert c.post(f"/v1/videos/{job_id}/cancel").status_code == 200
        frozen.t += 3.0  # one token refilled
        assert c.post("/v1/videos", json=BODY).status_code == 202


def test_the_read_budget_is_enforced_too(p: Platform, frozen: Frozen) -> None:
    with client(p, "acme") as c:
        customers.set_plan(p, "acme", "burst")
        limit = int(c.get("/v1/account").headers["X-RateLimit-Limit"])
        assert limit == 100
        codes = [c.get("/v1/account").status_code for _ in range(limit)]
        assert codes.count(429) == 1 and codes[-1] == 429
        refused = c.get("/v1/account")
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["X-RateLimit-Remaining"] == "0"


def test_every_429_carries_retry_after(p: Platform) -> None:
    with client(p, "alice") as c:  # free: one at a time, 10 waiting, 20 credits a day
        customers.grant(p, "alice", 1000)
        codes = [c.post("/v1/videos", json=BODY) for _ in range(12)]
        assert [r.status_code for r in codes] == [202] * 11 + [429]
        full = codes[-1]
        assert full.json()["error"]["code"] == "queue_full"
        assert int(full.headers["Retry-After"]) >= 1
        assert all(h in full.headers for h in RATE_HEADERS)
