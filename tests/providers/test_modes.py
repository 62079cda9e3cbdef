"""Happy paths, one per provider and mode: the real backend against the provider's fake over
loopback HTTP, through the real worker, to a labelled, playable MP4."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reelforge.media.probe import probe_video
from reelforge.services.jobs import queries
from tests.providers.conftest import Hosted


def _video(h: Hosted, job_id: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{job_id}.mp4"
    h.p.blobs.download(queries.job_content(h.p, h.account, job_id).key, out)
    return out


def test_kling_text_to_video(hosted: Callable[..., Hosted], tmp_path: Path) -> None:
    h = hosted("kling", "kling-v2-1")
    h.fake.polls_to_finish = 3
    job = h.submit(duration=5, negative_prompt="blur", aspect_ratio="9:16")
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    [create] = h.fake.creates()
    assert create.path == "/v1/videos/text2video"
    sent = create.body
    assert sent["model_name"] == "kling-v2-1" and sent["external_task_id"] == job["id"]
    assert sent["negative_prompt"] == "blur" and sent["aspect_ratio"] == "9:16"
    assert sent["duration"] == "5" and sent["mode"] == "std" and "callback_url" not in sent
    info = probe_video(_video(h, job["id"], tmp_path))
    assert info.frames == 12 and (info.width, info.height) == (320, 180)
    assert info.metadata  # the AIGC block and labels were added by the normal path
    compute = done["compute"]
    assert compute["provider"] == "kling" and compute["provider_task_id"].startswith("text2video:")
    assert compute["provider_cost_usd"] == pytest.approx(0.0378 * 5)
    assert done["parameters"]["request"]["mode"] == "std"


def test_kling_image_and_first_last_frame(hosted: Callable[..., Hosted]) -> None:
    h = hosted("kling", "kling-v2-1")
    first = h.submit(image_upload_id=h.image(1), prompt="", duration=10)
    both = h.submit(
        image_upload_id=h.image(1),
        last_image_upload_id=h.image(2),
        resolution="1080p",
        duration=5,
    )
    assert h.run(first["id"])["status"] == "succeeded"
    assert h.run(both["id"])["status"] == "succeeded"
    one, two = h.fake.creates()
    assert one.path == "/v1/videos/image2video" and two.path == "/v1/videos/image2video"
    assert one.body["image"] and "image_tail" not in one.body and one.body["duration"] == "10"
    assert two.body["image_tail"] and two.body["mode"] == "pro"


@pytest.mark.parametrize(
    ("remote", "mode"), [("gen4_turbo", "image2video"), ("gen4.5", "text2video")]
)
def test_runway_modes(hosted: Callable[..., Hosted], remote: str, mode: str) -> None:
    h = hosted("runway", remote)
    h.fake.polls_to_finish = 3
    image = {"image_upload_id": h.image()} if mode == "image2video" else {}
    job = h.submit(duration=5, aspect_ratio="1:1", seed=42, **image)
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    [create] = h.fake.creates()
    assert create.path == f"/v1/{mode.replace('2', '_to_')}"
    assert create.headers["x-runway-version"] == "2024-11-06"
    assert create.body["ratio"] == "960:960" and create.body["seed"] == 42
    assert create.body["model"] == remote and create.body["duration"] == 5


def test_runway_first_and_last_frame(hosted: Callable[..., Hosted]) -> None:
    h = hosted("runway", "gen3a_turbo")
    job = h.submit(image_upload_id=h.image(1), last_image_upload_id=h.image(2), duration=10)
    assert h.run(job["id"])["status"] == "succeeded"
    [create] = h.fake.creates()
    positions = [i["position"] for i in create.body["promptImage"]]
    assert positions == ["first", "last"] and create.body["ratio"] == "1280:768"


@pytest.mark.parametrize("mode", ["text2video", "image2video", "first_last_frame"])
def test_luma_modes(hosted: Callable[..., Hosted], mode: str) -> None:
    h = hosted("luma", "ray-2")
    h.fake.polls_to_finish = 2
    images: dict[str, object] = {}
    if mode != "text2video":
        images["image_upload_id"] = h.image(1)
    if mode == "first_last_frame":
        images["last_image_upload_id"] = h.image(2)
    job = h.submit(duration=9, resolution="480p", aspect_ratio="4:3", **images)
    done = h.run(job["id"])
    assert done["status"] == "succeeded", done["error"]
    [create] = h.fake.creates()
    body = create.body
    assert body["duration"] == "9s" and body["resolution"] == "540p" and body["model"] == "ray-2"
    assert body["aspect_ratio"] == "4:3"
    frames = sorted(body.get("keyframes", {}))
    assert frames == {"text2video": [], "image2video": ["frame0"]}.get(mode, ["frame0", "frame1"])
