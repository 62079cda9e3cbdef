"""The guard-model registry: guard models an operator registered as local directories
(`reelforge guards add NAME --family F --path DIR [--device] [--dtype]`), listed and removed
like models. Registering checks the directory without importing torch — a config.json of
the family's architecture, tokenizer files, weights, and (Llama Guard, Qwen3Guard) the chat
template that carries the family's policy — so an API node can manage the registry for
the workers that run the guard. Nothing is ever downloaded.

`stages(p)` gives the loaded `GuardStage` per registered name (shared by the process, the
model loading on its first prompt); `chosen(p, profile)` the one a profile routes prompts to.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelforge.app.platform import Platform
from reelforge.errors import Conflict, InvalidRequest, NotFound, invalid_from
from reelforge.governance.guards.families import FAMILIES
from reelforge.governance.guards.stage import GuardStage
from reelforge.governance.policy import PolicyProfile
from reelforge.storage.db import Database
from reelforge.storage.guard_tables import GuardModel

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_DEVICE = re.compile(r"^(cpu|cuda(:\d{1,2})?)$")
DTYPES = ("bf16", "fp16", "fp32")
# the architectures each family's checkpoints use (config.json "architectures")
ARCHITECTURES = {
    "llama-guard": ("LlamaForCausalLM", "Llama4ForConditionalGeneration"),
    "qwen3guard": ("Qwen3ForCausalLM",),
    "shieldgemma": ("Gemma2ForCausalLM", "GemmaForCausalLM", "Gemma3ForCausalLM"),
}
WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
TOKENIZER = ("tokenizer.json", "tokenizer.model")


class GuardRequest(BaseModel):
    """What `reelforge guards add` sends."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=100, description="The name a profile's guard.name uses."
    )
    family: str = Field(description="llama-guard, qwen3guard or shieldgemma.")
    path: str = Field(min_length=1, max_length=4096, description="A local model directory.")
    device: str = Field(default="cpu", description="cpu, cuda or cuda:N.")
    dtype: str = Field(default="fp32", description="bf16, fp16 or fp32.")


def _invalid(message: str, code: str, field: str) -> InvalidRequest:
    return InvalidRequest(message, code=code, field=field)


def parse_guard_request(data: dict[str, Any]) -> GuardRequest:
    try:
        return GuardRequest.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc) from None


def validate_guard(req: GuardRequest) -> GuardRequest:
    """Check a registration against the directory on disk; the request with its path
    resolved."""
    if not _NAME.match(req.name):
        raise _invalid(
            f"guard name {req.name!r} must be lower-case letters, digits, '.', '_' or '-'",
            "invalid_guard_name",
            "name",
        )
    if req.family not in FAMILIES:
        raise _invalid(
            f"unknown guard family {req.family!r}; one of {', '.join(FAMILIES)}",
            "unknown_family",
            "family",
        )
    if not _DEVICE.match(req.device):
        raise _invalid("device must be cpu, cuda or cuda:N", "invalid_request", "device")
    if req.dtype not in DTYPES:
        raise _invalid(f"dtype must be one of {', '.join(DTYPES)}", "invalid_request", "dtype")
    if any(ord(c) < 32 or ord(c) == 127 for c in req.path):
        raise _invalid("path must not contain control characters", "invalid_request", "path")
    try:
        path = Path(req.path).expanduser().resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise _invalid(f"path is unusable: {exc}", "invalid_request", "path") from None
    if not path.is_dir():
        raise _invalid(f"guard directory {path} does not exist", "guard_path_not_found", "path")
    try:
        config = json.loads((path / "config.json").read_text())
    except FileNotFoundError:
        raise _invalid(
            f"{path} is not a transformers model directory (no config.json)",
            "invalid_guard_dir",
            "path",
        ) from None
    except (OSError, ValueError) as exc:
        raise _invalid(
            f"{path}/config.json is unreadable: {exc}", "invalid_guard_dir", "path"
        ) from None
    found = config.get("architectures") if isinstance(config, dict) else None
    wanted = ARCHITECTURES[req.family]
    if not isinstance(found, list) or not set(found) & set(wanted):
        raise _invalid(
            f"{path} holds {found or 'no architecture'}; a {req.family} guard is one of "
            f"{', '.join(wanted)}",
            "guard_family_mismatch",
            "family",
        )
    if not any((path / w).is_file() for w in WEIGHTS):
        raise _invalid(f"{path} has no safetensors weights", "invalid_guard_dir", "path")
    if not any((path / t).is_file() for t in TOKENIZER):
        raise _invalid(f"{path} has no tokenizer", "invalid_guard_dir", "path")
    if FAMILIES[req.family].parse is not None and not _has_chat_template(path):
        raise _invalid(
            f"{path} has no chat template; a {req.family} guard's template carries its policy",
            "invalid_guard_dir",
            "path",
        )
    return req.model_copy(update={"path": str(path)})


