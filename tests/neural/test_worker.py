"""Neural jobs on a worker: warm pipelines, cancellation mid-denoise, and faults that fail
the job with a code while the worker goes on serving — on SQLite and PostgreSQL + Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.config import Settings
from reelforge.services.accounts import accounts
from reelforge.services.jobs import model_registry, queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.worker.loop import Worker
from tests.conftest import make_settings
from tests.helpers import event_types, wait_final, wait_for


@pytest.fixture
def neural(settings: Settings) -> Iterator[Platform]:
    # Recovery has its own tests: here a job must not be reaped as stale (and re-run on a
    # freshly loaded pipeline) because a loaded machine delayed a heartbeat past the test
    # settings' 2 s.
    settings = settings.model_copy(
        update={"heartbeat_timeout": 30.0, "worker_queues": ["wan", "ltx", "cogvideox"]}
    )
    p = bootstrap(settings)
    yield p
    p.close()


def add(p: Platform, name: str, path: Path, **extra: Any) -> None:
    model_registry.add_model(
        p,
        model_registry.parse_model_request(
            {
                "name": name,
                "family": "wan",
                "path": str(path),
                "dtype": "fp32",
                "device": "cpu",
                **extra,
            }
        ),
    )


def submit(p: Platform, account: accounts.AccountRef, model: str, **extra: Any) -> str:
    body = {
        "model": model,
        "prompt": "a cat",
        "width": 32,
        "height": 32,
        "frames": 9,
        "steps": 2,
        "seed": 3,
        **extra,
    }
    return str(submit_job(p, account, SubmitRequest.parse(body)).job["id"])


def cache(p: Platform) -> Any:
    """The neural runtime's warm cache (the neural catalog sits beside the providers')."""
    catalog: Any = p.backends.catalog
    for part in getattr(catalog, "catalogs", (catalog,)):
        if hasattr(part, "runtime"):
            return part.runtime.cache
    raise AssertionError("no neural catalog")


def test_cancel_mid_denoise_then_the_warm_pipeline_serves_the_next_job(
    neural: Platform, tiny_dirs: dict
) -> None:
    p = neural
    add(p, "wan", tiny_dirs["wan", "t2v"])
    acct = accounts.ensure_account(p, "acme")
    worker = Worker(p, concurrency=1).start()
    try:
        long_job = submit(p, acct, "wan", steps=200, width=64, height=64, frames=17)

        def denoising() -> bool:
            events, _ = queries.events_since(p, acct, long_job, 0)
            return any(
                e["type"] == "progress" and e["stage"] == "denoise" and e["done"] >= 1
                for e in events
            )

        wait_for(denoising, timeout=60)
        queries.cancel_job(p, acct, long_job)
        cancelled = wait_final(p, acct, long_job, timeout=30)
        assert cancelled["status"] == "cancelled" and cancelled["output"] is None
        events, _ = queries.events_since(p, acct, long_job, 0)
        done = max(e["done"] for e in events if e.get("stage") == "denoise")
        assert 1 <= done < 200  # stopped at a step
        assert not any(e.get("stage") == "decode" for e in events)  # no half-denoised decode

        next_job = submit(p, acct, "wan")
        finished = wait_final(p, acct, next_job, timeout=60)
        assert finished["status"] == "succeeded", finished["error"]
        assert finished["compute"]["warm"] is True and finished["timings"]["load"] < 0.5
        assert cache(p).stats.loads == 1 and cache(p).stats.hits == 1
    finally:
        worker.stop(hand_back=True)


def test_out_of_memory_fails_the_job_frees_the_pipeline_and_the_worker_goes_on(
    neural: Platform, tiny_dirs: dict
) -> None:
    p = neural
    add(p, "wan", tiny_dirs["wan", "t2v"])
    acct = accounts.ensure_account(p, "acme")
    worker = Worker(p, concurrency=1).start()
    try:
        assert wait_final(p, acct, submit(p, acct, "wan"))["status"] == "succeeded"
        (pipe,) = cache(p).pipelines()

        def exhausted(*_: Any) -> None:  # what the CUDA allocator raises when memory runs out
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

        pipe.transformer.register_forward_pre_hook(exhausted)
        failed = wait_final(p, acct, submit(p, acct, "wan"))
        assert failed["status"] == "failed" and failed["error"]["code"] == "out_of_memory", (
            failed["status"],
            failed["attempt"],
            failed["error"],
        )
        assert cache(p).pipelines() == []  # dropped, so the next job starts clean
        again = wait_final(p, acct, submit(p, acct, "wan"))
        assert again["status"] == "succeeded" and again["compute"]["warm"] is False
        assert cache(p).stats.loads == 2
    finally:
        worker.stop(hand_back=True)


def test_a_corrupt_model_fails_its_jobs_and_other_models_still_run(
    neural: Platform, tiny_dirs: dict, tmp_path: Path
) -> None:
    import shutil

    p = neural
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dirs["wan", "t2v"], broken)
    for weights in (broken / "transformer").glob("*.safetensors"):
        weights.write_bytes(weights.read_bytes()[:100])  # a download that was cut short
    add(p, "broken", broken)
    add(p, "good", tiny_dirs["wan", "t2v"])
    add(p, "on-gpu", tiny_dirs["wan", "t2v"], device="cuda")
    acct = accounts.ensure_account(p, "acme")
    worker = Worker(p, concurrency=1).start()
    try:
        failed = wait_final(p, acct, submit(p, acct, "broken"))
        assert failed["status"] == "failed" and failed["error"]["code"] == "model_load_failed"
        assert "broken" in failed["error"]["message"]
        no_gpu = wait_final(p, acct, submit(p, acct, "on-gpu"))
        assert no_gpu["error"]["code"] == "device_unavailable"
        ok = wait_final(p, acct, submit(p, acct, "good"))
        assert ok["status"] == "succeeded"
        assert event_types(p, acct, ok["id"])[-1] == "succeeded"
    finally:
        worker.stop(hand_back=True)


def test_a_worker_device_overrides_the_model_device(settings: Settings, tiny_dirs: dict) -> None:
    settings.worker_queues[:] = ["wan"]
    p = bootstrap(settings.model_copy(update={"neural_device": "cpu"}))
    try:
        add(p, "gpu-model", tiny_dirs["wan", "t2v"], device="cuda")  # registered for a GPU
        acct = accounts.ensure_account(p, "acme")
        worker = Worker(p, concurrency=1).start()
        try:
            done = wait_final(p, acct, submit(p, acct, "gpu-model"))
            assert done["status"] == "succeeded" and done["device"] == "cpu"
        finally:
            worker.stop(hand_back=True)
    finally:
        p.close()


def test_a_worker_only_takes_jobs_of_the_families_it_serves(
    settings: Settings, tiny_dirs: dict
) -> None:
    settings.worker_queues[:] = ["ltx"]
    p = bootstrap(settings)
    try:
        add(p, "wan", tiny_dirs["wan", "t2v"])
        acct = accounts.ensure_account(p, "acme")
        job_id = submit(p, acct, "wan")
        worker = Worker(p, concurrency=1).start()
        try:
            import time

            time.sleep(1.0)
            assert queries.get_job(p, acct, job_id)["status"] == "queued"
            assert p.queue.size("wan") == 1
        finally:
            worker.stop(hand_back=True)
    finally:
        p.close()


def test_speed_options_apply_on_cpu(neural: Platform, tiny_dirs: dict) -> None:
    p = neural
    add(
        p,
        "tuned",
        tiny_dirs["wan", "t2v"],
        options={
            "vae_tiling": True,
            "vae_slicing": True,
            "step_cache": "taylorseer",
            "attention_backend": "native",
        },
    )
    acct = accounts.ensure_account(p, "acme")
    worker = Worker(p, concurrency=1).start()
    try:
        done = wait_final(p, acct, submit(p, acct, "tuned", steps=6))
        assert done["status"] == "succeeded", done["error"]
        assert done["parameters"]["step_cache"] == "taylorseer"
        (pipe,) = cache(p).pipelines()
        assert pipe.vae.use_tiling and pipe.vae.use_slicing
        assert not pipe.transformer.is_cache_enabled  # the cache is per call, not left on
    finally:
        worker.stop(hand_back=True)


def test_compiled_transformer(tmp_path: Path, tiny_dirs: dict) -> None:
    # SQLite only: the first call compiles (~30 s on 2 cores), the storage does not matter
    p = bootstrap(make_settings(tmp_path, worker_queues=["wan"]))
    add(p, "compiled", tiny_dirs["wan", "t2v"], options={"compile": True})
    acct = accounts.ensure_account(p, "acme")
    worker = Worker(p, concurrency=1).start()
    try:
        first = wait_final(p, acct, submit(p, acct, "compiled"), timeout=240)
        assert first["status"] == "succeeded", first["error"]
        second = wait_final(p, acct, submit(p, acct, "compiled"), timeout=60)
        assert second["status"] == "succeeded" and second["compute"]["warm"] is True
        (pipe,) = cache(p).pipelines()
        assert pipe.transformer._compiled_call_impl is not None  # torch.compile in place
    finally:
        worker.stop(hand_back=True)
        p.close()
