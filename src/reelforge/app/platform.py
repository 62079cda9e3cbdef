"""`Platform`: the adapters one process works with, built once by `bootstrap`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from reelforge.app.ports import (
    BillingPort,
    CustomerFactory,
    FinalHook,
    FinalWebhook,
    FrameFilterFactory,
    MetadataProvider,
    ModerationPort,
    OutputStep,
    SubmitRecorder,
)
from reelforge.backends.base import GenerationBackend
from reelforge.config import Settings
from reelforge.domain.account import AccountRef
from reelforge.domain.clock import Clock, system_clock
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import CapabilityMissing
from reelforge.queue.jobqueue import JobQueue
from reelforge.storage.blobs import BlobStore
from reelforge.storage.db import Database


class SubmitCheck(Protocol):
    """Runs before anything of a submit is written (moderation, quotas); raises to refuse."""

    def check(self, p: Platform, account: AccountRef, spec: JobSpec) -> None: ...


class ModelCatalog(Protocol):
    """Models registered at run time (the neural model registry), beside built-in backends."""

    def backend(self, name: str) -> GenerationBackend | None: ...

    def serving(self, mode: Mode) -> list[str]: ...

    def queues(self) -> list[str]: ...

    def names(self) -> list[str]: ...


class BackendRegistry:
    """Model name → backend: built-in backends, then the catalog of registered models.
    `resolve` picks the backend that serves a spec."""

    def __init__(
        self,
        backends: Iterable[GenerationBackend] = (),
        catalog: ModelCatalog | None = None,
        defaults: Mapping[str, str] | None = None,
    ):
        self._by_name: dict[str, GenerationBackend] = {}
        self.catalog = catalog
        self.defaults = dict(defaults or {})  # mode → model name chosen by the operator
        for backend in backends:
            self.add(backend)

    def add(self, backend: GenerationBackend) -> None:
        self._by_name[backend.name] = backend

    def builtin_names(self) -> list[str]:
        return sorted(self._by_name)

    def names(self) -> list[str]:
        extra = self.catalog.names() if self.catalog else []
        return sorted({*self._by_name, *extra})

    def get(self, name: str) -> GenerationBackend | None:
        backend = self._by_name.get(name)
        if backend is None and self.catalog is not None:
            backend = self.catalog.backend(name)
        return backend

    def default_model(self, mode: Mode) -> str:
        """The model a request without `model` goes to: the operator's choice for the mode,
        the built-in motion backend for an image, or the one registered model serving it."""
        if mode.value in self.defaults:
            return self.defaults[mode.value]
        if mode in (Mode.IMAGE2VIDEO, Mode.EXTEND, Mode.FRAMES2VIDEO) and "motion" in self._by_name:
            return "motion"
        serving = self.catalog.serving(mode) if self.catalog else []
        if len(serving) == 1:
            return serving[0]
        if serving:
            raise CapabilityMissing(
                f"several models serve {mode}: {', '.join(serving)}; choose one with `model`",
                code="model_required",
                field="model",
            )
        if mode is Mode.TEXT2VIDEO:
            raise CapabilityMissing(
                "No text-to-video model is configured on this deployment. An operator can add "
                "one with `pip install 'reelforge[neural]'` and `reelforge models add NAME "
                "--family wan --path DIR`, then pass `model`=NAME; or send an image "
                "(image2video) to use the built-in motion backend.",
                code="no_text2video_model",
            )
        raise CapabilityMissing(f"no model serves {mode}; configured: {self.names()}")

    def resolve(self, spec: JobSpec, found: GenerationBackend | None = None) -> GenerationBackend:
        """The backend serving `spec` (`found`: the one a caller already looked up by name),
        after it checked the spec."""
        backend = found or self.get(spec.model)
        if backend is None:
            raise CapabilityMissing(
                f"unknown model {spec.model!r}; available: {', '.join(self.names()) or 'none'}",
                code="unknown_model",
                field="model",
            )
        backend.check(spec)
        return backend

    def queues(self) -> list[str]:
        extra = self.catalog.queues() if self.catalog else []
        return sorted({*(b.queue for b in self._by_name.values()), *extra})


@dataclass
class Platform:
    settings: Settings
    db: Database
    blobs: BlobStore
    queue: JobQueue
    backends: BackendRegistry
    clock: Clock = field(default=system_clock)
    # Version of the moderation policy in force; part of result-cache keys and audit entries.
    # Governance sets it in bootstrap; "none" means no policy is loaded.
    policy_version: str = "none"
    submit_checks: list[SubmitCheck] = field(default_factory=list)
    submit_recorders: list[SubmitRecorder] = field(default_factory=list)
    frame_filters: list[FrameFilterFactory] = field(default_factory=list)
    output_steps: list[OutputStep] = field(default_factory=list)
    final_hooks: list[FinalHook] = field(default_factory=list)
    # The job's final webhook (services.notify): the pipeline calls it without importing it.
    final_webhook: FinalWebhook | None = None
    # Creating a customer (services.billing.customers.create), for the sign-in use case.
    create_customer: CustomerFactory | None = None
    output_metadata: list[MetadataProvider] = field(default_factory=list)
    # The policy in force (services.governance.moderation.Moderation); None only in tests that
    # swap it out.
    moderation: ModerationPort | None = None
    # Prices, reservations and metering (services.billing.charges.Billing); None: nothing is
    # charged.
    billing: BillingPort | None = None

    def close(self) -> None:
        self.queue.close()
        self.db.dispose()
