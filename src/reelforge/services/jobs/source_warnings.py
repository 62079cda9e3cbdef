"""Advice on a request that will run but may disappoint the creator, given at submit (and in
quotes) and kept on the job as `warnings`: today, a source image enlarged more than 2x."""

from __future__ import annotations

import math
from typing import Any

from reelforge.app.platform import Platform
from reelforge.backends.base import GenerationBackend
from reelforge.domain.account import AccountRef
from reelforge.domain.spec import JobSpec
from reelforge.storage import repositories as repo

UPSCALE_LIMIT = 2.0  # beyond this, detail visibly softens


def source_sizes(
    p: Platform, account: AccountRef, inputs: list[dict[str, str]]
) -> list[tuple[int, int]]:
    """(width, height) of each uploaded input image (an extension's frame is left out)."""
    sizes: list[tuple[int, int]] = []
    with p.db.session(write=False) as s:
        for item in inputs:
            if not item.get("upload_id") or item.get("extends"):
                continue
            upload = repo.upload_for(s, account.id, item["upload_id"])
            if upload is not None:
                sizes.append((upload.width, upload.height))
    return sizes


def upscale_warnings(
    backend: GenerationBackend,
    spec: JobSpec,
    params: dict[str, Any] | None,
    sizes: list[tuple[int, int]],
) -> list[str]:
    """One warning per source image the output enlarges more than UPSCALE_LIMIT times.

    A backend that knows its framing says how much it enlarges (`upscale(spec, size)` →
    (factor, part due to the camera's zoom), as the motion backend does); otherwise the image
    is taken to be scaled to cover the frame."""
    out_w, out_h = spec.size
    if params and params.get("width") and params.get("height"):
        out_w, out_h = int(params["width"]), int(params["height"])
    measure = getattr(backend, "upscale", None)
    warnings: list[str] = []
    for width, height in sizes:
        if measure is not None:
            factor, zoom = measure(spec, (width, height))
        else:
            factor, zoom = max(out_w / width, out_h / height), 1.0
        if factor <= UPSCALE_LIMIT:
            continue
        why = f", of which the camera's zoom is {zoom:.2f}x" if zoom > 1.005 else ""
        need_w = math.ceil(width * factor / UPSCALE_LIMIT)
        need_h = math.ceil(height * factor / UPSCALE_LIMIT)
        warnings.append(
            f"the source image ({width}x{height}) is upscaled {factor:.1f}x to fill "
            f"{out_w}x{out_h} frames{why}; it will look soft: use an image of at least "
            f"{need_w}x{need_h}, a lower resolution or a shorter zoom"
        )
    return warnings


def with_warnings(params: dict[str, Any] | None, warnings: list[str]) -> dict[str, Any] | None:
    """The job's recorded parameters with the warnings kept beside them (the job view shows
    them as `warnings`)."""
    if not warnings:
        return params
    return {**(params or {}), "warnings": list(warnings)}
