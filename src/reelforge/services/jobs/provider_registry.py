"""Hosted provider models: registered names for one remote model of one provider (Kling,
Runway, Luma, ...), their prices, and the catalog the workers build backends from.

`reelforge models add NAME --provider kling --remote-model kling-v2-1 [--price-file FILE]`.
Credentials are settings (RF_PROVIDER_*), read by the workers; the registry never sees them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelforge.app.platform import Platform
from reelforge.backends.base import GenerationBackend
from reelforge.backends.providers.backend import (
    QUEUE,
    ProviderBackend,
    ProviderCost,
    ProviderModelConfig,
    ProviderRuntime,
)
from reelforge.backends.providers.registry import available, get_provider
from reelforge.billing.provider_prices import (
    ProviderPriceError,
    ProviderSheet,
    load_provider_sheet,
    lookup,
    parse_price_file,
    rate_for,
    read_price_file,
)
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import InvalidRequest, NotFound, ReelforgeError, invalid_from
from reelforge.services.jobs.model_registry import claim_name
from reelforge.storage import provider_tasks
from reelforge.storage.db import Database
from reelforge.storage.provider_tables import ProviderModel

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_REMOTE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$")
RESERVED_NAMES = frozenset({"motion"})


class ProviderModelRequest(BaseModel):
    """The body of POST /v1/admin/models with `provider` (and what `models add --provider`
    builds)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="The name jobs use in `model`.")
    provider: str = Field(description="kling, runway, luma, minimax, google or openai.")
    remote_model: str = Field(
        min_length=1, max_length=200, description="The provider's model id (kling-v2-1, ...)."
    )
    prices: dict[str, Any] | None = Field(
        default=None,
        description="This model's own price sheet (date, source, per_second); default: the "
        "built-in dated sheet.",
    )


# keys a credential could travel under: refused wherever they appear in a request (a provider's
# credentials are the workers' settings, never stored in the database)
_CREDENTIAL_KEY = re.compile(
    r"(?i)(api[_-]?key|secret|token|password|passwd|credential|access[_-]?key|authori[sz]ation"
    r"|bearer|private[_-]?key)"
)


def refuse_credentials(data: Any) -> None:
    """Refuse a body that carries a credential-like key anywhere (its value is never echoed)."""
    provider = data.get("provider") if isinstance(data, dict) else None
    names = (
        ", ".join(f"RF_{s.upper()}" for s in get_provider(provider).credential_settings)
        if isinstance(provider, str) and provider in available()
        else "RF_PROVIDER_<NAME>_API_KEY (or Kling's ACCESS_KEY and SECRET_KEY)"
    )

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                where = (*path, str(key))
                if _CREDENTIAL_KEY.search(str(key)):
                    raise InvalidRequest(
                        f"{'.'.join(where)}: credentials are not accepted in a request; a "
                        f"provider's keys are settings of the workers: {names}",
                        code="credentials_not_accepted",
                        field=".".join(where),
                    )
                walk(item, where)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, str(index)))

    walk(data, ())


def parse_provider_model_request(data: dict[str, Any]) -> ProviderModelRequest:
    refuse_credentials(data)
    try:
        return ProviderModelRequest.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc) from None


def price_file(path: Path) -> dict[str, Any]:
    """A --price-file, checked, as the dict stored with the model."""
    try:
        return read_price_file(path).model_dump()
    except ProviderPriceError as exc:
        raise InvalidRequest(str(exc), code="invalid_price_file", field="price_file") from None


def validate_provider_model(req: ProviderModelRequest) -> ProviderModelConfig:
    if not _NAME.match(req.name) or req.name in RESERVED_NAMES:
        raise InvalidRequest(
            f"model name {req.name!r} must be lower-case letters, digits, '.', '_' or '-' "
            f"(and not a built-in name such as 'motion')",
            code="invalid_model_name",
            field="name",
        )
    if req.provider not in available():
        raise InvalidRequest(
            f"unknown provider {req.provider!r}; one of {', '.join(available())}",
            code="unknown_provider",
            field="provider",
        )
    if not _REMOTE.match(req.remote_model):
        raise InvalidRequest(
            "remote model ids are letters, digits and . _ : / -",
            code="invalid_remote_model",
            field="remote_model",
        )
    provider = get_provider(req.provider)
    provider.capabilities(req.remote_model)  # an unknown remote model is refused here
    prices = None
    if req.prices is not None:
        try:
            prices = parse_price_file(req.prices).model_dump()
        except ProviderPriceError as exc:
            raise InvalidRequest(str(exc), code="invalid_price_file", field="prices") from None
    return ProviderModelConfig(req.name, req.provider, req.remote_model, prices)


def _config(row: ProviderModel) -> ProviderModelConfig:
    return ProviderModelConfig(row.name, row.provider, row.remote_model, row.prices)


