"""Helpers that start real `reelforge` processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REELFORGE = [sys.executable, "-m", "reelforge.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Deployment:
    env: dict[str, str]
    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    base_url: str = ""

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*REELFORGE, *args], env=self.env, capture_output=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = open(self.tmp / f"{log}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [*REELFORGE, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    def serve(self) -> None:
        port = free_port()
        self.start("serve", "--no-worker", "--port", str(port), log="serve")
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("API did not come up:\n" + self.log("serve"))

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RF_")}
    env.update(
        {
            "RF_DATA_DIR": str(tmp_path / "data"),
            "RF_HEARTBEAT_INTERVAL": "0.5",
            "RF_HEARTBEAT_TIMEOUT": "3",
            "RF_REAPER_INTERVAL": "0.5",
            "RF_WEBHOOK_ALLOW_HOSTS": '["127.0.0.1"]',
            "RF_WEBHOOK_BACKOFF": "0.5",
            "RF_DEFAULT_PLAN": "internal",  # the processes' accounts are never limited here
            "PYTHONUNBUFFERED": "1",
        }
    )
    d = Deployment(env=env, tmp=tmp_path)
    yield d
    d.stop_all()
