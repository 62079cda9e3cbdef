"""The one composition root: settings in, a wired `Platform` out."""

from __future__ import annotations

from reelforge.app.platform import BackendRegistry, Platform
from reelforge.backends.base import GenerationBackend
from reelforge.backends.neural.backend import NeuralRuntime
from reelforge.backends.providers.backend import ProviderRuntime
from reelforge.billing.sheet import load_sheet
from reelforge.config import Settings
from reelforge.domain.clock import Clock, system_clock
from reelforge.errors import InvalidSetting, ServiceUnavailable
from reelforge.governance.policy import load_profile
from reelforge.media.images import set_decode_budget
from reelforge.queue.jobqueue import HueyJobQueue, JobQueue
from reelforge.services.billing import customers
from reelforge.services.billing.charges import Billing
from reelforge.services.governance.moderation import Moderation
from reelforge.services.jobs.model_registry import ModelCatalog
from reelforge.services.jobs.provider_registry import (
    Catalogs,
    ProviderCatalog,
    callback_url_factory,
    make_pricer,
)
from reelforge.services.jobs.retention import Retention
from reelforge.services.notify.deliveries import queue_final_webhook
from reelforge.services.provenance.marking import Provenance
from reelforge.storage.blobs import BlobStore, open_blob_store
from reelforge.storage.db import Database


def data_dir_error(settings: Settings, exc: OSError) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"the data directory {settings.data_dir} is not writable ({exc.strerror or exc}): "
        "fix its permissions or set RF_DATA_DIR",
        code="data_dir_not_writable",
    )


def open_database(settings: Settings) -> Database:
    """The database the settings name (and the data directory it may live in), with a
    problem as one line: InvalidSetting or ServiceUnavailable."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise data_dir_error(settings, exc) from None
    try:
        return Database(settings.resolved_database_url)
    except ValueError as exc:
        raise InvalidSetting(f"RF_DATABASE_URL: {exc}") from None
    except OSError as exc:  # the SQLite file's directory cannot be made
        raise data_dir_error(settings, exc) from None


def migrate_database(settings: Settings) -> tuple[list[str], str | None]:
    """`reelforge migrate`: (the revisions applied now, the schema's revision)."""
    db = open_database(settings)
    try:
        return db.migrate(), db.revision
    finally:
        db.dispose()


def default_backends(settings: Settings) -> list[GenerationBackend]:
    from reelforge.backends.motion import MotionBackend

    return [
        MotionBackend(
            supersample=settings.motion_supersample,
            max_pixels=settings.max_image_pixels,
            frame_delay=settings.motion_frame_delay,
        )
    ]


def bootstrap(
    settings: Settings | None = None,
    *,
    migrate: bool = True,
    backends: list[GenerationBackend] | None = None,
    blobs: BlobStore | None = None,
    queue: JobQueue | None = None,
    clock: Clock = system_clock,
    moderate: bool = True,
    label: bool = True,
    bill: bool = True,
) -> Platform:
    """Build the platform from settings; tests may swap any adapter. `moderate=False` leaves
    the policy out, `label=False` the provenance marks and `bill=False` prices and credits
    (only for tests and benchmarks of other parts: every real output is moderated, labelled
    and metered)."""
    settings = settings or Settings()
    set_decode_budget(settings.decode_budget_bytes)  # process-wide, like the decoders
    db = open_database(settings)
    if migrate:
        db.migrate()
    profile = load_profile(settings.policy_profile, settings.policy_dir)
    runtime = NeuralRuntime(
        cache_models=settings.pipeline_cache_models,
        cache_bytes=settings.pipeline_cache_bytes,
        device=settings.neural_device,
    )
    providers = ProviderRuntime(db, settings, clock=clock, pricer=make_pricer())
    p = Platform(
        settings=settings,
        db=db,
        blobs=blobs
        or open_blob_store(
            settings.resolved_blob_url,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
        ),
        queue=queue
        or HueyJobQueue(settings.resolved_queue_url, namespace=settings.queue_namespace),
        backends=BackendRegistry(
            backends if backends is not None else default_backends(settings),
            catalog=Catalogs(ModelCatalog(db, runtime), ProviderCatalog(db, providers)),
            defaults=settings.default_model,
        ),
        clock=clock,
        policy_version=profile.ref,
    )
    providers.callback_url = callback_url_factory(p)
    if bill:
        billing = Billing(p, load_sheet(settings.billing_file))
        p.billing = billing
        p.submit_recorders.append(billing)
        p.final_hooks.append(billing)
    if moderate:
        moderation = Moderation(p, profile)
        p.moderation = moderation
        p.frame_filters.append(moderation)
        p.output_steps.append(moderation)
        p.final_hooks.append(moderation)
    if label:
        provenance = Provenance(p, profile)
        p.frame_filters.append(provenance)
        p.output_metadata.append(provenance)
        p.output_steps.append(provenance)  # last: the manifest signs the final bytes
    p.final_hooks.append(Retention(p))  # expires_at on succeeded outputs (when configured)
    p.final_webhook = queue_final_webhook  # the callback_url's final status, when one is set
    p.create_customer = customers.create  # sign-up and accounts with a login
    return p
