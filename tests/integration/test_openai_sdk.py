"""The official `openai` SDK against `reelforge serve` on loopback (issue 16 item 8): with
`base_url` at /openai/v1 and a reelforge API key it creates a video from a prompt and an
input_reference, retrieves it, lists it, downloads its content and deletes it — the same job
/v1/videos shows — and every refusal comes back as the SDK's typed exception with reelforge's
code. One API process and one worker process serve the whole module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from reelforge.cli import sample_image
from reelforge.media.probe import probe_video
from tests.e2e.conftest import free_port

# the SDK marks the videos API deprecated (OpenAI's Sora service shuts down): the shapes stay
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning"),
]
REELFORGE = [sys.executable, "-m", "reelforge.cli"]


class Server:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RF_")}
        self.env.update(
            {
                "RF_DATA_DIR": str(tmp / "data"),
                "RF_DEFAULT_PLAN": "internal",
                "RF_HEARTBEAT_INTERVAL": "0.5",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.procs: list[subprocess.Popen[bytes]] = []
        self.url = ""

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*REELFORGE, *args], env=self.env, capture_output=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def start(self, *args: str, log: str) -> None:
        out = open(self.tmp / f"{log}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs.append(
            subprocess.Popen([*REELFORGE, *args], env=self.env, stdout=out, stderr=out)
        )

    def up(self) -> None:
        port = free_port()
        self.start("serve", "--no-worker", "--port", str(port), log="serve")
        self.start("worker", log="worker")
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError((self.tmp / "serve.log").read_text(errors="replace"))

    def down(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    s = Server(tmp_path_factory.mktemp("openai-sdk"))
    key = json.loads(s.run("keys", "create", "--account", "acme", "--json"))["key"]
    s.up()
    yield s, key
    s.down()


@pytest.fixture
def client(server: tuple[Server, str]) -> openai.OpenAI:
    s, key = server
    return openai.OpenAI(base_url=f"{s.url}/openai/v1", api_key=key, max_retries=0)


def _wait(client: openai.OpenAI, video_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        video = client.videos.retrieve(video_id)
        if video.status in ("completed", "failed") or time.monotonic() > deadline:
            return video
        time.sleep(0.3)


def test_the_sdk_creates_retrieves_lists_downloads_and_deletes(
    client: openai.OpenAI, server: tuple[Server, str], tmp_path: Path
) -> None:
    s, key = server
    image = sample_image().read_bytes()
    created = client.videos.create(
        prompt="slow zoom in on the cup",
        model="motion",
        seconds="1",
        size="854x480",
        input_reference=("cup.jpg", image, "image/jpeg"),
    )
    assert created.object == "video" and created.status == "queued"
    assert created.model == "motion" and created.size == "854x480" and created.seconds == "1"
    assert created.id.startswith("vid_") and created.created_at > 0

    done = _wait(client, created.id)
    assert done.status == "completed", done.error
    assert done.progress == 100 and done.completed_at is not None
    assert done.completed_at >= done.created_at and done.error is None

    # the same job through the native API
    native = httpx.get(
        f"{s.url}/v1/videos/{created.id}", headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert native["status"] == "succeeded" and native["mode"] == "image2video"
    assert native["duration"] == 1 and (native["output"]["width"], native["output"]["height"]) == (
        854,
        480,
    )

    content = client.videos.download_content(created.id, variant="video")
    out = tmp_path / "out.mp4"
    content.write_to_file(out)
    info = probe_video(out)
    assert (info.width, info.height, info.frames) == (854, 480, 24) and info.codec == "h264"
    thumb = client.videos.download_content(created.id, variant="thumbnail")
    assert thumb.content[:3] == b"\xff\xd8\xff"  # the poster, a JPEG

    listed = client.videos.list(limit=10)
    assert created.id in [v.id for v in listed.data]

    deleted = client.videos.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "video.deleted", True)
    with pytest.raises(openai.NotFoundError) as gone:
        client.videos.download_content(created.id)
    assert gone.value.code == "content_deleted"


def test_list_pages_with_after(client: openai.OpenAI, server: tuple[Server, str]) -> None:
    s, key = server
    ids = []
    for i in range(2):
        v = client.videos.create(
            prompt=f"zoom {i}",
            model="motion",
            seconds="1",
            size="854x480",
            input_reference=("cup.jpg", sample_image().read_bytes(), "image/jpeg"),
        )
        ids.append(v.id)
    # JSON, as OpenAI's REST API also takes it: input_reference as {image_url}
    r = httpx.post(
        f"{s.url}/openai/v1/videos",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "prompt": "zoom 2",
            "model": "motion",
            "seconds": "1",
            "size": "480x854",
            "input_reference": {"image_url": _data_uri()},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["size"] == "480x854" and r.json()["status"] == "queued"
    ids.append(r.json()["id"])
    first = client.videos.list(limit=2)
    assert first.has_more and len(first.data) == 2 and first.last_id == first.data[-1].id
    # the SDK follows `after` = last_id by itself
    seen = [v.id for v in client.videos.list(limit=2)]
    assert seen[:3] == ids[::-1] and len(seen) == len(set(seen))
    with pytest.raises(openai.BadRequestError) as err:
        client.videos.list(order="asc")
    assert err.value.code == "unsupported_order" and err.value.param == "order"


def _data_uri() -> str:
    import base64

    return "data:image/jpeg;base64," + base64.b64encode(sample_image().read_bytes()).decode()


def test_errors_are_the_sdks_typed_exceptions(
    client: openai.OpenAI, server: tuple[Server, str]
) -> None:
    s, _ = server
    with pytest.raises(openai.BadRequestError) as bad_size:
        client.videos.create(prompt="a cup", model="motion", size="wide")
    assert bad_size.value.code == "invalid_size" and bad_size.value.param == "size"
    assert bad_size.value.type == "invalid_request_error"
    body = bad_size.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}

    with pytest.raises(openai.BadRequestError) as bad_seconds:
        client.videos.create(prompt="a cup", model="motion", seconds="forever")
    assert bad_seconds.value.code == "invalid_seconds"

    with pytest.raises(openai.BadRequestError) as no_model:  # reelforge serves no sora-2
        client.videos.create(prompt="a cup", model="sora-2", seconds="4", size="1280x720")
    assert no_model.value.param == "model" and "available: motion" in no_model.value.message

    with pytest.raises(openai.BadRequestError) as no_image:  # motion animates an image
        client.videos.create(prompt="a cup", model="motion", seconds="4")
    assert no_image.value.param == "mode"

    with pytest.raises(openai.NotFoundError) as missing:
        client.videos.retrieve("vid_does_not_exist")
    assert missing.value.code == "not_found" and missing.value.type == "not_found_error"

    stranger = openai.OpenAI(base_url=f"{s.url}/openai/v1", api_key="rf_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as unauthorized:
        stranger.videos.list()
    assert unauthorized.value.status_code == 401 and unauthorized.value.code

    with pytest.raises(openai.BadRequestError) as sprites:
        client.videos.download_content("vid_x", variant="spritesheet")
    assert sprites.value.code == "unsupported_variant"
