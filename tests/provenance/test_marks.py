"""Every output carries all four marks, and `reelforge verify` reads them: through the real
worker path, for the motion backend, a neural model and a test backend; tampering,
re-encoding, stripping and forging are each told apart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reelforge.api.app import create_app
from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.cli import app as cli_app
from reelforge.cli import sample_image
from reelforge.config import Settings
from reelforge.provenance.verify import VerifyOptions, verify_file
from reelforge.services.accounts import accounts
from reelforge.services.jobs import model_registry, queries
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.jobs.uploads import create_upload
from reelforge.services.provenance.marking import verify_options
from reelforge.worker.loop import Worker
from tests.conftest import make_settings
from tests.fakes import GradientBackend
from tests.helpers import wait_final

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def render(p: Platform, tmp: Path, **body: Any) -> Path:
    acct = accounts.ensure_account(p, "acme")
    if body.pop("image", False):
        body["image_upload_id"] = create_upload(p, acct, sample_image().read_bytes(), "cup.jpg").id
    job = submit_job(p, acct, SubmitRequest.parse(body)).job
    worker = Worker(p, concurrency=1).start()
    try:
        done = wait_final(p, acct, job["id"], timeout=120)
    finally:
        worker.stop(hand_back=True)
    assert done["status"] == "succeeded", done["error"]
    out = tmp / f"{job['id']}.mp4"
    p.blobs.download(queries.job_content(p, acct, job["id"]).key, out)
    return out


@pytest.fixture
def platform_for(tmp_path: Path) -> Iterator[Any]:
    made: list[Platform] = []

    def make(**overrides: Any) -> Platform:
        settings = make_settings(tmp_path, worker_queues=["motion", "gradient", "wan"], **overrides)
        from reelforge.backends.motion import MotionBackend

        p = bootstrap(settings, backends=[MotionBackend(), GradientBackend()])
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def all_four(result: dict[str, Any], job_file: Path) -> None:
    assert result["verdict"] == "ai-generated"
    assert result["visible_label"]["found"] and result["visible_label"]["text"] == "AI-generated"
    aigc = result["aigc"]
    assert aigc["Label"] == "1" and aigc["ProduceID"] == job_file.stem
    assert aigc["complete"] and aigc["signature_valid"]
    assert result["watermark"]["found"] and result["watermark"]["bit_accuracy"] >= 0.95
    assert result["watermark"]["matches_produce_id"]
    c2pa = result["c2pa"]
    assert c2pa["present"] and c2pa["valid"] and c2pa["trusted"]
    assert c2pa["digital_source_type"] == TRAINED and c2pa["produce_id"] == job_file.stem


@pytest.mark.parametrize("backend", ["motion", "gradient"])
def test_every_output_carries_all_four_marks(
    platform_for: Any, tmp_path: Path, backend: str
) -> None:
    p = platform_for()
    body: dict[str, Any] = {
        "model": backend,
        "prompt": "a slow zoom",
        "duration": 2,
        "resolution": "480p",
    }
    if backend == "motion":
        body["image"] = True
    out = render(p, tmp_path, **body)
    all_four(verify_file(out, verify_options(p)), out)


@pytest.mark.neural
def test_a_neural_output_carries_all_four_marks(platform_for: Any, tmp_path: Path) -> None:
    from tests.neural.tiny import build_tiny_pipeline

    p = platform_for()
    model_registry.add_model(
        p,
        model_registry.parse_model_request(
            {
                "name": "wan",
                "family": "wan",
                "path": str(build_tiny_pipeline("wan", "t2v", tmp_path / "wan")),
                "dtype": "fp32",
                "device": "cpu",
            }
        ),
    )
    out = render(
        p, tmp_path, model="wan", prompt="a red car", width=256, height=256, frames=9, steps=2
    )
    result = verify_file(out, verify_options(p))
    all_four(result, out)
    assert result["c2pa"]["model"] == "wan"


def test_the_cn_profile_labels_in_chinese(platform_for: Any, tmp_path: Path) -> None:
    p = platform_for(policy_profile="cn")
    out = render(p, tmp_path, model="gradient", prompt="a gradient", duration=1, resolution="480p")
    result = verify_file(out, verify_options(p))
    assert result["visible_label"]["text"] == "AI生成" and result["verdict"] == "ai-generated"


def reencode(
    src: Path, dst: Path, *, crf: int, scale: float = 1.0, keep_metadata: bool = False
) -> None:
    import cv2

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        enc = out.add_stream("libx264", rate=stream.average_rate)
        enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
        enc.options = {"crf": str(crf)}
        if keep_metadata:
            out.metadata.update(inp.metadata)
        for frame in inp.decode(stream):
            rgb = frame.to_ndarray(format="rgb24")
            if scale != 1.0:
                small = cv2.resize(
                    rgb,
                    (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2),
                    interpolation=cv2.INTER_AREA,
                )
                rgb = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
            for packet in enc.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in enc.encode():
            out.mux(packet)


@pytest.mark.slow
def test_tampering_reencoding_stripping_and_forging(platform_for: Any, tmp_path: Path) -> None:
    p = platform_for()
    out = render(p, tmp_path, model="gradient", prompt="a gradient", duration=2, resolution="480p")
    options = verify_options(p)

    flipped = tmp_path / "flipped.mp4"
    data = bytearray(out.read_bytes())
    at = data.find(b"mdat") + 64
    data[at] ^= 0xFF
    flipped.write_bytes(bytes(data))
    r = verify_file(flipped, options)
    assert r["c2pa"]["present"] and not r["c2pa"]["valid"] and r["c2pa"]["errors"]

    stripped = tmp_path / "stripped.mp4"  # what an upload elsewhere usually does
    reencode(out, stripped, crf=23)
    r = verify_file(stripped, options)
    assert r["aigc"] is None and not r["c2pa"]["present"]
    assert r["watermark"]["found"] and r["watermark"]["bit_accuracy"] >= 0.95
    assert r["verdict"] == "suspected"

    # A 50 % downscale keeps the mark on natural pictures (bench/watermark_speed.py: bit
    # accuracy 1.0 on photos); a flat synthetic gradient keeps too little texture for it.
    photo = render(
        p, tmp_path, model="motion", image=True, prompt="slow zoom", duration=2, resolution="480p"
    )
    resized = tmp_path / "resized.mp4"
    reencode(photo, resized, crf=23, scale=0.5)
    assert verify_file(resized, options)["watermark"]["found"]

    forged = tmp_path / "forged.mp4"  # someone else's file claiming to be ours
    blank = tmp_path / "blank.mp4"
    from reelforge.media.encode import encode_mp4

    encode_mp4((np.full((240, 320, 3), 90, np.uint8) for _ in range(8)), blank, fps=8)
    reencode(blank, forged, crf=23)
    with (
        av.open(str(forged)) as src,
        av.open(
            str(tmp_path / "forged2.mp4"), "w", options={"movflags": "use_metadata_tags"}
        ) as dst,
    ):
        dst.metadata["AIGC"] = json.dumps(
            {
                "Label": "1",
                "ContentProducer": "reelforge",
                "ProduceID": "vid_fake",
                "ReservedCode1": "00" * 16,
            }
        )
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    r = verify_file(tmp_path / "forged2.mp4", options)
    assert r["aigc"]["signature_valid"] is False and not r["aigc"]["complete"]
    assert r["verdict"] == "suspected" and not r["watermark"]["found"]

    r = verify_file(blank, options)
    assert r["verdict"] == "unknown"


def test_bad_files_get_a_clear_answer(tmp_path: Path, platform_for: Any) -> None:
    from reelforge.errors import InvalidRequest, PayloadTooLarge

    p = platform_for()
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(InvalidRequest) as err:
        verify_file(text, verify_options(p))
    assert err.value.code == "invalid_video"
    out = render(p, tmp_path, model="gradient", prompt="a gradient", duration=1, resolution="480p")
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    try:
        r = verify_file(truncated, verify_options(p))
        assert r["verdict"] in ("suspected", "unknown", "ai-generated")
    except InvalidRequest as exc:
        assert exc.code == "invalid_video"
    with pytest.raises(PayloadTooLarge):
        verify_file(out, VerifyOptions(max_bytes=1000))


@pytest.mark.slow
def test_verify_cli_and_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RF_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    r = runner.invoke(cli_app, ["provenance", "init", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["created"]
    demo = tmp_path / "demo.mp4"
    assert runner.invoke(cli_app, ["demo", "--out", str(demo)]).exit_code == 0
    r = runner.invoke(cli_app, ["verify", str(demo), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["verdict"] == "ai-generated"
    assert "verdict: ai-generated" in runner.invoke(cli_app, ["verify", str(demo)]).stdout
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 100)
    r = runner.invoke(cli_app, ["verify", str(junk)])
    assert r.exit_code == 2 and "invalid_video" in r.output

    p = bootstrap(Settings())
    try:
        key = accounts.create_api_key(p, "acme").key
        with TestClient(create_app(p)) as c:
            c.headers["Authorization"] = f"Bearer {key}"
            r = c.post("/v1/verify", files={"file": ("d.mp4", demo.read_bytes(), "video/mp4")})
            assert r.status_code == 200 and r.json()["verdict"] == "ai-generated"
            r = c.post("/v1/verify", files={"file": ("j.bin", junk.read_bytes(), "video/mp4")})
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_video"
    finally:
        p.close()


def test_unlabelled_export_needs_the_policy_and_the_accounts_agreement(
    platform_for: Any, tmp_path: Path
) -> None:
    from reelforge.errors import Forbidden
    from reelforge.services.governance import audit
    from reelforge.services.provenance.marking import record_unlabelled_duties

    body = {
        "model": "gradient",
        "prompt": "a gradient",
        "duration": 1,
        "resolution": "480p",
        "visible_label": False,
    }
    strict = platform_for()
    acct = accounts.ensure_account(strict, "acme")
    with pytest.raises(Forbidden) as err:
        submit_job(strict, acct, SubmitRequest.parse(body))
    assert err.value.code == "unlabelled_export_not_allowed"

    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "studio.yaml").write_text("extends: default\nunlabelled_export: true\n")
    p = platform_for(policy_profile="studio", policy_dir=policies)
    acct = accounts.ensure_account(p, "acme")
    with pytest.raises(Forbidden) as err:
        submit_job(p, acct, SubmitRequest.parse(body))
    assert err.value.code == "unlabelled_export_not_agreed"
    record_unlabelled_duties(p, "acme", agreed=True)
    out = render(p, tmp_path, **body)
    r = verify_file(out, verify_options(p))
    assert not r["visible_label"]["found"]  # no visible label, by agreement ...
    assert r["watermark"]["found"] and r["aigc"]["signature_valid"] and r["c2pa"]["valid"]
    assert r["verdict"] == "ai-generated"  # ... but still machine-readably labelled
    assert "provenance.unlabelled_export" in [e["action"] for e in audit.entries(p)]


def test_a_frame_smaller_than_the_label_is_still_labelled_and_signed(
    platform_for: Any, tmp_path: Path
) -> None:
    p = platform_for()
    out = render(p, tmp_path, model="gradient", prompt="tiny", width=16, height=16, duration=1)
    result = verify_file(out, verify_options(p))
    assert result["aigc"] is not None and result["c2pa"]["valid"]
