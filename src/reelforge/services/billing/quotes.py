"""Quotes: the credits a request will cost and its estimated device time and cost, before
anything is submitted. The same validation as submit; nothing is written."""

from __future__ import annotations

import re
from typing import Any

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.domain.spec import DEFAULT_FPS, Mode
from reelforge.errors import CapabilityMissing
from reelforge.services.billing import customers
from reelforge.services.jobs.submit import SubmitRequest, model_hourly_usd, prepare


def quote(p: Platform, account: AccountRef, req: SubmitRequest) -> dict[str, Any]:
    """`{"object": "quote", "credits", "estimated_cost_usd", "estimated_device_seconds",
    "breakdown", "model", "parameters", "balance", "affordable", ...}`."""
    if p.billing is None:
        raise CapabilityMissing("billing is off on this deployment", code="billing_disabled")
    if req.model and p.backends.get(req.model) is None:
        estimate = _unregistered(p, account, req, req.model)
        if estimate is not None:
            return estimate
    prepared = prepare(p, account, req, for_quote=True)
    spec = prepared.spec
    result = p.billing.quote(spec, prepared.backend.queue, model_hourly_usd(prepared.backend))
    view: dict[str, Any] = result.view(p.billing.sheet.version)
    provider_price = getattr(prepared.backend, "estimated_cost", None)
    if provider_price is not None:  # a hosted model: its cost is the provider's price
        cost = provider_price(spec)
        if cost is not None:
            view.update(estimated_cost_usd=round(cost.usd, 6), estimate_basis="provider_price")
    summary = customers.summary(p, account.id)
    view.update(
        {
            "model": spec.model,
            "mode": str(spec.mode),
            "duration": spec.duration,
            "resolution": str(spec.resolution),
            "preset": str(spec.preset) if spec.preset else "final",
            "parameters": prepared.params,
            "warnings": prepared.warnings,
            "registered": True,
            "plan": summary["plan"],
            "balance": summary["balance"]["available"],
            "affordable": summary["postpaid"] or summary["balance"]["available"] >= result.credits,
        }
    )
    return view


# what a model name may look like to be priced unregistered (it is echoed back)
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _unregistered(
    p: Platform, account: AccountRef, req: SubmitRequest, model: str
) -> dict[str, Any] | None:
    """A quote for a model not registered on this deployment whose name names a family of
    the billing sheet's timing profiles (`wan-14b` → wan): the sheet's price and profile,
    marked as an estimate. None when the name fits no family (then `unknown_model`)."""
    assert p.billing is not None
    sheet = p.billing.sheet
    family = sheet.profile_family(model) if _MODEL_NAME.fullmatch(model) else None
    if family is None:
        return None
    mode = req.mode or (Mode.EXTEND if req.extend_from else Mode.TEXT2VIDEO)
    duration = req.frames / (req.fps or DEFAULT_FPS) if req.frames else req.duration
    resolution, preset = str(req.resolution), str(req.preset) if req.preset else None
    features = tuple(
        f
        for f, m in (("first_last_frame", Mode.FIRST_LAST_FRAME), ("extend", Mode.EXTEND))
        if mode is m
    )
    credits, breakdown = sheet.credits_for(
        model=model,
        family=family,
        duration=duration,
        resolution=resolution,
        preset=preset,
        features=features,
    )
    profile = sheet.profile_seconds(
        model=model, family=family, resolution=resolution, preset=preset
    )
    seconds = device = cost = None
    if profile is not None:
        per_second, device = profile
        seconds = per_second * duration
        cost = seconds * sheet.hourly_usd(device) / 3600
    summary = customers.summary(p, account.id)
    return {
        "object": "quote",
        "credits": credits,
        "breakdown": breakdown,
        "estimated_device_seconds": None if seconds is None else round(seconds, 3),
        "estimated_cost_usd": None if cost is None else round(cost, 6),
        "device": device,
        "estimate_basis": "profile" if profile else "none",
        "price_sheet": sheet.version,
        "model": model,
        "mode": str(mode),
        "duration": duration,
        "resolution": resolution,
        "preset": preset or "final",
        "parameters": {},
        "warnings": [],
        "registered": False,
        "family": family,
        "note": f"an estimate for {model}, a model not registered on this deployment: "
        f"priced as the {family} family from the billing sheet's price and "
        f"timing profile; register it (`reelforge models add`) to submit jobs",
        "plan": summary["plan"],
        "balance": summary["balance"]["available"],
        "affordable": summary["postpaid"] or summary["balance"]["available"] >= credits,
    }
