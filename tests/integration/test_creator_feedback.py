"""What a creator sees on the job: the camera move read from the prompt, a warning when the
source image is blown up more than 2x, the 4:5 and 4:3 shapes, and a label position that keeps
the AI-generated banner off the product. Real motion backend, real MP4s, through the API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.backends.motion import MotionBackend
from reelforge.domain.spec import AspectRatio, JobSpec, LabelPosition, Mode, Resolution, frame_size
from reelforge.provenance.label import BANNER_HEIGHT, VisibleLabel, render
from reelforge.services.accounts import accounts
from tests.conftest import make_settings
from tests.helpers import wait_for


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path)
    backend = MotionBackend()
    settings.worker_queues.append(backend.queue)
    p = bootstrap(settings, backends=[backend], moderate=False)
    key = accounts.create_api_key(p, "alice").key
    with TestClient(create_app(p, embedded_worker=True)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c
    p.close()


def _upload(client: TestClient, width: int, height: int) -> str:
    rng = np.random.default_rng(3)
    pixels = (rng.random((height, width, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    r = client.post("/v1/uploads", files={"file": ("p.png", buf.getvalue(), "image/png")})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _submit(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"duration": 0.5, "fps": 8, "resolution": "480p", "seed": 1, **fields}
    r = client.post("/v1/videos", json=body)
    assert r.status_code == 202, r.text
    return dict(r.json())


def _finished(client: TestClient, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/v1/videos/{job_id}").json()
        return job if job["status"] in ("succeeded", "failed") else None

    job: dict[str, Any] = wait_for(done, timeout=60)
    assert job["status"] == "succeeded", job["error"]
    return job


def test_the_camera_move_read_from_the_prompt_is_on_the_job(client: TestClient) -> None:
    upload = _upload(client, 900, 600)
    job = _submit(client, prompt="slowly zoom out from the cup", image_upload_id=upload)
    assert job["camera"] == "zoom_out" and job["camera_source"] == "prompt"
    asked = _submit(client, prompt="zoom out", camera="pan_left", image_upload_id=upload)
    assert asked["camera"] == "pan_left" and asked["camera_source"] == "request"
    plain = _submit(client, prompt="a cup of coffee", image_upload_id=upload)
    assert plain["camera"] == "zoom_in" and plain["camera_source"] == "default"
    assert client.get(f"/v1/videos/{job['id']}").json()["camera"] == "zoom_out"


def test_a_source_upscaled_more_than_2x_warns_on_the_job(client: TestClient) -> None:
    small = _submit(client, prompt="static shot", image_upload_id=_upload(client, 160, 120))
    assert len(small["warnings"]) == 1, small
    assert "upscaled 5.3x" in small["warnings"][0] and "160x120" in small["warnings"][0]
    # a still 854x480 frame from a 900x600 photo: no upscaling at all
    fine = _submit(client, prompt="static shot", image_upload_id=_upload(client, 900, 600))
    assert fine["warnings"] == []
    # 854x480 from 600x338 is 1.42x; a 10 s zoom in narrows the view 1.5x more: 2.1x
    zoomed = _submit(
        client, prompt="zoom in", duration=10.0, image_upload_id=_upload(client, 600, 338)
    )
    assert "upscaled" in zoomed["warnings"][0] and "zoom" in zoomed["warnings"][0]
    quote = client.post(
        "/v1/quotes",
        json={
            "prompt": "static shot",
            "resolution": "480p",
            "image_upload_id": _upload(client, 160, 120),
        },
    )
    assert quote.status_code == 200 and quote.json()["warnings"], quote.text
    job = _finished(client, small["id"])
    assert job["warnings"] == small["warnings"] and "warnings" not in job["parameters"]


@pytest.mark.parametrize(("aspect", "size"), [("4:5", (480, 600)), ("4:3", (640, 480))])
def test_4_5_and_4_3_clips(client: TestClient, aspect: str, size: tuple[int, int]) -> None:
    job = _submit(
        client, prompt="pan right", aspect_ratio=aspect, image_upload_id=_upload(client, 800, 800)
    )
    done = _finished(client, job["id"])
    assert done["aspect_ratio"] == aspect
    assert (done["output"]["width"], done["output"]["height"]) == size


def test_aspect_sizes_at_every_resolution() -> None:
    assert frame_size(AspectRatio("4:5"), Resolution.P1080) == (1080, 1350)
    assert frame_size(AspectRatio("4:5"), Resolution.P720) == (720, 900)
    assert frame_size(AspectRatio("4:3"), Resolution.P1080) == (1440, 1080)
    assert frame_size(AspectRatio("4:3"), Resolution.P720) == (960, 720)
    spec = JobSpec(mode=Mode.IMAGE2VIDEO, images=("a" * 64,), aspect_ratio="4:5")
    assert spec.size == (720, 900) and spec.label_position is LabelPosition.TOP


def _banner_rows(label: VisibleLabel, plain: np.ndarray) -> tuple[int, int]:
    """First and last row of the banner: where the opening frame differs from a later one
    (both carry the corner badge)."""
    opening = label(0, plain.copy()).astype(int)
    later = label(label.banner_frames, plain.copy()).astype(int)
    rows = np.flatnonzero(np.abs(opening - later).mean(axis=(1, 2)) > 1)
    return int(rows[0]), int(rows[-1])


def test_label_position_moves_only_the_banner() -> None:
    width, height = 640, 800
    plain = np.full((height, width, 3), 200, np.uint8)
    top, bottom = (
        VisibleLabel("AI-generated", width, height, 24),
        VisibleLabel("AI-generated", width, height, 24, position="bottom"),
    )
    # the default is where the banner has always been: centred in the upper part
    assert top.banner is render("AI-generated", width, height, BANNER_HEIGHT, "centre")
    t0, t1 = _banner_rows(top, plain)
    b0, b1 = _banner_rows(bottom, plain)
    assert t1 < height / 3 and b0 > 2 * height / 3, (t0, t1, b0, b1)
    assert b1 < bottom.badge.y  # above the corner badge, never over it
    assert top.badge is bottom.badge


def _first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="rgb24"))


def test_label_position_bottom_through_the_api(client: TestClient, tmp_path: Path) -> None:
    r = client.post(
        "/v1/videos",
        json={
            "prompt": "static shot",
            "label_position": "middle",
            "image_upload_id": _upload(client, 900, 600),
        },
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "label_position"
    upload = _upload(client, 900, 600)
    frames = {}
    for position in ("top", "bottom"):
        job = _submit(client, prompt="static shot", label_position=position, image_upload_id=upload)
        assert job["label_position"] == position
        _finished(client, job["id"])
        out = tmp_path / f"{position}.mp4"
        out.write_bytes(client.get(f"/v1/videos/{job['id']}/content").content)
        frames[position] = _first_frame(out).astype(int)
    diff = np.abs(frames["top"] - frames["bottom"]).mean(axis=(1, 2))
    rows = np.flatnonzero(diff > 8)
    height = frames["top"].shape[0]
    assert rows.size and rows.min() < height / 3 and rows.max() > 2 * height / 3


def test_cli_generate_4_5_bottom_label_and_the_upscale_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import os

    from typer.testing import CliRunner

    from reelforge.cli import app

    for key in list(os.environ):
        if key.startswith("RF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    small = tmp_path / "small.png"
    Image.fromarray((np.random.default_rng(1).random((120, 160, 3)) * 255).astype(np.uint8)).save(
        small
    )
    out = tmp_path / "clip.mp4"
    r = CliRunner().invoke(
        app,
        [
            "generate",
            "--image",
            str(small),
            "--prompt",
            "slow zoom out",
            "--aspect",
            "4:5",
            "--label-position",
            "bottom",
            "--resolution",
            "480p",
            "--duration",
            "0.5",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "warning:" in r.output and "upscaled" in r.output
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert (result["width"], result["height"]) == (480, 600)
    assert result["camera"] == "zoom_out" and result["warnings"]


def test_a_request_from_before_label_position_still_replays_its_job() -> None:
    import hashlib
    import json

    from reelforge.services.jobs.submit import SubmitRequest, _request_hash

    req = SubmitRequest(prompt="pan left", image_upload_id="upl_1", external_id="order-17")
    # the hash a job stored before the field existed: the same dump without it
    old = {
        k: v
        for k, v in req.model_dump(mode="json", exclude={"external_id"}).items()
        # fields added since (a job stored before them hashed its request without them)
        if k
        not in ("label_position", "image_url", "last_image_url", "image_upload_ids", "composition")
    }
    assert (
        _request_hash(req) == hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()
    )
    moved = req.model_copy(update={"label_position": LabelPosition.BOTTOM})
    assert _request_hash(moved) != _request_hash(req)
