"""The face descriptor network read from dlib's weights and run by onnxruntime.

The reference is dlib itself: `face_recognition_model_v1.compute_face_descriptor` on the same
aligned chip must give the same 128 numbers (to float rounding), on real faces (the astronaut
and LFW crops from scikit-image), so registry embeddings made either way stay comparable.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

dlib = pytest.importorskip("dlib")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
skdata = pytest.importorskip("skimage.data")

from reelforge.governance.image import MissingDependencyError  # noqa: E402
from reelforge.governance.image.descriptor import (  # noqa: E402
    CHIP_SIZE,
    DescriptorModelError,
    FaceDescriber,
    read_layers,
)
from reelforge.governance.image.faces import FaceAnalyzer, models_dir  # noqa: E402

try:
    MODELS = models_dir()
except MissingDependencyError:  # pragma: no cover - depends on the installation
    pytest.skip("face-recognition-models is not installed", allow_module_level=True)

WEIGHTS = MODELS / "dlib_face_recognition_resnet_model_v1.dat"
LANDMARKS = MODELS / "shape_predictor_5_face_landmarks.dat"


@pytest.fixture(scope="module")
def describer() -> FaceDescriber:
    described = FaceDescriber(WEIGHTS)
    described.load()
    return described


@pytest.fixture(scope="module")
def dlib_net() -> object:
    return dlib.face_recognition_model_v1(str(WEIGHTS))


def _chips() -> np.ndarray:
    """Aligned chips of real faces: the astronaut, mirrored, and six LFW crops."""
    import cv2

    shapes_model = dlib.shape_predictor(str(LANDMARKS))
    astronaut = skdata.astronaut()
    analyzer = FaceAnalyzer()
    chips = []
    for image in (astronaut, np.ascontiguousarray(astronaut[:, ::-1])):
        (face,) = analyzer.detect(image)
        x, y, w, h = face.box
        shape = shapes_model(image, dlib.rectangle(x, y, x + w - 1, y + h - 1))
        chips.append(dlib.get_face_chip(image, shape, CHIP_SIZE, 0.25))
    for grey in skdata.lfw_subset()[:6]:
        crop = (np.clip(grey, 0, 1) * 255).astype(np.uint8)
        big = cv2.resize(crop, (CHIP_SIZE, CHIP_SIZE), interpolation=cv2.INTER_CUBIC)
        chips.append(np.ascontiguousarray(np.repeat(big[:, :, None], 3, axis=2)))
    return np.stack(chips)


def test_descriptors_equal_dlibs_own(describer: FaceDescriber, dlib_net: object) -> None:
    chips = _chips()
    ours = describer.describe(chips)
    theirs = np.array([dlib_net.compute_face_descriptor(chip, 0) for chip in chips])  # type: ignore[attr-defined]
    assert ours.shape == (len(chips), 128) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-4
    # not trivially equal: different faces give clearly different descriptors
    assert np.linalg.norm(ours[0] - ours[2]) > 0.3


def test_batch_and_single_chips_agree(describer: FaceDescriber) -> None:
    chips = _chips()[:3]
    batch = describer.describe(chips)
    for chip, row in zip(chips, batch, strict=True):
        assert np.abs(describer.describe(chip[None])[0] - row).max() < 1e-5


def test_analyzer_descriptors_match_dlibs_full_path(dlib_net: object) -> None:
    """FaceAnalyzer.embed (landmarks, chips, onnxruntime) against dlib's own path."""
    image = skdata.astronaut()
    analyzer = FaceAnalyzer()
    faces = analyzer.analyze(image)
    x, y, w, h = faces[0].box
    shape = dlib.shape_predictor(str(LANDMARKS))(image, dlib.rectangle(x, y, x + w - 1, y + h - 1))
    theirs = np.array(dlib_net.compute_face_descriptor(image, shape, 0, 0.25))  # type: ignore[attr-defined]
    assert faces[0].embedding is not None
    assert np.abs(faces[0].embedding - theirs).max() < 1e-4


def test_layers_follow_dlibs_architecture() -> None:
    layers = read_layers(WEIGHTS.read_bytes())
    kinds = [layer.kind for layer in layers]
    assert kinds.count("con_4") == 29 and kinds.count("affine_") == 29
    assert kinds.count("add_prev_") == 14 and kinds.count("avg_pool_2") == 5
    assert layers[0].mean == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    assert layers[1].weights is not None and layers[1].weights.shape == (32, 3, 7, 7)
    assert layers[1].stride == (2, 2) and layers[1].padding == (0, 0)
    assert layers[-1].weights is not None and layers[-1].weights.shape == (256, 128)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: data[: len(data) // 2],  # truncated: the head is missing
        lambda data: data[:-300_000],  # truncated inside the last tensor
        lambda data: b"",
        lambda data: bytes(1000),
    ],
    ids=["half", "cut-tensor", "empty", "zeros"],
)
def test_damaged_weights_are_refused(corrupt: object) -> None:
    data = WEIGHTS.read_bytes()
    with pytest.raises(DescriptorModelError):
        read_layers(corrupt(data))  # type: ignore[operator]


def test_other_dlib_files_are_refused() -> None:
    with pytest.raises(DescriptorModelError):
        read_layers((MODELS / "mmod_human_face_detector.dat").read_bytes())


def test_bad_chips_are_refused(describer: FaceDescriber) -> None:
    assert describer.describe(np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)).shape == (0, 128)
    for shape in [(CHIP_SIZE, CHIP_SIZE, 3), (1, 100, 100, 3), (1, CHIP_SIZE, CHIP_SIZE, 1)]:
        with pytest.raises(ValueError):
            describer.describe(np.zeros(shape, np.uint8))


def test_a_fresh_describer_serves_several_threads() -> None:
    fresh = FaceDescriber(WEIGHTS, threads=1)
    chips = _chips()[:2]
    results: list[np.ndarray] = []
    workers = [
        threading.Thread(target=lambda: results.append(fresh.describe(chips))) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 3
    assert all(np.array_equal(results[0], r) for r in results[1:])
