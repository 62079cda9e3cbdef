"""Helpers of the MiniMax, Veo and Sora tests: a platform with one provider model registered
against its fake server, jobs submitted and run by the real worker, outputs fetched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.media.audio import audio_track, decoded_audio_seconds
from reelforge.media.probe import probe_video
from reelforge.services.accounts import accounts
from reelforge.services.jobs import provider_registry, queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.worker.loop import Worker
from tests.conftest import make_settings
from tests.helpers import event_types, wait_final
from tests.providers.fakes.base import FakeProvider


def hosted_platform(
    tmp_path: Path, provider: str, remote_model: str, fake: FakeProvider, **settings: object
) -> Platform:
    """A platform whose worker serves the `providers` queue, with model NAME = `provider`
    registered as `remote_model` and the provider's base URL at `fake`."""
    values: dict[str, object] = {
        "worker_queues": ["providers"],
        "provider_poll_interval": 0.05,  # seconds between polls (+-20%)
        "provider_busy_retry": 0.2,  # a throttled job is queued again after this
        f"provider_{provider}_base_url": fake.base_url,
        **settings,
    }
    p = bootstrap(make_settings(tmp_path, **values))
    provider_registry.add_provider_model(
        p,
        provider_registry.parse_provider_model_request(
            {"name": provider, "provider": provider, "remote_model": remote_model}
        ),
    )
    return p


def submit(p: Platform, model: str, **fields: Any) -> tuple[accounts.AccountRef, dict[str, Any]]:
    acct = accounts.ensure_account(p, "alice")
    body = {"prompt": "a lighthouse at dusk", "model": model, **fields}
    return acct, submit_job(p, acct, SubmitRequest.parse(body)).job


def run(p: Platform, acct: accounts.AccountRef, job_id: str, timeout: float = 60) -> dict[str, Any]:
    worker = Worker(p).start()
    try:
        return wait_final(p, acct, job_id, timeout=timeout)
    finally:
        worker.stop()


def output(p: Platform, acct: accounts.AccountRef, job_id: str, dest: Path) -> Path:
    p.blobs.download(queries.job_content(p, acct, job_id).key, dest)
    probe_video(dest)  # decodes every frame
    return dest


def assert_keeps_sound(path: Path, seconds: float, fps: float) -> None:
    track = audio_track(path)
    assert track is not None and track.codec == "aac"
    assert abs(decoded_audio_seconds(path) - seconds) <= 1 / fps


def requeued(p: Platform, acct: accounts.AccountRef, job_id: str) -> bool:
    return "requeued" in event_types(p, acct, job_id)
