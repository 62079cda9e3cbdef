"""The job state machine and the events a job records.

queued → running → succeeded | failed | cancelled
queued → cancelled            (cancel before a worker picked it up)
running → queued              (handed back on shutdown, or re-queued by the reaper)

Over the plan's concurrency a new job waits before the queue:
throttled → queued            a slot freed (one of the account's jobs left queued/running),
                              in submit order
review → throttled            approved while the account has no free slot
throttled → cancelled | failed

Governance adds three:
moderating                    an operator's guard model checks the prompt first (a moderation
                              task on the queue): → queued | throttled | review | blocked, or
                              cancelled; no generation job is enqueued before it answers
review                        the policy asked for a person: at submit (nothing runs until
                              approved → queued) or on the output (held until approved →
                              succeeded); a rejection → blocked
blocked                       refused by the policy, at submit or on the output; no output is
                              ever downloadable; an appeal → review
"""

from __future__ import annotations

import os
import time
from enum import StrEnum

from reelforge.errors import Conflict


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVIEW = "review"
    BLOCKED = "blocked"
    THROTTLED = "throttled"  # accepted over the plan's concurrency: waits for a free slot
    MODERATING = "moderating"  # a guard model checks the prompt before anything is enqueued

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


# Jobs that hold one of the plan's concurrency slots (queued on the queue, or running).
SLOT_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})

# Final: nothing more happens by itself (a blocked job may still be appealed).
FINAL_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.BLOCKED}
)

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset(
        {
            JobStatus.SUCCEEDED,
            JobStatus.FAILED,
            JobStatus.CANCELLED,
            JobStatus.QUEUED,
            JobStatus.BLOCKED,
            JobStatus.REVIEW,
        }
    ),
    JobStatus.REVIEW: frozenset(
        {
            JobStatus.QUEUED,
            JobStatus.THROTTLED,
            JobStatus.SUCCEEDED,
            JobStatus.BLOCKED,
            JobStatus.CANCELLED,
        }
    ),
    JobStatus.THROTTLED: frozenset({JobStatus.QUEUED, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.MODERATING: frozenset(
        {
            JobStatus.QUEUED,
            JobStatus.THROTTLED,
            JobStatus.REVIEW,
            JobStatus.BLOCKED,
            JobStatus.CANCELLED,
            JobStatus.FAILED,
        }
    ),
    JobStatus.BLOCKED: frozenset({JobStatus.REVIEW}),  # an appeal
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


def sources_of(target: JobStatus) -> frozenset[JobStatus]:
    """Statuses from which `target` may be reached (used in conditional UPDATEs)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


def check_transition(current: JobStatus, target: JobStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise Conflict(f"a {current} job cannot become {target}", code="invalid_state")


class EventType(StrEnum):
    SUBMITTED = "submitted"
    STARTED = "started"
    PROGRESS = "progress"
    REQUEUED = "requeued"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CANCEL_REQUESTED = "cancel_requested"
    BLOCKED = "blocked"
    REVIEW_REQUESTED = "review_requested"  # waiting for a reviewer (policy or appeal)
    APPROVED = "approved"  # a reviewer let it through
    ADMITTED = "admitted"  # throttled → queued: a slot of the plan's concurrency freed
    MODERATED = "moderated"  # moderating → queued/throttled: the guard model let it through


STATUS_EVENT = {
    JobStatus.SUCCEEDED: EventType.SUCCEEDED,
    JobStatus.FAILED: EventType.FAILED,
    JobStatus.CANCELLED: EventType.CANCELLED,
    JobStatus.BLOCKED: EventType.BLOCKED,
}

# The stage of a running job whose output is being finalized (provenance marking, storing,
# recording): from here on a cancel is refused (409 `too_late`), so a job is never both
# cancelled and charged. Set by the worker only while no cancel was requested.
FINALIZING = "finalizing"

# Failure codes recorded on jobs (the `error.code` users see).
WORKER_LOST = "worker_lost"  # heartbeats stopped more often than max_attempts allows
# the job could not be recorded final (a periodic duty failed it instead; credits released)
FINALIZE_FAILED = "finalize_failed"
CONTENT_BLOCKED = "content_blocked"  # the policy refused the request or its output
# The queue of moderation tasks: a moderating job's guard-model check (services.governance.
# guard_tasks); the workers that serve it run the guard, on CPU or next to it on a GPU.
MODERATION_QUEUE = "moderation"


def blocked_message(job_id: str, categories: list[str]) -> str:
    """The message of a job the policy blocked (at submit or on its output)."""
    return (
        f"blocked by the content policy ({', '.join(categories) or 'policy'}); if you think "
        f"this is a mistake, appeal with POST /v1/videos/{job_id}/appeal"
    )


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    """A sortable unique id: prefix + ULID (48-bit ms time + 80 random bits, Crockford base32).

    Sorting ids sorts by creation time, which gives cheap keyset pagination.
    """
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars)).lower()}"
