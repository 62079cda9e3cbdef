"""Quotes: the credits a request will cost and its estimated device time and cost, before
anything is submitted. The same validation as submit; nothing is written."""

from __future__ import annotations

from typing import Any

from reelforge.errors import CapabilityMissing
from reelforge.services import account_billing
from reelforge.services.accounts import AccountRef
from reelforge.services.platform import Platform
from reelforge.services.submit import SubmitRequest, model_hourly_usd, prepare


def quote(p: Platform, account: AccountRef, req: SubmitRequest) -> dict[str, Any]:
    """`{"object": "quote", "credits", "estimated_cost_usd", "estimated_device_seconds",
    "breakdown", "model", "parameters", "balance", "affordable", ...}`."""
    if p.billing is None:
        raise CapabilityMissing("billing is off on this deployment", code="billing_disabled")
    prepared = prepare(p, account, req, for_quote=True)
    spec = prepared.spec
    result = p.billing.quote(spec, prepared.backend.queue, model_hourly_usd(prepared.backend))
    view: dict[str, Any] = result.view(p.billing.sheet.version)
    summary = account_billing.summary(p, account.id)
    view.update({"model": spec.model, "mode": str(spec.mode), "duration": spec.duration,
                 "resolution": str(spec.resolution),
                 "preset": str(spec.preset) if spec.preset else "final",
                 "parameters": prepared.params, "plan": summary["plan"],
                 "balance": summary["balance"]["available"],
                 "affordable": summary["postpaid"]
                 or summary["balance"]["available"] >= result.credits})
    return view
