"""Workers are visible: a start-up line (models, device, queues), one line per job start and
end, a registry row the API node reads for /healthz, and a quiet back-off while Redis is away
(a redis-server of the test's own, on its own port, killed and started again)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Deployment, free_port
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e


class RedisServer:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            done = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            )
            return done.stdout.strip() == b"PONG"

        wait_for(up, timeout=20, interval=0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.kill()


def test_a_worker_that_loses_redis_backs_off_quietly_and_comes_back(
    deployment: Deployment, redis_server: RedisServer
) -> None:
    deployment.env.update({"RF_QUEUE_URL": redis_server.url, "RF_QUEUE_RETRY_MAX": "1"})
    proc = deployment.start("--log-level", "info", "worker", log="w")
    wait_for(lambda: "worker ready" in deployment.log("w"), timeout=60, interval=0.1)
    started = deployment.log("w")
    assert "worker started" in started and "queues=motion" in started
    assert "models=motion" in started and "device=cpu" in started

    redis_server.kill()
    time.sleep(4.0)  # an outage: what the worker logs while it lasts is what is measured
    outage = deployment.log("w")[len(started) :]
    lines = [line for line in outage.splitlines() if line.strip()]
    assert "Traceback" not in outage, outage
    assert len(lines) <= 2, outage
    assert any("queue unreachable" in line for line in lines), outage

    redis_server.start()  # the same port again
    wait_for(lambda: "queue reachable again" in deployment.log("w"), timeout=20, interval=0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0, deployment.log("w")
    assert "Traceback" not in deployment.log("w")


def test_the_api_node_lists_live_workers_and_each_job_is_logged(deployment: Deployment) -> None:
    from reelforge.cli import sample_image

    key = json.loads(deployment.run("keys", "create", "--account", "acme", "--json"))
    deployment.serve()
    worker = deployment.start("--log-level", "info", "worker", log="w")
    wait_for(lambda: "worker ready" in deployment.log("w"), timeout=60, interval=0.1)

    def listed() -> list[dict]:
        body = httpx.get(f"{deployment.base_url}/healthz", timeout=5).json()
        return [w for w in body["workers"] if w["id"].endswith(f":{worker.pid}")]

    [row] = wait_for(listed, timeout=20, interval=0.2)
    assert row["queues"] == ["motion"] and row["heartbeat_at"]
    assert row["seconds_since_heartbeat"] < 3

    client = httpx.Client(
        base_url=deployment.base_url, headers={"Authorization": f"Bearer {key['key']}"}, timeout=30
    )
    upload = client.post(
        "/v1/uploads", files={"file": ("cup.jpg", sample_image().read_bytes(), "image/jpeg")}
    ).json()
    job_id = client.post(
        "/v1/videos",
        json={
            "prompt": "zoom",
            "image_upload_id": upload["id"],
            "camera": "zoom_in",
            "duration": 1,
            "resolution": "480p",
        },
    ).json()["id"]
    wait_for(
        lambda: client.get(f"/v1/videos/{job_id}").json()["status"] == "succeeded",
        timeout=60,
        interval=0.2,
    )
    wait_for(lambda: f"job.end job={job_id}" in deployment.log("w"), timeout=10)
    log = deployment.log("w")
    assert f"job.start job={job_id}" in log and "status=succeeded" in log

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    assert listed() == []  # a stopped worker is no longer listed as live