def _view(row: ProviderModel) -> dict[str, Any]:
    caps = get_provider(row.provider).capabilities(row.remote_model)
    return {
        "object": "model",
        "name": row.name,
        "provider": row.provider,
        "remote_model": row.remote_model,
        "modes": sorted(m.value for m in caps.modes),
        "queue": QUEUE,
        "prices": row.prices,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def add_provider_model(
    p: Platform, req: ProviderModelRequest, *, replace: bool = False
) -> dict[str, Any]:
    config = validate_provider_model(req)
    now = p.clock()
    with p.db.session() as s:
        row = claim_name(s, ProviderModel, config.name, now, replace=replace)
        row.provider, row.remote_model, row.prices = (
            config.provider,
            config.remote_model,
            config.prices,
        )
        row.updated_at = now
        s.flush()
        return _view(row)


def list_provider_models(p: Platform) -> list[dict[str, Any]]:
    with p.db.session(write=False) as s:
        rows = s.query(ProviderModel).order_by(ProviderModel.name).all()
        return [_view(r) for r in rows]


def remove_provider_model(p: Platform, name: str) -> bool:
    """Unregister a provider model; False when there is none of that name."""
    with p.db.session() as s:
        row = s.get(ProviderModel, name)
        if row is None:
            return False
        s.delete(row)
        return True


# -- prices ---------------------------------------------------------------------------------


def make_pricer(
    sheet: ProviderSheet | None = None,
) -> Callable[[ProviderModelConfig, JobSpec, float], ProviderCost | None]:
    """The provider's cost of a clip: the model's own price file, else the dated sheet."""
    provider_sheet = sheet or load_provider_sheet()

    def price(model: ProviderModelConfig, spec: JobSpec, seconds: float) -> ProviderCost | None:
        mode, resolution = str(spec.mode), str(spec.resolution)
        if model.prices is not None:
            rate = rate_for(model.prices["per_second"], mode, resolution)
            if rate is None:
                return None
            label = f"price file ({model.prices['date']})"
            return ProviderCost(rate * seconds, rate, seconds, label, str(model.prices["source"]))
        found = lookup(provider_sheet, model.provider, model.remote_model, mode, resolution)
        if found is None:
            return None
        rate, source = found
        return ProviderCost(rate * seconds, rate, seconds, provider_sheet.version, source)

    return price


# -- callbacks ------------------------------------------------------------------------------

_CALLBACK_CONTEXT = b"reelforge provider callback v1"


def callback_token(key: bytes, provider: str, job_id: str) -> str:
    message = f"{provider}:{job_id}".encode()
    mac = hmac.new(hmac.new(key, _CALLBACK_CONTEXT, hashlib.sha256).digest(), message, "sha256")
    return mac.hexdigest()[:32]


def callback_url_factory(p: Platform) -> Callable[[str, str], str | None]:
    """(provider, job_id) -> the URL given to the provider, when RF_PROVIDER_CALLBACKS is on:
    RF_PUBLIC_URL/v1/providers/{provider}/callback/{job_id}?token=HMAC (the provider's body is
    never trusted: it only wakes the waiting worker, which reads the status from the API)."""
    from reelforge.services.jobs.delivery import url_key

    def build(provider: str, job_id: str) -> str | None:
        if not p.settings.provider_callbacks:
            return None
        token = callback_token(url_key(p), provider, job_id)
        base = p.settings.public_url.rstrip("/")
        return f"{base}/v1/providers/{provider}/callback/{job_id}?token={token}"

    return build


def receive_callback(p: Platform, provider: str, job_id: str, token: str) -> None:
    """A provider's callback: check the token, then mark the checkpoint so the worker polls
    at once. An unknown job or a wrong token is NotFound (nothing is revealed)."""
    from reelforge.services.jobs.delivery import url_key

    expected = callback_token(url_key(p), provider, job_id)
    if not hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace")):
        raise NotFound("no such callback", code="not_found")
    with p.db.session() as s:
        if not provider_tasks.record_callback(s, job_id, provider, p.clock()):
            raise NotFound("no such callback", code="not_found")


# -- the catalog ----------------------------------------------------------------------------


class ProviderCatalog:
    """Registered provider models as backends, read from the database (every process sees a
    registration at once); a backend is rebuilt only when its row changes."""

    def __init__(self, db: Database, runtime: ProviderRuntime):
        self.db = db
        self.runtime = runtime
        self._built: dict[str, tuple[ProviderModelConfig, ProviderBackend]] = {}
        self._lock = threading.Lock()

    def configs(self) -> list[ProviderModelConfig]:
        with self.db.session(write=False) as s:
            rows = s.query(ProviderModel).order_by(ProviderModel.name).all()
            return [_config(r) for r in rows]

    def backend(self, name: str) -> GenerationBackend | None:
        with self.db.session(write=False) as s:
            row = s.get(ProviderModel, name)
            config = _config(row) if row is not None else None
        with self._lock:
            if config is None:
                self._built.pop(name, None)
                return None
            built = self._built.get(name)
            if built is None or built[0] != config:
                try:
                    provider = get_provider(config.provider)
                except ReelforgeError:
                    return None  # a provider module this installation lacks
                built = (config, ProviderBackend(config, provider, self.runtime))
                self._built[name] = built
            return built[1]

    def names(self) -> list[str]:
        return [c.name for c in self.configs()]

    def queues(self) -> list[str]:
        return [QUEUE] if self.configs() else []

    def serving(self, mode: Mode) -> list[str]:
        served = []
        for c in self.configs():
            try:
                caps = get_provider(c.provider).capabilities(c.remote_model)
            except ReelforgeError:
                continue
            if mode in caps.modes:
                served.append(c.name)
        return served


class Catalogs:
    """Several catalogs behind the one `ModelCatalog` the backend registry asks (neural
    models, provider models); names are unique across them (registration checks)."""

    def __init__(self, *catalogs: Any):
        self.catalogs = catalogs

    def backend(self, name: str) -> GenerationBackend | None:
        for catalog in self.catalogs:
            found: GenerationBackend | None = catalog.backend(name)
            if found is not None:
                return found
        return None

    def serving(self, mode: Mode) -> list[str]:
        return [n for c in self.catalogs for n in c.serving(mode)]

    def queues(self) -> list[str]:
        return sorted({q for c in self.catalogs for q in c.queues()})

    def names(self) -> list[str]:
        return sorted({n for c in self.catalogs for n in c.names()})
