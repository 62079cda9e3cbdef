"""A worker SIGKILLed while it waits on a hosted provider's task: the reaper hands the job to
another worker process, which resumes polling the same remote task from the checkpoint — the
job finishes once, with one provider task (one paid generation), never a second."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Deployment
from tests.helpers import wait_for
from tests.providers.conftest import KLING_ACCESS, KLING_SECRET
from tests.providers.fakes.base import make_mp4
from tests.providers.fakes.kling import FakeKling

pytestmark = pytest.mark.e2e


def test_sigkill_while_polling_finishes_with_one_provider_task(
    deployment: Deployment, tmp_path: Path
) -> None:
    fake = FakeKling(make_mp4(tmp_path / "result.mp4"), KLING_ACCESS, KLING_SECRET).start()
    fake.polls_to_finish = 10**6  # the remote task runs until the test lets it finish
    try:
        deployment.env.update(
            {
                "RF_WORKER_QUEUES": "providers",
                "RF_PROVIDER_KLING_BASE_URL": fake.base_url,
                "RF_PROVIDER_KLING_ACCESS_KEY": KLING_ACCESS,
                "RF_PROVIDER_KLING_SECRET_KEY": KLING_SECRET,
                "RF_PROVIDER_POLL_INTERVAL": "0.2",
            }
        )
        deployment.run(
            "models", "add", "kling", "--provider", "kling", "--remote-model", "kling-v2-1"
        )
        key = json.loads(deployment.run("keys", "create", "--account", "acme", "--json"))
        deployment.serve()
        first = deployment.start("--log-level", "info", "worker", log="worker1")
        client = httpx.Client(
            base_url=deployment.base_url,
            headers={"Authorization": f"Bearer {key['key']}"},
            timeout=30,
        )
        job_id = client.post(
            "/v1/videos", json={"prompt": "a lighthouse at dusk", "model": "kling", "duration": 5}
        ).json()["id"]
        wait_for(lambda: any(t.get("polls", 0) >= 2 for t in fake.tasks.values()), timeout=60)
        assert client.get(f"/v1/videos/{job_id}").json()["stage"] == "provider"
        first.send_signal(signal.SIGKILL)  # mid-wait: no chance to clean up or hand back
        first.wait(10)
        [task] = fake.tasks.values()
        polls_at_kill = task["polls"]

        second = deployment.start("--log-level", "info", "worker", log="worker2")
        wait_for(lambda: task["polls"] > polls_at_kill, timeout=60)  # resumed polling it
        fake.polls_to_finish = task["polls"] + 2
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = client.get(f"/v1/videos/{job_id}").json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.1)
        assert job["status"] == "succeeded", (job, deployment.log("worker2"))
        assert job["attempt"] == 2
        assert len(fake.creates()) == 1 and len(fake.tasks) == 1  # one paid task
        assert job["compute"]["provider_resumed"] is True
        assert job["compute"]["provider_task_id"] == f"text2video:{task['task_id']}"
        assert "provider.resume" in deployment.log("worker2")
        assert second.poll() is None
    finally:
        fake.stop()
