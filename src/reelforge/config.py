"""Settings from the environment (RF_ prefix) or a TOML file named by RF_CONFIG.

Defaults are the embedded deployment: SQLite (WAL) for data, SqliteHuey for the queue and
local blobs, all under one data directory. A fleet changes URLs, not code:
RF_DATABASE_URL=postgresql://..., RF_QUEUE_URL=redis://... or postgresql://...,
RF_BLOB_URL=s3://bucket/prefix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reelforge"


def mask_url(url: str) -> str:
    """Hide the password in a URL (user:***@host) so it can be printed."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RF_", extra="forbid", validate_default=True)

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""  # "" → sqlite:///<data_dir>/reelforge.db
    queue_url: str = ""  # "" → sqlite:///<data_dir>/queue.db (SqliteHuey)
    blob_url: str = ""  # "" → file://<data_dir>/blobs ; s3://bucket/prefix for fleets
    s3_endpoint_url: str | None = None  # S3-compatible servers (MinIO, Ceph, moto, R2)
    s3_region: str = "us-east-1"
    queue_namespace: str = "reelforge"  # prefix of queue names; lets deployments share a server

    # policy profile in force (governance rules, label language): default | cn | eu | custom
    policy_profile: str = "default"
    policy_dir: Path | None = None  # operator-defined profiles (<name>.yaml), may extend ours
    audit_retention_days: int = Field(default=180, ge=180)  # the audit log keeps at least this
    likeness_keep_photos: bool = False  # keep enrolled photos, not only their face embeddings

    # provenance: every output carries a visible label, AIGC metadata, a watermark and C2PA
    aigc_producer: str = Field(default="reelforge", min_length=1, max_length=100)
    provenance_secret: str | None = None  # HMAC key of the AIGC block; None: one in data_dir
    c2pa_cert_chain: Path | None = None  # PEM: end-entity certificate, then intermediates
    c2pa_private_key: Path | None = None
    c2pa_trust_anchors: Path | None = None  # PEM roots `reelforge verify` trusts
    max_verify_bytes: int = Field(default=500 * 1024 * 1024, gt=0)  # POST /v1/verify uploads

    # billing: prices, plans, device rates (billing/data/billing.yaml unless set)
    billing_file: Path | None = None
    default_plan: str = "free"  # the plan new accounts start on
    result_cache: Literal["account", "global", "off"] = "account"
    stripe_secret_key: str | None = None  # sk_...: checkout sessions
    stripe_webhook_secret: str | None = None  # whsec_...: POST /v1/billing/stripe/webhook
    public_url: str = "http://127.0.0.1:8000"  # where Stripe sends customers back

    # worker
    workers: int = Field(default=1, ge=1, le=64)  # concurrent jobs per worker process
    worker_queues: list[str] = Field(default_factory=lambda: ["motion"])
    poll_interval: float = Field(default=0.1, gt=0)  # longest idle wait between queue polls
    heartbeat_interval: float = Field(default=2.0, gt=0)
    heartbeat_timeout: float = Field(default=30.0, gt=0)
    requeue_after: float = Field(default=120.0, gt=0)  # queued but never picked up
    reaper_interval: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    stop_grace: float = Field(default=30.0, ge=0)  # seconds to finish a job on SIGTERM
    progress_interval: float = Field(default=0.25, ge=0)  # min seconds between progress events

    # edge limits
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(default=40_000_000, gt=0)

    # motion backend anti-aliasing (box prefilter size in pre-scaled pixels): 2 supersamples
    # fine texture at no per-frame cost; 1 shimmers slightly on fine texture.
    motion_supersample: int = Field(default=2, ge=1, le=4)

    # neural models (reelforge[neural]); see `reelforge models add`
    neural_device: str | None = None  # this worker's device (cuda:N); None: each model's own
    pipeline_cache_models: int = Field(default=2, ge=1, le=32)  # warm pipelines per worker
    pipeline_cache_bytes: int | None = Field(default=None, ge=0)  # None: 85% of device memory
    default_model: dict[str, str] = Field(default_factory=dict)  # mode → model name

    # encoding
    encode_crf: int = Field(default=20, ge=0, le=51)
    encode_preset: str = "veryfast"

    # webhooks
    webhook_allow_hosts: list[str] = Field(default_factory=list)  # hosts or CIDRs
    webhook_max_attempts: int = Field(default=6, ge=1)
    webhook_backoff: float = Field(default=5.0, gt=0)  # first retry delay, x4 each time
    webhook_timeout: float = Field(default=10.0, gt=0)

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

    def public_dict(self) -> dict[str, Any]:
        """Settings with secrets in URLs masked, for `reelforge config` and logs."""
        data = self.model_dump(mode="json")
        data["database_url"] = mask_url(self.resolved_database_url)
        data["queue_url"] = mask_url(self.resolved_queue_url)
        data["blob_url"] = mask_url(self.resolved_blob_url)
        return data
