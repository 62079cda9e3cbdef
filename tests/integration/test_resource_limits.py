"""Issue 13, fixes 2, 4, 5 and 6: a small request must not cost the server a large amount of
memory, disk or time. Each request runs in a fresh subprocess (tests/integration/
limits_probe.py) that reports its RSS growth, the bytes it wrote and how much of the body
the app read; the bomb files are made here and are a few KB to a few hundred KB."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
MB = 2**20


def probe(tmp_path: Path, **spec: Any) -> dict[str, Any]:
    spec.setdefault("data_dir", str(tmp_path / "data"))
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.limits_probe", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def black_h264(path: Path, width: int, height: int, frames: int) -> Path:
    """Black frames at crf 51: a few KB per frame whatever the size."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "51"}
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane, value in zip(frame.planes, (16, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        for i in range(frames):
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


# --- fix 2: /v1/verify ---------------------------------------------------------------------


def test_verify_refuses_a_video_too_large_from_its_header_before_decoding(tmp_path: Path) -> None:
    bomb = black_h264(tmp_path / "bomb.mp4", 6000, 6000, 2)
    assert bomb.stat().st_size < 200_000
    out = probe(tmp_path, path="/v1/verify", field="file", file=str(bomb))
    (r,) = out["results"]
    assert (r["status"], r["code"]) == (413, "video_too_large")
    assert out["rss_growth_mb"] < 60, out  # before: every frame decoded at 6000x6000 RGB
    assert out["seconds"] < 3, out


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "GIF", "WEBP", "JPEG"])
def test_verify_names_a_still_picture_too_large_as_such(tmp_path: Path, fmt: str) -> None:
    """A still picture is read as a one-frame video; its container declares no size (libav
    learns it by decoding, which max_pixels refuses), so an oversized one answered 422
    invalid_video "has no frame that decodes". Its size comes from the picture's header."""
    from reelforge.provenance.verify import VerifyOptions, verify_file

    still = tmp_path / f"big.{fmt.lower()}"
    Image.new("RGB", (3000, 2000), (40, 40, 40)).save(still, fmt)  # 6 MP
    with pytest.raises(Exception) as refused:
        verify_file(still, VerifyOptions(max_pixels=2_000_000))
    assert getattr(refused.value, "code", None) == "video_too_large", refused.value
    assert "3000x2000" in str(refused.value)
    assert verify_file(still, VerifyOptions())["verdict"] == "unknown"  # within the limit: read


def test_verify_decodes_frames_one_at_a_time_at_a_bounded_size(tmp_path: Path) -> None:
    # within the frame-size cap (3000x3000 = 9 MP), 12 frames: 27 MB each as full-size RGB
    video = black_h264(tmp_path / "big.mp4", 3000, 3000, 12)
    out = probe(tmp_path, path="/v1/verify", field="file", file=str(video))
    (r,) = out["results"]
    assert r["status"] == 200, out
    assert out["rss_growth_mb"] < 150, out  # before: 12 full-size frames kept (> 320 MB)


