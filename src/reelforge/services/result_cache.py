"""Result cache: an identical request returns the stored output without compute.

Identical means the same model and weights, every parameter the backend runs, the seed, the
input bytes (blob keys are their SHA-256) and the policy version. Requests without an
explicit seed never hit: they asked for a new random video. The cache is scoped to the
account by default (`result_cache = "account"`); "global" shares hits across accounts,
"off" disables it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from reelforge import __version__
from reelforge.backends.base import GenerationBackend
from reelforge.domain.job import JobStatus
from reelforge.domain.spec import JobSpec
from reelforge.services.platform import Platform
from reelforge.storage.tables import Job

# Spec fields that do not change the pixels.
_IGNORED = ("external_id", "callback_url")


def backend_identity(backend: GenerationBackend) -> Any:
    """What identifies the model and its weights (a registered model's directory digest)."""
    identity = getattr(backend, "cache_identity", None)
    if callable(identity):
        return identity()
    return {"backend": backend.name, "version": __version__}


def cache_key(p: Platform, spec: JobSpec, params: dict[str, Any] | None,
              backend: GenerationBackend) -> str:
    body = {"model": spec.model, "weights": backend_identity(backend),
            "spec": spec.model_dump(mode="json", exclude=set(_IGNORED)),
            "parameters": params, "policy": p.policy_version}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def find_hit(p: Platform, account_id: str, key: str) -> Job | None:
    """The newest succeeded job with this key (and its output still stored)."""
    scope = p.settings.result_cache
    if scope == "off":
        return None
    q = select(Job).where(Job.cache_key == key, Job.status == str(JobStatus.SUCCEEDED),
                          Job.output_blob.is_not(None), Job.purged_at.is_(None))
    if scope == "account":
        q = q.where(Job.account_id == account_id)
    with p.db.session(write=False) as s:
        for job in s.scalars(q.order_by(Job.id.desc()).limit(5)):
            if job.output_blob and p.blobs.exists(job.output_blob):
                return job
    return None