def _has_chat_template(path: Path) -> bool:
    if (path / "chat_template.jinja").is_file() or (path / "chat_template.json").is_file():
        return True
    try:
        data = json.loads((path / "tokenizer_config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and bool(data.get("chat_template"))


def _view(row: GuardModel) -> dict[str, Any]:
    family = FAMILIES[row.family]
    return {
        "object": "guard",
        "name": row.name,
        "family": row.family,
        "path": row.path,
        "device": row.device,
        "dtype": row.dtype,
        "languages": sorted(family.languages) if len(family.languages) < 20 else ["*"],
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def add_guard(p: Platform, req: GuardRequest, *, replace: bool = False) -> dict[str, Any]:
    checked = validate_guard(req)
    now = p.clock()
    with p.db.session() as s:
        row = s.get(GuardModel, checked.name)
        if row is not None and not replace:
            raise Conflict(
                f"a guard named {checked.name!r} exists; remove it first or replace it",
                code="guard_exists",
                field="name",
            )
        if row is None:
            row = GuardModel(name=checked.name, created_at=now)
            s.add(row)
        row.family, row.path = checked.family, checked.path
        row.device, row.dtype, row.updated_at = checked.device, checked.dtype, now
        s.flush()
        return _view(row)


def list_guards(p: Platform) -> list[dict[str, Any]]:
    with p.db.session(write=False) as s:
        return [_view(r) for r in s.query(GuardModel).order_by(GuardModel.name).all()]


def remove_guard(p: Platform, name: str) -> None:
    """Unregister a guard (its files stay)."""
    with p.db.session() as s:
        row = s.get(GuardModel, name)
        if row is None:
            raise NotFound(f"no guard {name!r}", code="guard_not_found")
        s.delete(row)


_stages: dict[tuple[str, str, str, str, str], GuardStage] = {}
_stages_lock = threading.Lock()


def _stage(row: GuardModel) -> GuardStage:
    key = (row.name, row.family, row.path, row.device, row.dtype)
    with _stages_lock:
        stage = _stages.get(key)
        if stage is None:
            stage = GuardStage(row.name, row.family, Path(row.path), row.device, row.dtype)
            _stages[key] = stage
        return stage


def chosen_row(db: Database, profile: PolicyProfile) -> GuardModel | None:
    """The registered guard a profile routes prompts to (its `guard.name`, else the first
    by name); None when its routing is off or nothing is registered."""
    if profile.guard == "off":
        return None
    with db.session(write=False) as s:
        if profile.guard_name:
            return s.get(GuardModel, profile.guard_name)
        return s.query(GuardModel).order_by(GuardModel.name).first()


def chosen(db: Database, profile: PolicyProfile) -> GuardStage | None:
    """The shared stage of the guard a profile routes prompts to (see `chosen_row`)."""
    row = chosen_row(db, profile)
    return _stage(row) if row is not None else None


def stage_for(p: Platform, name: str) -> GuardStage:
    """A registered guard's stage by name (the evaluation bench)."""
    with p.db.session(write=False) as s:
        row = s.get(GuardModel, name)
        if row is None:
            raise NotFound(f"no guard {name!r}", code="guard_not_found")
        return _stage(row)
