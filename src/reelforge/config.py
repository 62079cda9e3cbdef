"""Settings from the environment (RF_ prefix) or a TOML file named by RF_CONFIG.

Defaults are the embedded deployment: SQLite (WAL) for data, SqliteHuey for the queue and
local blobs, all under one data directory. A fleet changes URLs, not code:
RF_DATABASE_URL=postgresql://..., RF_QUEUE_URL=redis://... or postgresql://...,
RF_BLOB_URL=s3://bucket/prefix.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit, urlunsplit

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings import SettingsError as _SourceError

from reelforge.errors import InvalidSetting


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reelforge"


# query parameters that carry a credential: libpq's and redis-py's password, sslpassword, ...
_SECRET_PARAM = re.compile(r"password|passwd|secret|token|^(pass|pwd|key|api_?key)$", re.I)


def _secret_param(pair: str) -> bool:
    name, eq, _ = pair.partition("=")
    return bool(eq) and bool(_SECRET_PARAM.search(unquote(name)))


def mask_url(url: str) -> str:
    """Hide the password in a URL (user:***@host), and in its query (`?password=***`, as
    libpq and redis-py also take it), so it can be printed."""
    parts = urlsplit(url)
    netloc, query = parts.netloc, parts.query
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    if query:
        pairs = query.split("&")
        query = "&".join(p.split("=", 1)[0] + "=***" if _secret_param(p) else p for p in pairs)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_secrets(url: str) -> list[str]:
    """The credentials written in a URL: its password and secret query parameters, each as
    written (percent-encoded, as a log line quoting the URL shows it) and decoded."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if v and _SECRET_PARAM.search(k)]
    for key, sep, value in (item.partition("=") for item in parts.query.split("&")):
        if sep and value and _SECRET_PARAM.search(unquote_plus(key)):
            found.append(value)  # as written
    if parts.password:
        found.append(unquote(parts.password))
    return list(dict.fromkeys(found))


def _split_list(value: Any) -> Any:
    """An environment list: a JSON array, or comma-separated items (`a, b`)."""
    if not isinstance(value, str):
        return value  # TOML files and keyword arguments give real lists
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [item.strip() for item in text.split(",") if item.strip()]


