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
import logging
from typing import Any

from sqlalchemy import select, update

from reelforge import __version__
from reelforge.app.platform import Platform
from reelforge.backends.base import GenerationBackend
from reelforge.domain.job import JobStatus
from reelforge.domain.spec import JobSpec
from reelforge.storage.blobs import blob_damage
from reelforge.storage.tables import Blob, Job

log = logging.getLogger(__name__)

# Spec fields that do not change the pixels.
_IGNORED = ("external_id", "callback_url")


def backend_identity(backend: GenerationBackend) -> Any:
    """What identifies the model and its weights (a registered model's directory digest)."""
    identity = getattr(backend, "cache_identity", None)
    if callable(identity):
        return identity()
    return {"backend": backend.name, "version": __version__}


def cache_key(
    p: Platform, spec: JobSpec, params: dict[str, Any] | None, backend: GenerationBackend
) -> str:
    body = {
        "model": spec.model,
        "weights": backend_identity(backend),
        "spec": spec.model_dump(mode="json", exclude=set(_IGNORED)),
        "parameters": params,
        "policy": p.policy_version,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def find_hit(p: Platform, account_id: str, key: str) -> Job | None:
    """The newest succeeded job with this key whose stored files are still the bytes it
    produced (size and SHA-256 checked: a cache hit serves them without looking again). A
    damaged or missing one is marked (`output_damage`) and never offered again; the request
    then renders anew."""
    scope = p.settings.result_cache
    if scope == "off":
        return None
    q = select(Job).where(
        Job.cache_key == key,
        Job.status == str(JobStatus.SUCCEEDED),
        Job.output_blob.is_not(None),
        Job.purged_at.is_(None),
        Job.deleted_at.is_(None),
        Job.output_damage.is_(None),
    )
    if scope == "account":
        q = q.where(Job.account_id == account_id)
    with p.db.session(write=False) as s:
        candidates = list(s.scalars(q.order_by(Job.id.desc()).limit(5)))
        wanted = [k for j in candidates for k in (j.output_blob, j.poster_blob) if k]
        sizes = {
            k: n
            for k, n in s.execute(select(Blob.key, Blob.size_bytes).where(Blob.key.in_(wanted)))
        }
    for job in candidates:
        damage = None
        for blob in (job.output_blob, job.poster_blob):
            if blob and damage is None:
                damage = blob_damage(p.blobs, blob, sizes.get(blob), full=True)
        if damage is None:
            return job
        log.warning("result cache: job %s's stored output is %s; not reused", job.id, damage)
        mark_damaged(p, job.output_blob or "", damage)
    return None


def mark_damaged(p: Platform, output_blob: str, damage: str) -> int:
    """Mark every succeeded job serving this output blob as damaged (they share the file):
    they answer `output_missing` / `output_damaged` and leave the cache. Returns how many."""
    with p.db.session() as s:
        done = s.execute(
            update(Job)
            .where(Job.output_blob == output_blob, Job.output_damage.is_(None))
            .values(output_damage=damage)
        )
        return int(done.rowcount)  # type: ignore[attr-defined]
