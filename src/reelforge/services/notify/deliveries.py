"""Webhooks on final statuses: a delivery row is written in the same transaction as the
final status (so it cannot be lost), then a dispatcher in every worker process sends due
deliveries, retrying with exponential backoff and recording every attempt."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.domain.job import new_id
from reelforge.errors import UnsafeCallbackUrl
from reelforge.net.outbound import pinned_stream
from reelforge.services.jobs.delivery import with_signed_links
from reelforge.services.jobs.periodic import is_outage, isolated, report
from reelforge.services.jobs.views import job_view
from reelforge.storage import repositories as repo
from reelforge.storage.tables import Account, Job, WebhookDelivery
from reelforge.webhooks.sender import Post, SendResult, send_signed

log = logging.getLogger(__name__)
_LOCK_FOR = timedelta(minutes=2)


def queue_final_webhook(s: Session, job: Job, now: datetime) -> None:
    """Within the caller's transaction: schedule the job object for its callback_url. Its
    output URLs are signed when each attempt is sent (fresh, whatever the retry delay)."""
    url = (job.spec or {}).get("callback_url")
    if not url:
        return
    s.add(
        WebhookDelivery(
            id=new_id("whd"),
            job_id=job.id,
            account_id=job.account_id,
            url=url,
            event=f"video.{job.status}",
            payload=json.dumps(job_view(job), separators=(",", ":")),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def retry_delay(p: Platform, attempts: int) -> timedelta:
    return timedelta(seconds=min(p.settings.webhook_backoff * 4 ** (attempts - 1), 3600.0))


def deliver_due(p: Platform, limit: int = 20) -> int:
    """Send every delivery whose time has come; returns how many attempts were made."""
    now = p.clock()
    with p.db.session(write=False) as s:
        due = [d.id for d in repo.due_deliveries(s, now, limit)]
    made: list[str] = []
    for delivery_id in due:  # one delivery's error is logged and skipped (periodic)
        isolated("webhook dispatcher", delivery_id, partial(_attempt_counted, p, delivery_id, made))
    return len(made)


def _attempt_counted(p: Platform, delivery_id: str, made: list[str]) -> None:
    if _attempt(p, delivery_id):
        made.append(delivery_id)


def _attempt(p: Platform, delivery_id: str) -> bool:
    now = p.clock()
    limit = p.settings.webhook_max_attempts
    with p.db.session() as s:
        # the attempt is counted as the delivery is taken, before anything is sent: one whose
        # record below cannot be written (or whose worker dies after the POST) still counts,
        # so no delivery is re-sent uncounted each time its lock runs out
        attempt = repo.lock_delivery(s, delivery_id, now, now + _LOCK_FOR)
        if attempt is None:
            return False  # another dispatcher has it
        d = s.get(WebhookDelivery, delivery_id, populate_existing=True)
        assert d is not None
        if attempt > limit:  # its last attempts were sent but never recorded: give up
            d.status, d.finished_at, d.locked_until = "failed", now, None
            log.warning(
                "webhook %s to %s gave up after %d attempts (not all recorded)",
                d.id,
                origin(d.url),
                limit,
            )
            return False
        account = s.get(Account, d.account_id)
        assert account is not None
        url, payload, event, secret = d.url, d.payload, d.event, account.webhook_secret
        job_id = d.job_id
    try:
        payload = with_signed_links(p, job_id, payload)  # absolute, keyless output URLs
        result = send_signed(
            _pinned_post(p, url),
            payload.encode(),
            secret=secret,
            event=event,
            delivery_id=delivery_id,
        )
    except UnsafeCallbackUrl as exc:
        result = SendResult(False, None, exc.message, 0.0)
    except Exception as exc:  # this delivery's own fault: an attempt that failed, not a stall
        if is_outage(exc):
            raise
        report("webhook dispatcher", delivery_id, exc)
        result = SendResult(False, None, f"not sent: {type(exc).__name__}", 0.0)
    done = p.clock()
    retry_at: datetime | None = None
    if result.ok:
        status = "delivered"
    elif attempt >= limit:
        status = "failed"
    else:
        status, retry_at = "pending", done + retry_delay(p, attempt)
    try:
        with p.db.session() as s:
            repo.record_delivery_attempt(
                s,
                delivery_id,
                attempt,
                status_code=result.status_code,
                error=result.error,
                duration_ms=result.duration_ms,
                at=done,
            )
            repo.finish_delivery_attempt(s, delivery_id, status=status, at=done, retry_at=retry_at)
    except Exception as exc:  # the attempt counts all the same: end it without its record
        if is_outage(exc):
            raise
        report("webhook dispatcher", delivery_id, exc)
        with p.db.session() as s:
            repo.finish_delivery_attempt(s, delivery_id, status=status, at=done, retry_at=retry_at)
    if status == "failed":
        log.warning("webhook %s to %s gave up after %d attempts", delivery_id, origin(url), attempt)
    return True


def origin(url: str) -> str:
    """What a log line may say of a callback URL: scheme, host and port. Its path and query
    can carry the receiver's own token."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    except ValueError:  # a port that is not a number: nothing of it is worth logging
        return "(a callback URL that does not parse)"


def _pinned_post(p: Platform, url: str) -> Post:
    """POST to the address checked now (resolved once: no DNS rebinding between the check
    and the connection); a redirect is answered as a failure, never followed."""

    def post(body: bytes, headers: dict[str, str]) -> int:
        with pinned_stream(
            "POST",
            url,
            allow=p.settings.webhook_allow_hosts,
            field="callback_url",
            setting="RF_WEBHOOK_ALLOW_HOSTS",
            code="unsafe_callback_url",
            timeout=p.settings.webhook_timeout,
            headers=headers,
            content=body,
        ) as response:
            return response.status_code

    return post


def deliveries_of(p: Platform, job_id: str) -> list[dict[str, object]]:
    """Deliveries of a job with every attempt (operator and test visibility)."""
    with p.db.session(write=False) as s:
        out: list[dict[str, object]] = []
        for d in repo.deliveries_for_job(s, job_id):
            out.append(
                {
                    "id": d.id,
                    "url": d.url,
                    "event": d.event,
                    "status": d.status,
                    "attempts": [
                        {
                            "attempt": a.attempt,
                            "status_code": a.status_code,
                            "error": a.error,
                            "duration_ms": round(a.duration_ms, 1),
                        }
                        for a in repo.delivery_attempts(s, d.id)
                    ],
                }
            )
        return out
