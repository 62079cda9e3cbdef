"""Outgoing requests to user-given URLs (webhooks, image_url) go only to checked addresses:
no DNS rebinding between the check and the connection, no IPv6 form of a private IPv4."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.config import Settings
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.notify.deliveries import deliver_due, deliveries_of
from reelforge.storage.tables import WebhookDelivery
from tests.conftest import make_settings
from tests.fakes import GradientBackend
from tests.receiver import webhook_receiver

BODY = {"prompt": "x", "duration": 1, "resolution": "480p", "model": "gradient"}


@pytest.fixture
def p(tmp_path: Any) -> Iterator[Platform]:
    settings: Settings = make_settings(tmp_path, webhook_allow_hosts=[], webhook_timeout=3.0)
    backend = GradientBackend()
    settings.worker_queues.append(backend.queue)
    platform = bootstrap(settings, backends=[backend])
    yield platform
    platform.close()


def _free_port_on_both(a: str, b: str) -> int:
    for _ in range(20):
        with socket.socket() as s1:
            s1.bind((a, 0))
            port = s1.getsockname()[1]
            with socket.socket() as s2:
                try:
                    s2.bind((b, port))
                except OSError:
                    continue
            return int(port)
    raise RuntimeError("no port free on both addresses")


def test_webhook_goes_to_the_checked_address_not_a_rebound_one(
    p: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolver answers the allowlisted 127.0.0.2 to the first lookup of a delivery and
    127.0.0.1 (not allowed) to any later one: the signed POST must reach 127.0.0.2."""
    p.settings.webhook_allow_hosts = ["127.0.0.2/32"]
    port = _free_port_on_both("127.0.0.2", "127.0.0.1")
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.test":
            lookups.append(host)
            return real("127.0.0.2" if len(lookups) == 1 else "127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    acct = accounts.ensure_account(p, "alice")
    with (
        webhook_receiver("127.0.0.2", port) as (_, checked),
        webhook_receiver("127.0.0.1", port) as (_, rebound),
    ):
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        url = f"http://hooks.example.test:{port}/hook"
        job_id = str(
            submit_job(p, acct, SubmitRequest.parse({**BODY, "callback_url": url})).job["id"]
        )
        queries.cancel_job(p, acct, job_id)  # final at once: a delivery is due
        lookups.clear()
        assert deliver_due(p) == 1
    assert rebound.requests == []
    assert len(checked.requests) == 1
    headers, _ = checked.requests[0]
    assert headers["host"] == f"hooks.example.test:{port}"
    assert "reelforge-signature" in headers
    assert lookups == ["hooks.example.test"]  # resolved once per delivery
    assert deliveries_of(p, job_id)[0]["status"] == "delivered"


def test_a_webhook_redirect_is_not_followed(p: Platform) -> None:
    p.settings.webhook_allow_hosts = ["127.0.0.1"]
    p.settings.webhook_max_attempts = 1
    acct = accounts.ensure_account(p, "alice")
    with webhook_receiver() as (url, received):
        received.statuses = [307]  # a 307 would re-send the signed body elsewhere
        job_id = str(
            submit_job(p, acct, SubmitRequest.parse({**BODY, "callback_url": url})).job["id"]
        )
        queries.cancel_job(p, acct, job_id)
        deliver_due(p)
    assert len(received.requests) == 1
    delivery = deliveries_of(p, job_id)[0]
    assert delivery["status"] == "failed"
    assert delivery["attempts"][0]["status_code"] == 307  # type: ignore[index]


EMBEDDED_IPV4 = [
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[::127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
]


@pytest.mark.parametrize("url", EMBEDDED_IPV4)
def test_ipv6_forms_of_private_ipv4_are_refused_at_submit_and_never_delivered(
    p: Platform, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = accounts.create_api_key(p, "alice")
    with TestClient(create_app(p)) as client:
        r = client.post(
            "/v1/videos",
            json={**BODY, "callback_url": url},
            headers={"Authorization": f"Bearer {key.key}"},
        )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "unsafe_callback_url"
    with p.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0

    # A delivery row naming such a URL (written before this check existed) is refused at
    # send time too: no connection is ever opened.
    opened: list[object] = []
    real_connect = socket.create_connection

    def record(address: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", record)
    job_id = str(submit_job(p, key.account, SubmitRequest.parse(BODY)).job["id"])
    with p.db.session() as s:
        job = queries.repo.job_for(s, job_id, None)
        assert job is not None
        job.spec = {**job.spec, "callback_url": url}
    queries.cancel_job(p, key.account, job_id)
    assert deliver_due(p) == 1
    attempt = deliveries_of(p, job_id)[0]["attempts"][0]  # type: ignore[index]
    assert attempt["status_code"] is None and "metadata address" in attempt["error"]
    assert opened == []