def _split_pairs(value: Any) -> Any:
    """An environment mapping: a JSON object, or comma-separated `key=value` pairs."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("{"):
        return json.loads(text)
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(
                f"expected key=value pairs separated by commas (or a JSON "
                f"object), got {item[:40]!r}"
            )
        pairs[key.strip()] = val.strip()
    return pairs


# NoDecode: pydantic-settings would json.loads these and crash on `RF_X=a,b`.
StrList = Annotated[list[str], NoDecode, BeforeValidator(_split_list)]
StrMap = Annotated[dict[str, str], NoDecode, BeforeValidator(_split_pairs)]

# Sections of `reelforge config`, in order; a setting not named here is shown under "other".
GROUPS: dict[str, tuple[str, ...]] = {
    "storage": ("data_dir", "database_url", "blob_url", "s3_endpoint_url", "s3_region"),
    "queue": ("queue_url", "queue_namespace"),
    "worker": (
        "workers",
        "worker_queues",
        "poll_interval",
        "heartbeat_interval",
        "heartbeat_timeout",
        "requeue_after",
        "reaper_interval",
        "max_attempts",
        "stop_grace",
        "progress_interval",
        "queue_retry_max",
    ),
    "governance": (
        "policy_profile",
        "policy_dir",
        "audit_retention_days",
        "likeness_keep_photos",
        "multilingual_model_dir",
        "multilingual_languages",
        "image_guard_dir",
    ),
    "provenance": (
        "aigc_producer",
        "provenance_secret",
        "c2pa_cert_chain",
        "c2pa_private_key",
        "c2pa_trust_anchors",
        "max_verify_bytes",
        "max_verify_pixels",
        "max_verify_frames",
        "verify_concurrency",
    ),
    "billing": (
        "billing_file",
        "default_plan",
        "result_cache",
        "stripe_secret_key",
        "stripe_webhook_secret",
        "public_url",
    ),
    "models": (
        "neural_device",
        "pipeline_cache_models",
        "pipeline_cache_bytes",
        "default_model",
        "motion_supersample",
        "motion_frame_delay",
    ),
    "limits": (
        "max_upload_bytes",
        "max_image_pixels",
        "max_body_bytes",
        "decode_budget_bytes",
        "event_streams_per_key",
        "event_stream_idle",
    ),
    "encoding": ("encode_crf", "encode_preset"),
    "webhooks": (
        "webhook_allow_hosts",
        "webhook_max_attempts",
        "webhook_backoff",
        "webhook_timeout",
    ),
    "delivery": (
        "url_signing_secret",
        "signed_url_ttl",
        "output_retention_days",
        "image_url_allow_hosts",
        "image_fetch_timeout",
    ),
    "observability": ("metrics_token", "log_format"),
    "providers": (
        "provider_kling_access_key",
        "provider_kling_secret_key",
        "provider_runway_api_key",
        "provider_luma_api_key",
        "provider_minimax_api_key",
        "provider_google_api_key",
        "provider_openai_api_key",
        "provider_kling_base_url",
        "provider_runway_base_url",
        "provider_luma_base_url",
        "provider_minimax_base_url",
        "provider_google_base_url",
        "provider_openai_base_url",
        "provider_concurrency",
        "provider_poll_interval",
        "provider_busy_retry",
        "provider_timeout",
        "provider_request_timeout",
        "provider_callbacks",
        "provider_max_download_bytes",
    ),
    "web": ("web_cookie_secure",),
}
MASK = "***"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RF_", extra="forbid", validate_default=True)

    data_dir: Path = Field(default_factory=_default_data_dir)
    # URLs may hold a password: kept out of repr, masked by public_dict
    database_url: str = Field(default="", repr=False)  # "" → sqlite:///<data_dir>/reelforge.db
    queue_url: str = Field(default="", repr=False)  # "" → sqlite:///<data_dir>/queue.db (huey)
    blob_url: str = ""  # "" → file://<data_dir>/blobs ; s3://bucket/prefix for fleets
    s3_endpoint_url: str | None = None  # S3-compatible servers (MinIO, Ceph, moto, R2)
    s3_region: str = "us-east-1"
    queue_namespace: str = "reelforge"  # prefix of queue names; lets deployments share a server

    # policy profile in force (governance rules, label language): default | cn | eu | custom
    policy_profile: str = "default"
    policy_dir: Path | None = None  # operator-defined profiles (<name>.yaml), may extend ours
    audit_retention_days: int = Field(default=180, ge=180)  # the audit log keeps at least this
    likeness_keep_photos: bool = False  # keep enrolled photos, not only their face embeddings
    # an operator's multilingual sentence-transformers directory (governance/text/multilingual)
    multilingual_model_dir: Path | None = None
    multilingual_languages: StrList = Field(default_factory=list)  # empty: all it is run on
    image_guard_dir: Path | None = None  # an operator's ONNX image classifier (image/guard.py)

    # provenance: every output carries a visible label, AIGC metadata, a watermark and C2PA
    aigc_producer: str = Field(default="reelforge", min_length=1, max_length=100)
    # HMAC key of the AIGC block; None: one created once and kept in the database (the fleet's)
    provenance_secret: SecretStr | None = None
    c2pa_cert_chain: Path | None = None  # PEM: end-entity certificate, then intermediates
    c2pa_private_key: Path | None = None
    c2pa_trust_anchors: Path | None = None  # PEM roots `reelforge verify` trusts
    max_verify_bytes: int = Field(default=500 * 1024 * 1024, gt=0)  # POST /v1/verify uploads
    # a video's frame size and frame count, read from its container before anything decodes
    max_verify_pixels: int = Field(default=4096 * 2304, gt=0)  # any 4K frame
    max_verify_frames: int = Field(default=216_000, gt=0)  # two hours at 30 fps
    verify_concurrency: int = Field(default=2, ge=1)  # verifications at once per API process

    # billing: prices, plans, device rates (billing/data/billing.yaml unless set)
    billing_file: Path | None = None
    default_plan: str = "free"  # the plan new accounts start on
    result_cache: Literal["account", "global", "off"] = "account"
    stripe_secret_key: SecretStr | None = None  # sk_...: checkout sessions
    stripe_webhook_secret: SecretStr | None = None  # whsec_...: POST /v1/billing/stripe/webhook
    public_url: str = "http://127.0.0.1:8000"  # where Stripe sends customers back
    # web studio cookies: Secure when the request came over https (auto), always, or never
    web_cookie_secure: Literal["auto", "always", "never"] = "auto"

    # worker
    workers: int = Field(default=1, ge=1, le=64)  # concurrent jobs per worker process
    worker_queues: StrList = Field(default_factory=lambda: ["motion"])
    poll_interval: float = Field(default=0.1, gt=0)  # longest idle wait between queue polls
    heartbeat_interval: float = Field(default=2.0, gt=0)
    heartbeat_timeout: float = Field(default=30.0, gt=0)
    requeue_after: float = Field(default=120.0, gt=0)  # queued but never picked up
    reaper_interval: float = Field(default=5.0, gt=0)
    # a worker that cannot reach the queue (or database) retries after 0.5 s, doubling up to this
    queue_retry_max: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    stop_grace: float = Field(default=30.0, ge=0)  # seconds to finish a job on SIGTERM
    progress_interval: float = Field(default=0.25, ge=0)  # min seconds between progress events

    # edge limits
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(default=40_000_000, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)  # JSON bodies (routes without their own)
    # decoded image pixels in flight per process; a larger single decode is refused
    decode_budget_bytes: int = Field(default=1024 * 1024 * 1024, gt=0)
    # GET /v1/videos/{id}/events: open streams per API key and process (429 beyond), and
    # seconds without an event after which a stream ends (the client resumes: Last-Event-ID)
    event_streams_per_key: int = Field(default=20, ge=1)
    event_stream_idle: float = Field(default=300.0, gt=0)

    # motion backend anti-aliasing (box prefilter size in pre-scaled pixels): 2 supersamples
    # fine texture at no per-frame cost; 1 shimmers slightly on fine texture.
    motion_supersample: int = Field(default=2, ge=1, le=4)
    # seconds the motion backend waits after each frame: 0 in production; tests set it to pace
    # a small clip like a long one (a worker killed mid-render, without rendering 1080p)
    motion_frame_delay: float = Field(default=0.0, ge=0, le=1)

    # neural models (reelforge[neural]); see `reelforge models add`
    neural_device: str | None = None  # this worker's device (cuda:N); None: each model's own
    pipeline_cache_models: int = Field(default=2, ge=1, le=32)  # warm pipelines per worker
    pipeline_cache_bytes: int | None = Field(default=None, ge=0)  # None: 85% of device memory
    default_model: StrMap = Field(default_factory=dict)  # mode → model name

    # encoding
    encode_crf: int = Field(default=20, ge=0, le=51)
    encode_preset: str = "veryfast"

    # webhooks
    webhook_allow_hosts: StrList = Field(default_factory=list)  # hosts or CIDRs
    webhook_max_attempts: int = Field(default=6, ge=1)
    webhook_backoff: float = Field(default=5.0, gt=0)  # first retry delay, x4 each time
    webhook_timeout: float = Field(default=10.0, gt=0)

    # delivery: output URLs a browser or CDN fetches without the API key (S3: presigned)
    # HMAC key of those URLs; None: derived from the fleet's provenance secret
    url_signing_secret: SecretStr | None = None
    signed_url_ttl: int = Field(default=86_400, ge=60, le=604_800)  # seconds a URL works
    output_retention_days: int | None = Field(default=None, ge=1)  # None: outputs are kept
    image_url_allow_hosts: StrList = Field(default_factory=list)  # image_url: private hosts
    image_fetch_timeout: float = Field(default=10.0, gt=0)

    # observability: GET /metrics asks for `Authorization: Bearer <token>` when a token is set
    metrics_token: SecretStr | None = None
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per log line

    # hosted-model providers (backends/providers): credentials only here, never in the database
    provider_kling_access_key: SecretStr | None = None
    provider_kling_secret_key: SecretStr | None = None
    provider_runway_api_key: SecretStr | None = None
    provider_luma_api_key: SecretStr | None = None
    provider_minimax_api_key: SecretStr | None = None
    provider_google_api_key: SecretStr | None = None
    provider_openai_api_key: SecretStr | None = None
    # base URLs (proxies, regional endpoints, tests); the documented public endpoints by default
    provider_kling_base_url: str = "https://api-singapore.klingai.com"
    provider_runway_base_url: str = "https://api.dev.runwayml.com"
    provider_luma_base_url: str = "https://api.lumalabs.ai/dream-machine/v1"
    provider_minimax_base_url: str = "https://api.minimax.io"
    provider_google_base_url: str = "https://generativelanguage.googleapis.com/v1beta"
    provider_openai_base_url: str = "https://api.openai.com/v1"
    # remote tasks at once per provider (`kling=5,runway=2`); more wait `queued`, not failed
    provider_concurrency: StrMap = Field(default_factory=dict)
    provider_poll_interval: float = Field(default=5.0, gt=0)  # seconds between polls (+-20%)
    provider_busy_retry: float = Field(default=30.0, gt=0)  # a throttled job is queued again after
    provider_timeout: float = Field(default=3600.0, gt=0)  # longest wait for one remote task
    provider_request_timeout: float = Field(default=30.0, gt=0)  # one HTTP request
    # ask providers that have one for a callback to RF_PUBLIC_URL (polling goes on beside it)
    provider_callbacks: bool = False
    provider_max_download_bytes: int = Field(default=1024 * 1024 * 1024, gt=0)

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("RF_CONFIG")
        if config_file:
            if not Path(config_file).is_file():
                raise FileNotFoundError(f"RF_CONFIG points at {config_file}, which does not exist")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    # Resolved URLs: the only place that knows the embedded defaults.
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'reelforge.db'}"

    @property
    def resolved_queue_url(self) -> str:
        return self.queue_url or f"sqlite:///{self.data_dir / 'queue.db'}"

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or f"file://{self.data_dir / 'blobs'}"

    @property
    def is_fleet(self) -> bool:
        """Several nodes may share this deployment: the database is not SQLite, or the queue
        is not the embedded SqliteHuey. Fleet nodes must share credentials (provenance)."""
        db = self.resolved_database_url.split(":", 1)[0].lower()
        queue = self.resolved_queue_url.split(":", 1)[0].lower()
        return not db.startswith("sqlite") or queue not in ("sqlite", "memory")

    def public_dict(self) -> dict[str, Any]:
        """Settings with secrets masked (`***`) and passwords in URLs hidden, for
        `reelforge config` and logs."""
        data = self.model_dump(mode="json")
        for name in type(self).model_fields:
            if isinstance(getattr(self, name), SecretStr):
                data[name] = MASK
        data["database_url"] = mask_url(self.resolved_database_url)
        data["queue_url"] = mask_url(self.resolved_queue_url)
        data["blob_url"] = mask_url(self.resolved_blob_url)
        if self.s3_endpoint_url:
            data["s3_endpoint_url"] = mask_url(self.s3_endpoint_url)
        for name in type(self).model_fields:
            if name.startswith("provider_") and name.endswith("_base_url"):
                data[name] = mask_url(getattr(self, name))
        return data

    def secret_values(self) -> list[str]:
        """The values of every SecretStr setting, and credentials in URLs: what log lines mask."""
        found = [
            value.get_secret_value()
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), SecretStr)
        ]
        urls: list[str | None] = [
            self.resolved_database_url,
            self.resolved_queue_url,
            self.resolved_blob_url,
        ]
        urls += [self.s3_endpoint_url] + [
            getattr(self, n) for n in type(self).model_fields if n.endswith("_base_url")
        ]
        for url in urls:
            found += url_secrets(url) if url else []
        return [v for v in found if v]

    def grouped(self) -> dict[str, dict[str, Any]]:
        """`public_dict` in the sections of `GROUPS` (then "other"), for people to read."""
        data = self.public_dict()
        out: dict[str, dict[str, Any]] = {}
        for group, names in GROUPS.items():
            out[group] = {n: data.pop(n) for n in names if n in data}
        if data:
            out["other"] = data
        return out


_FIELD_IN_MESSAGE = re.compile(r'field "([a-z0-9_]+)"')


def _env_name(field: str) -> str:
    return f"RF_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Settings for a command or a server, with any problem as one `InvalidSetting` line that
    names the variable (never the value of a secret)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:3]:
            field = str(error["loc"][0]) if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            shown = error.get("input")
            secret = field in Settings.model_fields and ("secret" in field or "_key" in field)
            got = (
                ""
                if secret or shown is None or isinstance(shown, dict)
                else (f" (got {str(shown)[:60]!r})")
            )
            problems.append(f"{_env_name(field)}: {message}{got}")
        raise InvalidSetting("; ".join(problems), code="invalid_setting") from None
    except _SourceError as exc:
        match = _FIELD_IN_MESSAGE.search(str(exc))
        name = _env_name(match.group(1)) if match else "a setting"
        cause = exc.__cause__ or exc
        raise InvalidSetting(
            f"{name}: cannot be read ({str(cause).splitlines()[0][:120]})", code="invalid_setting"
        ) from None
    except FileNotFoundError as exc:
        raise InvalidSetting(str(exc), code="invalid_setting") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSetting(
            f"RF_CONFIG: {os.environ.get('RF_CONFIG')} is not valid TOML ({exc})",
            code="invalid_setting",
        ) from None
