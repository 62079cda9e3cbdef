"""The implicit label of China's AIGC labelling measures (GB 45438-2025): a JSON object in the
file's metadata, tag `AIGC`, with the fields Label, ContentProducer, ProduceID,
ReservedCode1, ContentPropagator, PropagateID, ReservedCode2.

Label "1" means the content is AI-generated. ProduceID is the job's id. ReservedCode1 carries
an HMAC-SHA256 (truncated) over Label, ContentProducer and ProduceID with this deployment's
provenance secret, so the platform can tell its own blocks from forged ones. The other
fields are left empty for distributors (ContentPropagator, PropagateID) or name what else
the file carries (ReservedCode2: "c2pa" when a C2PA manifest is attached).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

TAG = "AIGC"
FIELDS = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
AI_GENERATED = "1"


def _signature(secret: bytes, label: str, producer: str, produce_id: str) -> str:
    message = f"{label}|{producer}|{produce_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def aigc_block(produce_id: str, producer: str, secret: bytes, *, c2pa: bool) -> dict[str, str]:
    return {
        "Label": AI_GENERATED,
        "ContentProducer": producer,
        "ProduceID": produce_id,
        "ReservedCode1": _signature(secret, AI_GENERATED, producer, produce_id),
        "ContentPropagator": "",
        "PropagateID": "",
        "ReservedCode2": "c2pa" if c2pa else "",
    }


def aigc_tags(block: dict[str, str]) -> dict[str, str]:
    """Container tags to write: the AIGC JSON (compact, field order as in the standard)."""
    return {
        TAG: json.dumps(
            {k: block.get(k, "") for k in FIELDS}, ensure_ascii=False, separators=(",", ":")
        )
    }


@dataclass(frozen=True)
class AigcResult:
    block: dict[str, Any]
    complete: bool  # every field of the standard is present
    signature_valid: bool | None  # None when this deployment's secret is not known

    def to_dict(self) -> dict[str, Any]:
        return {**self.block, "complete": self.complete, "signature_valid": self.signature_valid}


def read_aigc(tags: dict[str, str], secret: bytes | None) -> AigcResult | None:
    """The AIGC block among a file's container tags, or None when there is none (or it is not
    a JSON object)."""
    raw = next((v for k, v in tags.items() if k.lower() == TAG.lower()), None)
    if raw is None:
        return None
    try:
        block = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(block, dict):
        return None
    complete = all(k in block for k in FIELDS)
    valid: bool | None = None
    if secret is not None:
        expected = _signature(
            secret,
            str(block.get("Label", "")),
            str(block.get("ContentProducer", "")),
            str(block.get("ProduceID", "")),
        )
        valid = hmac.compare_digest(expected, str(block.get("ReservedCode1", "")))
    return AigcResult(block=block, complete=complete, signature_valid=valid)