def test_verify_beyond_its_concurrency_is_busy_with_retry_after(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from reelforge.api.app import create_app
    from reelforge.api.limits import Slots
    from reelforge.app.bootstrap import bootstrap
    from reelforge.services.accounts import accounts
    from tests.conftest import make_settings

    p = bootstrap(make_settings(tmp_path, verify_concurrency=1))
    try:
        key = accounts.create_api_key(p, "acme").key
        app = create_app(p)
        app.state.verify_slots = slots = Slots(1, "verify_busy", "verifications")
        slots.busy = 1  # one verification is running
        with TestClient(app) as c:
            c.headers["Authorization"] = f"Bearer {key}"
            r = c.post("/v1/verify", files={"file": ("v.mp4", b"\x00" * 100, "video/mp4")})
            assert r.status_code == 429 and r.json()["error"]["code"] == "verify_busy"
            assert int(r.headers["Retry-After"]) >= 1
            slots.busy = 0
            r = c.post("/v1/verify", files={"file": ("v.mp4", b"\x00" * 100, "video/mp4")})
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_video"
            assert slots.busy == 0
    finally:
        p.close()


# --- fix 4: JSON bodies --------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_json_body_over_the_limit_is_413_before_it_is_read(tmp_path: Path, chunked: bool) -> None:
    out = probe(tmp_path, path="/v1/billing/checkout", size=48 * MB, chunked=chunked)
    (r,) = out["results"]
    assert (r["status"], r["code"]) == (413, "payload_too_large"), out
    assert r["pulled"] <= MB + 128 * 1024, out  # the 1 MiB default, one chunk past it at most
    assert out["rss_growth_mb"] < 20, out  # before: the body, its JSON and a 422 (~150 MB)


# --- fix 5: uploads counted as they stream --------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/uploads", "/v1/verify"])
def test_a_chunked_upload_stops_at_the_limit_having_written_nothing_past_it(
    tmp_path: Path, path: str
) -> None:
    settings = {"max_upload_bytes": MB, "max_verify_bytes": MB}
    out = probe(tmp_path, path=path, field="file", fill=64 * MB, chunked=True, settings=settings)
    (r,) = out["results"]
    assert (r["status"], r["code"]) == (413, "payload_too_large"), out
    assert r["pulled"] < 1.2 * MB, out  # before: all 64 MB read ...
    assert out["written_mb"] < 1.5, out  # ... and spooled to a temporary file


def test_verify_writes_an_upload_once(tmp_path: Path) -> None:
    out = probe(
        tmp_path,
        path="/v1/verify",
        field="file",
        fill=8 * MB,
        settings={"max_verify_bytes": 16 * MB},
    )
    (r,) = out["results"]
    assert (r["status"], r["code"]) == (422, "invalid_video"), out
    assert 8 <= out["written_mb"] < 10, out  # before: 16 MB (a spooled copy, then the file)


# --- fix 6: decode amplification ------------------------------------------------------------


def _lossless_webp(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()


def test_parallel_large_decodes_share_one_budget(tmp_path: Path) -> None:
    webp = tmp_path / "flat.webp"
    webp.write_bytes(_lossless_webp(3000))
    assert webp.stat().st_size < 5_000  # 9 MP: ~110 MB while it decodes
    out = probe(
        tmp_path,
        path="/v1/uploads",
        field="file",
        file=str(webp),
        parallel=4,
        settings={"decode_budget_bytes": 160 * MB},
    )
    assert [r["status"] for r in out["results"]] == [201] * 4, out
    assert out["rss_growth_mb"] < 220, out  # before: four at once (> 400 MB)


def test_a_decode_larger_than_the_budget_is_refused_without_decoding(tmp_path: Path) -> None:
    webp = tmp_path / "flat.webp"
    webp.write_bytes(_lossless_webp(6000))
    out = probe(
        tmp_path,
        path="/v1/uploads",
        field="file",
        file=str(webp),
        settings={"decode_budget_bytes": 160 * MB},
    )
    (r,) = out["results"]
    assert (r["status"], r["code"]) == (422, "image_too_large"), out
    assert out["rss_growth_mb"] < 40, out  # before: decoded (~400 MB)


def test_a_large_jpeg_is_validated_in_draft_mode(tmp_path: Path) -> None:
    jpeg = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 6000), (10, 10, 10)).save(jpeg, "JPEG", quality=50)
    out = probe(tmp_path, path="/v1/uploads", field="file", file=str(jpeg))
    (r,) = out["results"]
    assert r["status"] == 201, out
    assert out["rss_growth_mb"] < 40, out  # before: 108 MB of RGB


def test_decode_budget_waits_then_answers_busy() -> None:
    from reelforge.errors import InvalidImage, RateLimited
    from reelforge.media.images import DecodeBudget

    budget = DecodeBudget(100)
    with pytest.raises(InvalidImage) as too_big, budget.reserve(101):
        pass
    assert too_big.value.code == "image_too_large"
    with budget.reserve(60):
        with pytest.raises(RateLimited) as busy, budget.reserve(60, wait=0.05):
            pass
        assert busy.value.code == "decode_busy"
        with budget.reserve(40):
            assert budget.used == 100
    assert budget.used == 0
