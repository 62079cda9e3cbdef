"""Extension points features plug into, wired once in `bootstrap`.

Governance, provenance, billing and analytics attach here instead of editing the submit and
execution paths: each is a list on the `Platform`, run in order.

- `SubmitCheck.check`       before anything is written (moderation, quotas); raise to refuse
                            (in `app.platform`: the one port that is handed the container).
- `SubmitRecorder.on_submit` inside the submit transaction (reserve credits, audit entries).
- `FrameFilterFactory.for_job` a per-job frame hook applied before encoding (labels, marks).
- `OutputStep.process`      after encoding, before storing (metadata, signing, output checks);
                            returns the path of the file to store (may be a new one).
- `FinalHook.on_final`      inside the transaction that records a final status (capture or
                            release credits, usage events).
- `MetadataProvider.tags`   container tags written by the encoder (AIGC implicit label).

And the two features the job pipeline calls by name, typed here so that mypy checks every
call: `ModerationPort` (the policy in force, `Platform.moderation`) and `BillingPort` (prices,
reservations and plans, `Platform.billing`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy.orm import Session

from reelforge.billing.sheet import BillingSheet, Plan
from reelforge.domain.account import AccountRef
from reelforge.domain.spec import JobSpec
from reelforge.errors import ReelforgeError
from reelforge.governance.policy import PolicyProfile
from reelforge.governance.signals import Decision
from reelforge.storage.tables import Account, Job

FrameHook = Callable[[int, np.ndarray], "np.ndarray | None"]


class SubmitRecorder(Protocol):
    def on_submit(self, s: Session, job: Job, now: datetime) -> None: ...


class FrameFilterFactory(Protocol):
    def for_job(
        self, job: Job, spec: JobSpec, width: int, height: int, fps: int
    ) -> FrameHook | None: ...


class OutputStep(Protocol):
    def process(self, job: Job, spec: JobSpec, video: Path, workdir: Path) -> Path: ...


class MetadataProvider(Protocol):
    def tags(self, job: Job, spec: JobSpec) -> dict[str, str]: ...


class FinalHook(Protocol):
    def on_final(self, s: Session, job: Job, now: datetime) -> None: ...


class CustomerFactory(Protocol):
    """Create an account as a customer: its plan checked, the signup recorded, its billing
    summary returned (services.billing.customers.create; wired by the bootstrap), so the
    sign-in use case creates customers without importing billing."""

    def __call__(
        self,
        p: Any,
        name: str,
        *,
        plan: str | None = None,
        segment: str = "creator",
        admin: bool = False,
        simulated: bool = False,
    ) -> dict[str, Any]: ...


class FinalWebhook(Protocol):
    """Queue the job's final webhook in the transaction that made it final (the outgoing
    webhooks, services.notify.deliveries.queue_final_webhook; wired by the bootstrap)."""

    def __call__(self, s: Session, job: Job, now: datetime, /) -> None: ...


class OutputRefused(ReelforgeError):
    """Raised by an output step (the output check): the file is stored but held (review) or
    never released (blocked)."""

    code = "content_blocked"

    def __init__(self, decision: Decision):
        super().__init__("the output was refused by the content policy")
        self.decision = decision


class ModerationPort(Protocol):
    """What the job pipeline needs from the policy in force (services.governance.moderation)."""

    profile: PolicyProfile

    def check_submit(self, account: AccountRef, spec: JobSpec, workdir: Path) -> Decision:
        """Decide on a request before anything is written."""
        ...

    def record_submit(
        self, s: Session, job: Job, account: AccountRef, decision: Decision, now: datetime
    ) -> None:
        """Inside the submit transaction: the job's moderation record and its audit entry."""
        ...

    def record_output(self, s: Session, job: Job, decision: Decision, now: datetime) -> None:
        """Inside the transaction that records a refused output: its decision and audit entry."""
        ...

    def hold_for_review(
        self, s: Session, job: Job, *, stage: str, categories: list[str], now: datetime
    ) -> None:
        """Inside the caller's transaction: a pending review of `job` (a person decides)."""
        ...

    def forget(self, job_id: str) -> None:
        """Drop what was kept for a job that ended early."""
        ...

    def warm(self) -> None:
        """Load the detectors now rather than on the first request."""
        ...


class PriceQuote(Protocol):
    """A price before submit (services.billing.charges.Quote)."""

    @property
    def credits(self) -> int: ...

    def view(self, sheet_version: str) -> dict[str, Any]: ...


class RateLimitState(Protocol):
    """Where an API key stands after a request (services.billing.ratelimit.RateState)."""

    @property
    def limit(self) -> int: ...

    @property
    def retry_after(self) -> float | None: ...

    @property
    def allowed(self) -> bool: ...

    def headers(self) -> dict[str, str]: ...


class BillingPort(Protocol):
    """What the job pipeline and the API need from billing (services.billing.charges)."""

    sheet: BillingSheet

    def quote(self, spec: JobSpec, family: str, hourly_usd: float | None = None) -> PriceQuote:
        """The price of a spec on a queue (`family`), before anything is written."""
        ...

    def lock(self, s: Session, account_id: str) -> None:
        """Serialise this account's reservations: call first in the submit transaction."""
        ...

    def plan_of(self, account: Account) -> Plan:
        """The account's plan (free when its plan left the sheet)."""
        ...

    def limit_rate(
        self, key_id: str, plan_name: str | None, *, read: bool = False
    ) -> RateLimitState:
        """Count one API request against the key's plan rate."""
        ...


def chain_frame_hooks(hooks: list[FrameHook]) -> FrameHook | None:
    """One hook that applies several in order (each sees the previous one's output)."""
    if not hooks:
        return None

    def run(index: int, frame: np.ndarray) -> np.ndarray | None:
        changed = None
        for hook in hooks:
            result = hook(index, frame)
            if result is not None:
                frame = changed = result
        return changed

    return run
