"""Every family and mode end to end: registered through the CLI, run through the queue and an
in-process worker by `reelforge generate`, checked by decoding the MP4."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelforge.app.bootstrap import bootstrap
from reelforge.cli import sample_image
from reelforge.config import Settings
from reelforge.media.images import load_image
from reelforge.media.probe import last_frame, probe_video
from reelforge.services.accounts import accounts
from reelforge.services.jobs import queries
from tests.neural.conftest import Invoke, tiny_size

CASES = [
    ("wan", "t2v", 0),
    ("wan", "i2v", 1),
    ("wan", "flf2v", 2),
    ("ltx", "t2v", 0),
    ("ltx", "i2v", 1),
    ("ltx", "flf2v", 2),
    ("cogvideox", "t2v", 0),
    ("cogvideox", "i2v", 1),
]


def register(
    rf: Invoke, tiny_dirs: dict, family: str, task: str, name: str | None = None, *extra: str
) -> str:
    name = name or f"{family}-{task}"
    rf(
        "models",
        "add",
        name,
        "--family",
        family,
        "--task",
        task,
        "--path",
        str(tiny_dirs[family, task]),
        "--dtype",
        "fp32",
        "--device",
        "cpu",
        *extra,
    )
    return name


def local_events(job_id: str) -> list[dict[str, Any]]:
    p = bootstrap(Settings())
    try:
        account = accounts.ensure_account(p, accounts.LOCAL_ACCOUNT)
        return queries.events_since(p, account, job_id, 0)[0]
    finally:
        p.close()


def local_job(job_id: str) -> dict[str, Any]:
    p = bootstrap(Settings())
    try:
        return queries.get_job(p, accounts.ensure_account(p, accounts.LOCAL_ACCOUNT), job_id)
    finally:
        p.close()


def geometry(family: str, steps: int = 3) -> list[str]:
    width, height, frames = tiny_size(family)
    return ["--size", f"{width}x{height}", "--frames", str(frames), "--steps", str(steps)]


@pytest.mark.parametrize(("family", "task", "images"), CASES)
def test_every_family_and_mode(
    rf: Invoke, tiny_dirs: dict, tmp_path: Path, family: str, task: str, images: int
) -> None:
    name = register(rf, tiny_dirs, family, task)
    width, height, frames = tiny_size(family)
    out = tmp_path / "clip.mp4"
    image_args = [
        ["--image", str(sample_image())],
        ["--image", str(sample_image()), "--last-image", str(sample_image())],
    ]
    args = [
        "generate",
        "--model",
        name,
        "--prompt",
        "a cat walks on the table",
        "--negative-prompt",
        "blurry",
        *geometry(family),
        "--guidance",
        "2.0",
        "--seed",
        "4",
        "--out",
        str(out),
        "--json",
    ]
    if images:
        args += image_args[images - 1]
    result = rf(*args)
    assert result["status"] == "succeeded", result["error"]
    assert (result["frames"], result["width"], result["height"]) == (frames, width, height)
    info = probe_video(out)
    assert (info.frames, info.width, info.height, info.codec) == (frames, width, height, "h264")
    assert {"load", "text_encode", "denoise", "decode", "encode"} <= set(result["timings"])

    job = local_job(result["id"])
    expected_mode = ["text2video", "image2video", "first_last_frame"][images]
    assert job["mode"] == expected_mode
    assert job["parameters"]["steps"] == 3 and job["parameters"]["guidance"] == 2.0
    assert job["compute"]["device"] == "cpu" and job["compute"]["warm"] is False
    assert job["compute"]["peak_memory_bytes"] > 0
    steps = [
        (e["done"], e["total"])
        for e in local_events(result["id"])
        if e["type"] == "progress" and e["stage"] == "denoise"
    ]
    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]  # one event per denoising step


def test_same_seed_same_video_other_seed_other_video(
    rf: Invoke, tiny_dirs: dict, tmp_path: Path
) -> None:
    name = register(rf, tiny_dirs, "wan", "t2v")

    def frames(seed: int, out: str) -> np.ndarray:
        rf(
            "generate",
            "--model",
            name,
            "--prompt",
            "a red car",
            *geometry("wan"),
            "--seed",
            str(seed),
            "--out",
            str(tmp_path / out),
        )
        return decoded(tmp_path / out)

    # the files differ (each job's id is in its provenance marks); the pictures do not
    a, b, c = frames(1, "a.mp4"), frames(1, "b.mp4"), frames(2, "c.mp4")
    assert (
        hashlib.sha256((tmp_path / "a.mp4").read_bytes()).digest()
        != hashlib.sha256((tmp_path / "b.mp4").read_bytes()).digest()
    )
    assert np.abs(a.astype(int) - b).max() == 0
    assert np.abs(a.astype(int) - c).mean() > 1.0


def decoded(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_extend_continues_from_the_last_frame(rf: Invoke, tiny_dirs: dict, tmp_path: Path) -> None:
    t2v = register(rf, tiny_dirs, "wan", "t2v")
    i2v = register(rf, tiny_dirs, "wan", "i2v")
    first = rf(
        "generate",
        "--model",
        t2v,
        "--prompt",
        "a dog runs",
        *geometry("wan"),
        "--out",
        str(tmp_path / "first.mp4"),
        "--json",
    )
    second = rf(
        "generate",
        "--model",
        i2v,
        "--extend",
        first["id"],
        "--prompt",
        "it jumps",
        *geometry("wan"),
        "--out",
        str(tmp_path / "second.mp4"),
        "--json",
    )
    assert second["status"] == "succeeded"
    job = local_job(second["id"])
    assert job["mode"] == "extend" and job["extend_from"] == first["id"]

    p = bootstrap(Settings())  # the frame it started from is the source's last frame
    try:
        with p.db.session(write=False) as s:
            from reelforge.storage.tables import Job

            blob = s.get(Job, second["id"]).inputs[0]["blob"]  # type: ignore[union-attr]
        p.blobs.download(blob, tmp_path / "start.png")
    finally:
        p.close()
    np.testing.assert_array_equal(
        load_image(tmp_path / "start.png"), last_frame(tmp_path / "first.mp4")
    )
    # a t2v model cannot extend, and only a succeeded job can be extended
    assert (
        "unsupported_mode"
        in rf(
            "generate",
            "--model",
            t2v,
            "--extend",
            first["id"],
            "--out",
            str(tmp_path / "x.mp4"),
            code=2,
        ).output
    )
    assert (
        "not_found"
        in rf(
            "generate",
            "--model",
            i2v,
            "--extend",
            "vid_nope",
            "--out",
            str(tmp_path / "x.mp4"),
            code=2,
        ).output
    )


def test_a_draft_is_promoted_to_final_with_the_same_seed(
    rf: Invoke, tiny_dirs: dict, tmp_path: Path
) -> None:
    name = register(rf, tiny_dirs, "wan", "t2v")
    draft = rf(
        "generate",
        "--model",
        name,
        "--prompt",
        "a boat",
        "--size",
        "32x32",
        "--frames",
        "9",
        "--preset",
        "draft",
        "--out",
        str(tmp_path / "d.mp4"),
        "--json",
    )
    final = rf("generate", "--promote", draft["id"], "--out", str(tmp_path / "f.mp4"), "--json")
    d, f = local_job(draft["id"]), local_job(final["id"])
    assert d["parameters"]["preset"] == "draft" and d["parameters"]["step_cache"] == "first_block"
    assert f["parameters"]["preset"] == "final" and f["parameters"]["step_cache"] is None
    assert d["parameters"]["steps"] == 12 and f["parameters"]["steps"] == 50
    assert f["promoted_from"] == draft["id"] and f["seed"] == d["seed"]
    assert f["prompt"] == d["prompt"] and probe_video(tmp_path / "f.mp4").frames == 9
    assert (
        "not_a_draft"
        in rf("generate", "--promote", final["id"], "--out", str(tmp_path / "x.mp4"), code=2).output
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--model", "wan-t2v", "--frames", "10"], "try 9 or 13"),
        (["--model", "wan-t2v", "--size", "40x40"], "unsupported_size"),
        (["--model", "wan-t2v", "--size", "big"], "WIDTHxHEIGHT"),
        (["--model", "wan-t2v", "--image", "{img}"], "unsupported_mode"),
        (["--model", "wan-i2v", "--image", "{img}", "--last-image", "{img}"], "unsupported_mode"),
        (["--model", "nope"], "unknown_model"),
        (["--image", "{img}", "--steps", "4"], "unsupported_parameter"),
        (["--model", "wan-t2v", "--steps", "500"], "invalid_request"),
    ],
)
def test_requests_a_model_cannot_honour_fail_at_submit(
    rf: Invoke, tiny_dirs: dict, tmp_path: Path, args: list[str], code: str
) -> None:
    register(rf, tiny_dirs, "wan", "t2v")
    register(rf, tiny_dirs, "wan", "i2v")
    args = [str(sample_image()) if a == "{img}" else a for a in args]
    result = rf("generate", "--prompt", "a cat", *args, "--out", str(tmp_path / "x.mp4"), code=2)
    assert code in result.output
    assert not (tmp_path / "x.mp4").exists()
    assert rf("jobs", "list", "--json")["data"] == []


def test_text_to_video_goes_to_the_only_model_that_serves_it(
    rf: Invoke, tiny_dirs: dict, tmp_path: Path
) -> None:
    register(rf, tiny_dirs, "wan", "t2v", "only-t2v")
    result = rf(
        "generate",
        "--prompt",
        "a cat",
        *geometry("wan"),
        "--out",
        str(tmp_path / "a.mp4"),
        "--json",
    )
    assert result["model"] == "only-t2v" and result["fps"] == 16  # Wan's own frame rate
    register(rf, tiny_dirs, "cogvideox", "t2v", "second-t2v")
    assert (
        "model_required"
        in rf("generate", "--prompt", "a cat", "--out", str(tmp_path / "b.mp4"), code=2).output
    )


def test_without_the_neural_extra_the_error_names_it(
    rf: Invoke, tiny_dirs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = register(rf, tiny_dirs, "wan", "t2v")  # registering needs no torch
    monkeypatch.setitem(sys.modules, "diffusers", None)  # as if it were not installed
    result = rf(
        "generate", "--model", name, "--prompt", "a cat", "--out", str(tmp_path / "x.mp4"), code=2
    )
    assert "neural_extra_missing" in result.output and "reelforge[neural]" in result.output
