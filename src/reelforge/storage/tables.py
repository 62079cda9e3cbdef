"""SQLAlchemy 2 tables. The schema itself is owned by Alembic migrations (storage/migrations);
these classes must match them (a test compares the two)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which stores naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    webhook_secret: Mapped[str] = mapped_column(String(100))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)  # operators' admin API
    created_at: Mapped[datetime]
    # When the account agreed to the duties of exporting without the visible label (it must
    # label the content itself where it publishes); None: it has not.
    unlabelled_duties_at: Mapped[datetime | None]
    # billing: the plan (billing/plans.yaml), who manages it, and organisation budgets
    plan: Mapped[str] = mapped_column(String(40), default="free")
    plan_source: Mapped[str] = mapped_column(String(20), default="operator")  # | stripe
    plan_started_at: Mapped[datetime | None]
    segment: Mapped[str] = mapped_column(String(20), default="creator")  # | merchant | enterprise
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100), index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(100))
    subscription_status: Mapped[str | None] = mapped_column(String(30))
    period_end: Mapped[datetime | None]
    daily_credit_limit: Mapped[int | None] = mapped_column(BigInteger)
    monthly_credit_limit: Mapped[int | None] = mapped_column(BigInteger)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)  # made by `simulate`


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    daily_credit_limit: Mapped[int | None] = mapped_column(BigInteger)
    monthly_credit_limit: Mapped[int | None] = mapped_column(BigInteger)


class Blob(Base):
    """Registry of stored blobs: lets the platform find orphans and account storage."""

    __tablename__ = "blobs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the bytes
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Upload(Base):
    __tablename__ = "uploads"
    # Uploads are deduplicated per account by content hash (the blob key).
    __table_args__ = (Index("ix_uploads_account_id_blob_key", "account_id", "blob_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    blob_key: Mapped[str] = mapped_column(ForeignKey("blobs.key"))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]  # DELETE /v1/uploads/{id}: the row stays, the blob goes


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id"),
        Index("ix_jobs_account_id_id", "account_id", "id"),
        Index("ix_jobs_status_heartbeat_at", "status", "heartbeat_at"),
        Index("ix_jobs_status_enqueued_at", "status", "enqueued_at"),
        Index("ix_jobs_account_id_status", "account_id", "status"),
        Index("ix_jobs_cache_key", "cache_key"),
        Index("ix_jobs_expires_at", "expires_at"),
        Index("ix_jobs_finished_at", "finished_at"),  # GET /metrics reads what finished since
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    status: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    spec: Mapped[dict[str, Any]]
    spec_hash: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(128))
    inputs: Mapped[list[Any]] = mapped_column(JSON)  # [{"upload_id", "blob"}] as submitted
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str | None] = mapped_column(String(100))
    heartbeat_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    enqueued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(Text)
    output_blob: Mapped[str | None] = mapped_column(ForeignKey("blobs.key"))
    poster_blob: Mapped[str | None] = mapped_column(ForeignKey("blobs.key"))
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    device: Mapped[str | None] = mapped_column(String(100))
    # What the backend will run (steps, size, frames, ... after defaults and presets).
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Measured compute: device name, peak memory, warm or cold load, hourly rate.
    compute: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Policy decisions: {"submit": {...}, "output": {...}} (public part: decision, categories)
    moderation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # billing: the key that submitted it, credits quoted and reserved, what became of them
    key_id: Mapped[str | None] = mapped_column(String(40))
    credits: Mapped[int] = mapped_column(BigInteger, default=0)
    # none | reserved | captured | released
    billing: Mapped[str] = mapped_column(String(20), default="none")
    credits_charged: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float)  # measured, on the final object
    cache_key: Mapped[str | None] = mapped_column(String(64))
    cached_from: Mapped[str | None] = mapped_column(String(40))  # a result-cache hit
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    # delivery: DELETE /v1/videos/{id} keeps the row (ledger, audit, reports) and marks it;
    # expires_at is when retention removes the output; purged_at when its files were removed.
    deleted_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
    # `reelforge fsck --repair` found the stored output missing or damaged: missing |
    # size_mismatch | hash_mismatch (the output answers 410, the result cache skips it).
    output_damage: Mapped[str | None] = mapped_column(String(40))
    # the stored output carries a sound track (kept through marking); None before it is stored
    has_audio: Mapped[bool | None] = mapped_column(Boolean)


class Model(Base):
    """A neural model an operator registered: a local diffusers-format directory."""

    __tablename__ = "models"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    family: Mapped[str] = mapped_column(String(20))  # wan | ltx | cogvideox
    task: Mapped[str] = mapped_column(String(10))  # t2v | i2v | flf2v
    path: Mapped[str] = mapped_column(Text)
    dtype: Mapped[str] = mapped_column(String(10))  # bf16 | fp16 | fp32
    device: Mapped[str] = mapped_column(String(40))  # cuda | cuda:N | cpu
    gpu_hourly_usd: Mapped[float | None] = mapped_column(Float)
    options: Mapped[dict[str, Any]]  # speed and memory options (offload, cache, compile, ...)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class JobEvent(Base):
    __tablename__ = "job_events"
    __table_args__ = (UniqueConstraint("job_id", "seq"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_finished_at", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    url: Mapped[str] = mapped_column(String(2048))
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only record of every governance decision and every reviewer or registry action."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created_at", "created_at"),
        Index("ix_audit_log_subject", "subject"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    created_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))  # system | account:<id> | reviewer:<id>
    action: Mapped[str] = mapped_column(String(60))  # moderation.submit, review.approve, ...
    account_id: Mapped[str | None] = mapped_column(String(40))  # whose request it was
    subject: Mapped[str | None] = mapped_column(String(60))  # job, person or upload id
    policy: Mapped[str | None] = mapped_column(String(100))  # profile@version
    decision: Mapped[str | None] = mapped_column(String(20))
    categories: Mapped[list[Any] | None] = mapped_column(JSON)
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rule: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Review(Base):
    """A job waiting for a person: held by the policy (at submit or on the output) or appealed."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_status_created_at", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(20))  # policy (held by the policy) | appeal
    stage: Mapped[str] = mapped_column(String(20))  # submit | output: where the job stopped
    status: Mapped[str] = mapped_column(String(20))  # pending | approved | rejected
    categories: Mapped[list[Any]] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)  # the user's appeal
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    reviewer: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class LikenessPerson(Base):
    __tablename__ = "likeness_people"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    public_figure: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class LikenessFace(Base):
    """A reference face: its 128-d embedding (the photo itself only if configured)."""

    __tablename__ = "likeness_faces"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("likeness_people.id"), index=True)
    embedding: Mapped[list[Any]] = mapped_column(JSON)
    photo_blob: Mapped[str | None] = mapped_column(ForeignKey("blobs.key"))
    created_at: Mapped[datetime]


class LikenessConsent(Base):
    __tablename__ = "likeness_consents"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("likeness_people.id"), index=True)
    grantee: Mapped[str] = mapped_column(String(40))  # an account id, or "*" for everyone
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class FleetSecret(Base):
    """A credential every node of the deployment shares (the AIGC key, the development C2PA
    authority as JSON of PEMs): written once by the first node that needs it."""

    __tablename__ = "fleet_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class WorkerRecord(Base):
    """A worker process, as it last reported itself: written at start, its heartbeat
    refreshed while it runs, so any node (the API of a fleet) sees workers on every machine."""

    __tablename__ = "workers"
    __table_args__ = (Index("ix_workers_heartbeat_at", "heartbeat_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid, or a name
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    queues: Mapped[list[Any]] = mapped_column(JSON)
    models: Mapped[list[Any]] = mapped_column(JSON)  # [{"name", "queue", "device"}]
    device: Mapped[str] = mapped_column(String(100))
    slots: Mapped[int] = mapped_column(Integer)
    busy: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
