"""The model registry: neural models an operator registered, as local diffusers directories.

Registering validates the directory (model_index.json, its pipeline class against the family
and task, every component folder present) without importing torch, so an API node without
the neural extra can manage the registry for a fleet of GPU workers.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelforge.app.platform import Platform
from reelforge.backends.base import GenerationBackend
from reelforge.backends.families import FAMILIES
from reelforge.backends.neural.backend import NeuralBackend, NeuralRuntime
from reelforge.backends.neural.config import DTYPES, ModelConfig, ModelOptions
from reelforge.domain.spec import Mode
from reelforge.errors import Conflict, InvalidRequest, NotFound, invalid_from
from reelforge.storage.db import Database
from reelforge.storage.provider_tables import ProviderModel
from reelforge.storage.tables import Model

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
RESERVED_NAMES = frozenset({"motion"})


class ModelRequest(BaseModel):
    """The body of POST /v1/admin/models (and what `reelforge models add` builds)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="The name jobs use in `model`.")
    family: str = Field(description="wan, ltx or cogvideox.")
    path: str = Field(
        min_length=1,
        max_length=4096,
        description="A local diffusers-format directory on the workers.",
    )
    task: str | None = Field(
        default=None,
        description=(
            "t2v, i2v or flf2v; inferred from the directory's pipeline class when omitted."
        ),
    )
    dtype: str = Field(default="bf16", description="bf16, fp16 or fp32.")
    device: str = Field(default="cuda", description="cuda, cuda:N or cpu.")
    gpu_hourly_usd: float | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description=("This model's device rate for cost accounting; default: the deployment's."),
    )
    options: ModelOptions = Field(
        default_factory=ModelOptions, description="Memory and speed options (offload, tiling, ...)."
    )


def _invalid(message: str, code: str, field: str) -> InvalidRequest:
    return InvalidRequest(message, code=code, field=field)


def validate_model(req: ModelRequest) -> ModelConfig:
    """Check a registration against the directory on disk; return the config to store."""
    if not _NAME.match(req.name) or req.name in RESERVED_NAMES:
        raise _invalid(
            f"model name {req.name!r} must be lower-case letters, digits, '.', '_' "
            f"or '-' (and not a built-in name such as 'motion')",
            "invalid_model_name",
            "name",
        )
    family = FAMILIES.get(req.family)
    if family is None:
        raise _invalid(
            f"unknown family {req.family!r}; one of {', '.join(FAMILIES)}",
            "unknown_family",
            "family",
        )
    if req.dtype not in DTYPES:
        raise _invalid(f"dtype must be one of {', '.join(DTYPES)}", "invalid_request", "dtype")
    if not ModelConfig.valid_device(req.device):
        raise _invalid("device must be cpu, cuda or cuda:N", "invalid_request", "device")
    if req.options.offload and req.device == "cpu":
        raise _invalid(
            "offload moves weights between CPU memory and an accelerator; a model "
            "on the cpu device has nothing to offload",
            "invalid_model_option",
            "options.offload",
        )
    cache = req.options.step_cache
    if cache and cache not in family.step_caches:
        raise _invalid(
            f"step cache {cache} does not work with {req.family} models; use one of "
            f"{', '.join(family.step_caches)}",
            "invalid_model_option",
            "options.step_cache",
        )
    path = Path(req.path).expanduser().resolve()
    class_name = _directory_class(path)
    known = {c for classes in family.directory_classes.values() for c in classes}
    if class_name not in known:
        raise _mismatch(path, class_name, req.family, sorted(known))
    sniffed = family.sniff_task(str(path)) if family.sniff_task else None
    task = req.task or sniffed or family.task_for_class(class_name)
    if task is None or task not in family.directory_classes:
        raise _invalid(
            f"{req.family} models serve tasks {', '.join(family.tasks)}; give --task",
            "invalid_task",
            "task",
        )
    if sniffed and sniffed != task:
        raise _invalid(
            f"{path} holds a {req.family} {sniffed} model, not {task}",
            "model_task_mismatch",
            "task",
        )
    if class_name not in family.directory_classes[task]:
        raise _mismatch(
            path, class_name, f"{req.family} {task}", list(family.directory_classes[task])
        )
    return ModelConfig(
        name=req.name,
        family=req.family,
        task=task,
        path=str(path),
        dtype=req.dtype,
        device=req.device,
        gpu_hourly_usd=req.gpu_hourly_usd,
        options=req.options,
    )


def _mismatch(path: Path, class_name: str, wanted: str, classes: list[str]) -> InvalidRequest:
    owner = next(
        (
            f.name
            for f in FAMILIES.values()
            if any(class_name in c for c in f.directory_classes.values())
        ),
        None,
    )
    hint = f" (a {owner} model)" if owner else ""
    return _invalid(
        f"{path} holds a {class_name}{hint}; a {wanted} model is one of {', '.join(classes)}",
        "model_family_mismatch",
        "family",
    )


