"""Stripe webhooks that are hostile or malformed get a clear 400, never a 500, and change
nothing (issue 13 item 11): a non-ASCII signature, signed bodies that are not an event
object (an array, 50,000-deep nesting), absurd timestamps in the header or the event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reelforge.app.platform import Platform
from reelforge.services.accounts import accounts
from reelforge.storage.billing_tables import LedgerEntry, StripeEvent
from tests.billing import test_payments as payments
from tests.billing.test_payments import count, event, invoice, sign, subscription

# The Stripe-configured platform and client of the payments tests.
settings = payments.settings
client = payments.client

URL = "/v1/billing/stripe/webhook"


def _post(client: TestClient, payload: bytes, signature: str | bytes) -> Any:
    return client.post(
        URL,
        content=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


def _clear_400(r: Any, code: str) -> None:
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json()["error"]["code"] == code, r.text


def test_a_non_ascii_signature_is_refused_not_500(client: TestClient) -> None:
    payload = json.dumps(event("invoice.paid", {"id": "in_x"})).encode()
    _clear_400(_post(client, payload, b"t=1,v1=\xe9"), "invalid_signature")
    _clear_400(_post(client, payload, b"t=1,v1=" + b"\xe9" * 64), "invalid_signature")


def test_an_absurd_signature_timestamp_is_refused(client: TestClient) -> None:
    payload = json.dumps(event("invoice.paid", {"id": "in_x"})).encode()
    for ts in ("99999999999999999999999", "-1", "1e9", "nan"):
        signature = sign(payload).split(",", 1)[1]
        _clear_400(_post(client, payload, f"t={ts},{signature}"), "invalid_signature")


@pytest.mark.parametrize(
    "payload",
    [
        b"[1, 2, 3]",
        b'"an event"',
        b"null",
        b"[" * 50_000 + b"]" * 50_000,
        b'{"id": "evt_1", "type": "invoice.paid", "data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"id": "evt_1", "type": "invoice.paid", "data": {"object": [1]}}',
        b"\xff\xfe not utf-8",
        b'{"id": "evt_\\u0000", "type": "invoice.paid", "data": {"object": {"id": "in_1"}}}',
        b'{"id": "evt_1", "type": "invoice.paid", "data": {"object": {"id": "in_\\ud800"}}}',
        b'{"id": "evt_1", "type": "x", "data": {"object": {"metadata": {"a": "\\u0000"}}}}',
    ],
    ids=[
        "array",
        "string",
        "null",
        "deep",
        "deep-inside",
        "object-array",
        "binary",
        "nul-id",
        "surrogate",
        "nul-deep",
    ],
)
def test_signed_but_malformed_payloads_are_refused(
    client: TestClient, platform: Platform, payload: bytes
) -> None:
    _clear_400(_post(client, payload, sign(payload)), "invalid_payload")
    assert count(platform, StripeEvent) == 0


@pytest.mark.parametrize("when", [10**20, -(10**20), 1e308, "soon"])
def test_absurd_timestamps_inside_a_signed_event_change_nothing(
    client: TestClient, platform: Platform, when: Any
) -> None:
    alice = accounts.ensure_account(platform, "alice")
    ledger_before = count(platform, LedgerEntry)
    inv = invoice(metadata={"account_id": alice.id})
    inv["lines"]["data"][0]["period"]["end"] = when
    sub = subscription()
    sub["items"]["data"][0]["current_period_end"] = when
    for body in (event("invoice.paid", inv), event("customer.subscription.updated", sub)):
        payload = json.dumps(body).encode()
        r = _post(client, payload, sign(payload))
        assert r.status_code == 200, (r.status_code, r.text)  # applied as sent, never 500
    assert count(platform, LedgerEntry) >= ledger_before  # applied or refused, never half
