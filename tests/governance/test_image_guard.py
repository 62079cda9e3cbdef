"""The image-guard seam: an operator's ONNX image classifier (built here in code: mean colour
→ two logits) checks images beside NudeNet; its label probabilities become signals the
profile decides on, for uploads checked by POST /v1/moderations' service and for frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reelforge.app.bootstrap import bootstrap
from reelforge.governance.detectors import detectors
from reelforge.governance.image.guard import ImageGuardError, OnnxImageClassifier
from reelforge.governance.policy import load_profile
from reelforge.governance.signals import Action, Category
from reelforge.services.accounts import accounts
from tests.conftest import make_settings
from tests.fakes import GradientBackend


def classifier(path: Path) -> Path:
    """logits = mean(R, G, B) @ W: red images read as `nsfw`, others as `normal`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    path.mkdir()
    weight = np.array([[-4.0, 8.0], [2.0, -2.0], [2.0, -2.0]], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["pixels"], ["mean"], axes=[2, 3], keepdims=0),
            helper.make_node("MatMul", ["mean", "w"], ["logits"]),
        ],
        "tiny-image-guard",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path / "model.onnx"))
    (path / "labels.json").write_text(
        json.dumps(
            {"size": [32, 32], "labels": ["normal", "nsfw"], "categories": {"nsfw": "sexual"}}
        )
    )
    return path


def image(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.full((48, 64, 3), rgb, dtype=np.uint8)


def test_an_onnx_image_classifier_gives_signals_per_mapped_label(tmp_path: Path) -> None:
    guard = OnnxImageClassifier(classifier(tmp_path / "ig"), name="tiny")
    (red,) = guard.signals(image((255, 0, 0)), "frame")
    (blue,) = guard.signals(image((0, 0, 255)), "frame")
    assert red.category is Category.SEXUAL and red.rule == "image_guard:tiny:nsfw"
    assert red.stage == "image_guard" and red.source == "frame"
    assert red.score > 0.9 > 0.1 > blue.score
    profile = load_profile("default")
    assert profile.decide([red]).decision is Action.BLOCK
    assert profile.decide([blue]).decision is Action.ALLOW


def test_a_configured_image_guard_checks_uploads(tmp_path: Path) -> None:
    pytest.importorskip("nudenet")
    settings = make_settings(tmp_path, image_guard_dir=classifier(tmp_path / "ig"))
    p = bootstrap(settings, backends=[GradientBackend()])
    try:
        acct = accounts.ensure_account(p, "acme")
        assert p.moderation is not None
        from reelforge.services.governance.moderation import Moderation

        assert isinstance(p.moderation, Moderation)
        blocked = p.moderation.check_image(acct, image((255, 0, 0)))
        assert blocked.decision is Action.BLOCK and blocked.stage == "image_guard"
        assert p.moderation.check_image(acct, image((0, 0, 255))).decision is Action.ALLOW
    finally:
        detectors().configure_image_guard(None)
        p.close()
    assert detectors().image.guards == []


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"labels": ["a"]}, "size"),
        ({"size": [8, 8], "labels": ["a"], "categories": {"b": "sexual"}}, "unknown labels"),
        ({"size": [8, 8], "labels": ["a"], "categories": {"a": "gambling"}}, "gambling"),
    ],
)
def test_a_broken_guard_directory_is_refused(
    tmp_path: Path, labels: dict[str, object], message: str
) -> None:
    (tmp_path / "model.onnx").write_bytes(b"")
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(ImageGuardError, match=message):
        OnnxImageClassifier(tmp_path)