def _directory_class(path: Path) -> str:
    if not path.is_dir():
        raise _invalid(f"model directory {path} does not exist", "model_path_not_found", "path")
    index = path / "model_index.json"
    try:
        data = json.loads(index.read_text())
    except FileNotFoundError:
        raise _invalid(
            f"{path} is not a diffusers model directory (no model_index.json); "
            f"see the README for how to download one",
            "invalid_model_dir",
            "path",
        ) from None
    except (OSError, ValueError) as exc:
        raise _invalid(f"{index} is unreadable: {exc}", "invalid_model_dir", "path") from None
    if not isinstance(data, dict) or not isinstance(data.get("_class_name"), str):
        raise _invalid(f"{index} names no pipeline class", "invalid_model_dir", "path")
    for component, spec in data.items():
        if component.startswith("_") or not isinstance(spec, list) or None in spec:
            continue
        if not (path / component).is_dir():
            raise _invalid(
                f"{path} is incomplete: component {component!r} is missing",
                "invalid_model_dir",
                "path",
            )
    return str(data["_class_name"])


def _config(row: Model) -> ModelConfig:
    return ModelConfig(
        name=row.name,
        family=row.family,
        task=row.task,
        path=row.path,
        dtype=row.dtype,
        device=row.device,
        gpu_hourly_usd=row.gpu_hourly_usd,
        options=ModelOptions.model_validate(row.options or {}),
    )


def _view(row: Model) -> dict[str, Any]:
    return {
        **_config(row).to_dict(),
        "object": "model",
        "modes": sorted(m.value for m in FAMILIES[row.family].modes(row.task)),
        "queue": FAMILIES[row.family].queue,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def parse_model_request(data: dict[str, Any]) -> ModelRequest:
    try:
        return ModelRequest.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc) from None


def claim_name(s: Any, table: type[Any], name: str, now: Any, *, replace: bool) -> Any:
    """The registry row `name` of `table` (Model or ProviderModel), new or (with `replace`)
    the existing one; 409 model_exists when the name is taken in either registry (names are
    unique across neural and provider models)."""
    other, kind = (ProviderModel, "provider") if table is Model else (Model, "neural")
    if s.get(other, name) is not None:
        raise Conflict(
            f"a {kind} model named {name!r} exists; choose another name",
            code="model_exists",
            field="name",
        )
    row = s.get(table, name)
    if row is not None and not replace:
        raise Conflict(
            f"a model named {name!r} exists; remove it first or replace it (--replace)",
            code="model_exists",
            field="name",
        )
    if row is None:
        row = table(name=name, created_at=now)
        s.add(row)
    return row


def add_model(p: Platform, req: ModelRequest, *, replace: bool = False) -> dict[str, Any]:
    config = validate_model(req)
    now = p.clock()
    with p.db.session() as s:
        row = claim_name(s, Model, config.name, now, replace=replace)
        row.family, row.task, row.path = config.family, config.task, config.path
        row.dtype, row.device, row.gpu_hourly_usd = (
            config.dtype,
            config.device,
            config.gpu_hourly_usd,
        )
        row.options = config.options.model_dump(exclude_defaults=True)
        row.updated_at = now
        s.flush()
        return _view(row)


def list_models(p: Platform) -> list[dict[str, Any]]:
    with p.db.session(write=False) as s:
        return [_view(r) for r in s.query(Model).order_by(Model.name).all()]


def remove_model(p: Platform, name: str) -> None:
    """Unregister a model (its files stay; jobs already queued for it will fail)."""
    with p.db.session() as s:
        row = s.get(Model, name)
        if row is None:
            raise NotFound(f"no model {name!r}", code="model_not_found")
        s.delete(row)


class ModelCatalog:
    """Registered models as backends, read from the database so that every process (API
    node, each worker) sees a registration at once. Backends are rebuilt only when a row
    changes; the warm pipelines live in the shared `NeuralRuntime` and survive that."""

    def __init__(self, db: Database, runtime: NeuralRuntime):
        self.db = db
        self.runtime = runtime
        self._built: dict[str, tuple[ModelConfig, NeuralBackend]] = {}
        self._lock = threading.Lock()

    def configs(self) -> list[ModelConfig]:
        with self.db.session(write=False) as s:
            return [_config(r) for r in s.query(Model).order_by(Model.name).all()]

    def backend(self, name: str) -> GenerationBackend | None:
        with self.db.session(write=False) as s:
            row = s.get(Model, name)
            config = _config(row) if row is not None else None
        with self._lock:
            if config is None:
                self._built.pop(name, None)
                return None
            built = self._built.get(name)
            if built is None or built[0] != config:
                built = (config, NeuralBackend(config, self.runtime, FAMILIES[config.family]))
                self._built[name] = built
            return built[1]

    def names(self) -> list[str]:
        return [c.name for c in self.configs()]

    def queues(self) -> list[str]:
        return sorted({FAMILIES[c.family].queue for c in self.configs()})

    def serving(self, mode: Mode) -> list[str]:
        return [c.name for c in self.configs() if mode in FAMILIES[c.family].modes(c.task)]
