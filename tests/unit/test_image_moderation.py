"""Image moderation: nudity signals, faces and descriptors, frame sampling, bad input.

Real models on real photos from scikit-image (astronaut, LFW crops, coffee, chelsea, rocket).
No explicit image is available offline, so the nudity policy is tested on detections in
nudenet's own format, and the real detector is tested to stay quiet on benign photos.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from reelforge.governance.image import (
    MissingDependencyError,
    as_rgb_uint8,
    missing_modules,
    require,
)
from reelforge.governance.image.sampling import sample_indices
from reelforge.governance.signals import Category

nudenet = pytest.importorskip("nudenet")
pytest.importorskip("dlib")
pytest.importorskip("onnxruntime")
skdata = pytest.importorskip("skimage.data")

from reelforge.governance.image import faces as faces_mod  # noqa: E402
from reelforge.governance.image.faces import (  # noqa: E402
    MATCH_THRESHOLD,
    Face,
    FaceAnalyzer,
    distance,
    is_match,
)
from reelforge.governance.image.moderator import ImageModerator, available  # noqa: E402
from reelforge.governance.image.nudity import (  # noqa: E402
    LABELS,
    PART_POLICY,
    NudityDetector,
    signals_from_detections,
)

try:
    faces_mod.models_dir()
except MissingDependencyError:  # pragma: no cover - depends on the installation
    pytest.skip("face-recognition-models is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def moderator() -> ImageModerator:
    mod = ImageModerator()
    mod.load()
    return mod


@pytest.fixture(scope="module")
def analyzer(moderator: ImageModerator) -> FaceAnalyzer:
    return moderator.face_analyzer


@pytest.fixture(scope="module")
def lfw() -> np.ndarray:
    return skdata.lfw_subset()


def _lfw_embedding(analyzer: FaceAnalyzer, lfw: np.ndarray, index: int) -> np.ndarray:
    """A 25x25 grey LFW crop, upscaled, described with the whole crop as the face box."""
    crop = (lfw[index] * 255).astype(np.uint8)
    grey = cv2.resize(crop, (150, 150), interpolation=cv2.INTER_CUBIC)
    (face,) = analyzer.embed(grey, [Face((0, 0, 150, 150), 1.0)])
    assert face.embedding is not None
    return face.embedding


# --- faces -------------------------------------------------------------------------------


def test_astronaut_has_one_face_and_no_sexual_signal(moderator: ImageModerator) -> None:
    rgb = skdata.astronaut()
    signals, faces = moderator.check_frame(rgb)
    assert [s for s in signals if s.category is Category.SEXUAL] == []
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert 160 <= x <= 200 and 60 <= y <= 100 and 70 <= w <= 110 and 70 <= h <= 110
    assert faces[0].score > 0.5
    assert faces[0].embedding is not None
    assert faces[0].embedding.shape == (128,) and faces[0].embedding.dtype == np.float32


@pytest.mark.parametrize("size", [(854, 480), (1280, 720)])
def test_face_found_in_a_letterboxed_frame(analyzer: FaceAnalyzer, size: tuple[int, int]) -> None:
    width, height = size
    photo = cv2.resize(skdata.astronaut(), (height, height), interpolation=cv2.INTER_AREA)
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:, (width - height) // 2 : (width + height) // 2] = photo  # face ~82 / ~124 px
    (face,) = analyzer.analyze(frame)
    assert face.box[0] > (width - height) // 2 and face.embedding is not None


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket"])
def test_photos_without_people_give_nothing(moderator: ImageModerator, name: str) -> None:
    signals, faces = moderator.check_frame(getattr(skdata, name)())
    assert signals == [] and faces == []


def test_synthetic_image_gives_nothing(moderator: ImageModerator) -> None:
    ramp = np.linspace(0, 255, 640, dtype=np.float32)
    red, green = np.tile(ramp, (360, 1)), np.tile(ramp[::-1], (360, 1))
    rgb = np.stack([red, green, np.full((360, 640), 90)], -1)
    assert moderator.check_frame(rgb.astype(np.uint8)) == ([], [])


def test_same_person_within_threshold_different_people_not(
    analyzer: FaceAnalyzer, lfw: np.ndarray
) -> None:
    # Checked by eye: 0 and 36 are George W. Bush, 3 and 97 Gerhard Schroeder; 18, 31, 46
    # and 52 are women. Distances measured: 0.37, 0.39 same; 0.72-0.90 different.
    emb = {i: _lfw_embedding(analyzer, lfw, i) for i in (0, 36, 3, 97, 18, 31, 46, 52)}
    for a, b in [(0, 36), (3, 97)]:
        assert distance(emb[a], emb[b]) < MATCH_THRESHOLD - 0.05, (a, b)
        assert is_match(emb[a], emb[b])
    for a, b in [(0, 18), (3, 31), (36, 46), (97, 52)]:
        assert distance(emb[a], emb[b]) > MATCH_THRESHOLD + 0.15, (a, b)
        assert not is_match(emb[a], emb[b])


def test_face_crop_resized_matches_itself(analyzer: FaceAnalyzer) -> None:
    rgb = skdata.astronaut()
    (face,) = analyzer.analyze(rgb)
    x, y, w, h = face.box
    crop = rgb[max(0, y - 60) : y + h + 60, max(0, x - 60) : x + w + 60]
    bigger = cv2.resize(crop, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    (a,) = analyzer.analyze(crop)
    (b,) = analyzer.analyze(bigger)
    assert a.embedding is not None and b.embedding is not None
    assert distance(a.embedding, b.embedding) < 0.15
    assert distance(face.embedding, a.embedding) < 0.15  # type: ignore[arg-type]
    # the box follows the image it was found in
    assert b.box[2] == pytest.approx(2 * a.box[2], rel=0.2)


def test_distance_is_euclidean_and_checks_shapes() -> None:
    a = np.zeros(128, np.float32)
    b = np.zeros(128, np.float32)
    b[:4] = 0.5
    assert distance(a, b) == pytest.approx(1.0)
    assert distance(a, a) == 0.0
    with pytest.raises(ValueError):
        distance(a, np.zeros(64))


def test_embed_skips_tiny_faces_and_respects_max_embed(analyzer: FaceAnalyzer) -> None:
    rgb = skdata.astronaut()
    (face,) = analyzer.detect(rgb)
    tiny = Face((0, 0, 10, 10), 1.0)
    out = analyzer.embed(rgb, [tiny, face])
    assert out[0].embedding is None and out[1].embedding is not None
    capped = FaceAnalyzer(max_embed=0)
    assert capped.embed(rgb, [face])[0].embedding is None
    assert analyzer.embed(rgb, []) == []


def test_no_embedding_work_without_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = FaceAnalyzer()
    monkeypatch.setattr(fresh, "_get_networks", lambda: pytest.fail("networks loaded"))
    assert fresh.analyze(skdata.coffee()) == []


def test_two_faces_side_by_side(analyzer: FaceAnalyzer) -> None:
    rgb = skdata.astronaut()
    pair = np.concatenate([rgb, rgb[:, ::-1]], axis=1)  # 1024x512, faces 88 px
    # scaled to 640 px for HOG the faces shrink to ~55 px, under what HOG finds at upsample 0
    assert len(FaceAnalyzer(detect_max_side=640).detect(pair)) < 2
    faces = analyzer.analyze(pair)  # the default 960 px keeps them at ~82 px
    assert len(faces) == 2
    assert {f.box[0] < 512 for f in faces} == {True, False}
    a, b = (f.embedding for f in faces)
    assert a is not None and b is not None and distance(a, b) < 0.3  # mirror of one person


# --- nudity ------------------------------------------------------------------------------


def test_labels_are_nudenets() -> None:
    from nudenet import nudenet as module

    assert list(LABELS) == list(getattr(module, "__labels"))
    assert set(PART_POLICY) <= set(LABELS)


def _det(cls: str, score: float, box: list[int] | None = None) -> dict[str, object]:
    return {"class": cls, "score": score, "box": box or [10, 20, 30, 40]}


@pytest.mark.parametrize(
    "cls",
    [
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
    ],
)
def test_exposed_parts_are_sexual(cls: str) -> None:
    (signal,) = signals_from_detections([_det(cls, 0.9, [1, 2, 3, 4])], source="frame")
    assert signal.category is Category.SEXUAL
    assert signal.rule == f"nudenet:{cls}"
    assert signal.source == "frame"
    assert signal.detail is not None and "box=[1, 2, 3, 4]" in signal.detail
    weight = 0.8 if cls == "BUTTOCKS_EXPOSED" else 1.0
    assert signal.score == pytest.approx(0.9 * weight)


@pytest.mark.parametrize(
    "cls",
    [
        "FEMALE_GENITALIA_COVERED",
        "FEMALE_BREAST_COVERED",
        "BUTTOCKS_COVERED",
        "ANUS_COVERED",
        "MALE_BREAST_EXPOSED",
        "BELLY_EXPOSED",
        "BELLY_COVERED",
        "ARMPITS_EXPOSED",
        "ARMPITS_COVERED",
        "FEET_EXPOSED",
        "FEET_COVERED",
        "FACE_FEMALE",
        "FACE_MALE",
    ],
)
def test_covered_parts_and_faces_are_not_sexual(cls: str) -> None:
    assert signals_from_detections([_det(cls, 0.99)]) == []


def test_mapping_keeps_the_best_box_per_class_and_drops_weak_ones() -> None:
    dets = [
        _det("FEMALE_BREAST_EXPOSED", 0.55, [0, 0, 5, 5]),
        _det("FEMALE_BREAST_EXPOSED", 0.81, [50, 60, 20, 20]),
        _det("BUTTOCKS_EXPOSED", 0.3),  # under MIN_DETECTION_SCORE
        _det("FACE_FEMALE", 0.9),
        _det("MALE_GENITALIA_EXPOSED", 0.95),
    ]
    signals = signals_from_detections(dets)
    assert [s.rule for s in signals] == [
        "nudenet:MALE_GENITALIA_EXPOSED",
        "nudenet:FEMALE_BREAST_EXPOSED",
    ]
    breast = signals[1]
    assert breast.score == pytest.approx(0.81)
    assert breast.detail is not None and "[50, 60, 20, 20]" in breast.detail
    assert "count=2" in breast.detail
    assert signals_from_detections([]) == []


def test_mapping_on_real_nudenet_output() -> None:
    upstream = nudenet.NudeDetector()
    dets = upstream.detect(skdata.astronaut())
    assert dets and {"class", "score", "box"} <= set(dets[0])
    assert signals_from_detections(dets) == []


def test_detections_agree_with_nudenet() -> None:
    # nudenet 3.4.2 double-swaps channels, so an RGB array reaches its model as RGB, as here.
    rgb = skdata.astronaut()
    ours = NudityDetector().detect(rgb)
    theirs = nudenet.NudeDetector().detect(rgb)
    assert [d["class"] for d in ours] == [d["class"] for d in theirs] == ["FACE_FEMALE"]
    assert ours[0]["score"] == pytest.approx(theirs[0]["score"], abs=0.05)
    assert np.abs(np.subtract(ours[0]["box"], theirs[0]["box"])).max() <= 4


@pytest.mark.parametrize("name", ["coffee", "astronaut", "chelsea"])
def test_benign_photos_have_no_sexual_signal(moderator: ImageModerator, name: str) -> None:
    rgb = getattr(skdata, name)()
    for frame in (rgb, cv2.resize(rgb, (1280, 720)), cv2.resize(rgb, (854, 480))):
        assert moderator.signals(frame) == []


def test_detectors_are_shareable_between_threads(moderator: ImageModerator) -> None:
    rgb = skdata.astronaut()
    expected = moderator.check_frame(rgb)
    results: list[tuple[int, float]] = []

    def work() -> None:
        signals, faces = moderator.check_frame(rgb)
        assert signals == expected[0]
        results.append((len(faces), distance(faces[0].embedding, expected[1][0].embedding)))  # type: ignore[arg-type]

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(n == 1 and d < 1e-4 for n, d in results)


def test_parallel_and_sequential_checks_agree(moderator: ImageModerator) -> None:
    rgb = skdata.astronaut()
    sequential = ImageModerator(moderator.nudity, moderator.face_analyzer, parallel=False)
    s1, f1 = moderator.check_frame(rgb)
    s2, f2 = sequential.check_frame(rgb)
    assert s1 == s2 and [f.box for f in f1] == [f.box for f in f2]
    moderator.close()
    assert moderator.check_frame(rgb)[0] == s1  # a closed moderator starts a new helper


# --- bad input ---------------------------------------------------------------------------


def test_other_layouts_are_converted() -> None:
    rgb = skdata.astronaut()
    assert as_rgb_uint8(rgb) is not None
    assert as_rgb_uint8(rgb.astype(np.float64) / 255.0).dtype == np.uint8
    assert np.abs(as_rgb_uint8(rgb.astype(np.float64) / 255.0).astype(int) - rgb).max() <= 1
    grey = as_rgb_uint8(rgb[:, :, 0])
    assert grey.shape == (512, 512, 3)
    rgba = np.concatenate([rgb, np.full((512, 512, 1), 255, np.uint8)], axis=2)
    assert np.array_equal(as_rgb_uint8(rgba), rgb)
    assert as_rgb_uint8(np.ones((4, 4), bool)).max() == 255
    assert as_rgb_uint8(rgb.astype(np.uint16) * 257).tolist() == rgb.tolist()
    assert as_rgb_uint8(np.full((2, 2, 3), np.nan)).max() == 0
    assert as_rgb_uint8(np.full((2, 2, 3), 1000, np.int32)).max() == 255


@pytest.mark.parametrize(
    "bad",
    [None, "image.png", [[1, 2], [3, 4]], np.zeros((0, 0, 3), np.uint8), np.zeros((5, 5, 2)),
     np.zeros((2, 3, 4, 5)), np.zeros((4, 4, 3), np.complex64)],
)  # fmt: skip
def test_non_images_raise_value_error(moderator: ImageModerator, bad: object) -> None:
    with pytest.raises(ValueError):
        moderator.check_frame(bad)  # type: ignore[arg-type]


def test_float_and_grey_frames_are_checked(moderator: ImageModerator) -> None:
    rgb = skdata.astronaut()
    signals, faces = moderator.check_frame(rgb.astype(np.float32) / 255.0)
    assert signals == [] and len(faces) == 1
    assert len(moderator.faces(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))) == 1


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 1), (3, 2000, 3), (2000, 2, 3)])
def test_tiny_and_thin_images(moderator: ImageModerator, shape: tuple[int, ...]) -> None:
    assert moderator.check_frame(np.full(shape, 128, np.uint8)) == ([], [])


def test_huge_image_is_downscaled_for_detection(analyzer: FaceAnalyzer) -> None:
    rgb = skdata.astronaut()
    huge = cv2.resize(rgb, (4608, 4608), interpolation=cv2.INTER_LINEAR)  # x9, 21 Mpx
    (small,) = analyzer.detect(rgb)
    faces = analyzer.analyze(huge)
    assert len(faces) == 1
    # the box is in the huge image's pixels
    assert faces[0].box[0] == pytest.approx(9 * small.box[0], rel=0.15)
    assert faces[0].box[2] == pytest.approx(9 * small.box[2], rel=0.25)
    assert faces[0].embedding is not None
    reference = analyzer.analyze(rgb)[0].embedding
    assert distance(faces[0].embedding, reference) < 0.2  # type: ignore[arg-type]


# --- availability ------------------------------------------------------------------------


def test_available_and_missing_packages_are_named() -> None:
    assert available()
    assert missing_modules(["numpy", "no_such_module_rf"]) == ["no_such_module_rf"]
    with pytest.raises(MissingDependencyError, match="reelforge\\[governance\\]"):
        require("no_such_module_rf")
    message = str(MissingDependencyError(["dlib", "nudenet"]))
    assert "dlib-bin" in message and "nudenet" in message
    assert isinstance(MissingDependencyError(["dlib"]), ImportError)


def test_moderator_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from reelforge.governance.image import moderator as moderator_mod

    monkeypatch.setattr(moderator_mod, "missing_modules", lambda names: ["dlib"])
    assert not moderator_mod.available()
    with pytest.raises(MissingDependencyError, match="dlib-bin"):
        ImageModerator()


# --- sampling ----------------------------------------------------------------------------


def test_sampling_every_interval_plus_last() -> None:
    assert sample_indices(240, 24, 1.0, 100) == [*range(0, 240, 24), 239]
    assert sample_indices(241, 24, 1.0, 100) == [*range(0, 241, 24)]  # last is on the grid


def test_sampling_respects_max_frames_and_keeps_ends() -> None:
    for count in (2, 3, 10, 97, 240, 10_000):
        for max_frames in (2, 3, 5, 16):
            got = sample_indices(count, 24, 0.25, max_frames)
            assert got[0] == 0 and got[-1] == count - 1
            assert len(got) <= max_frames
            assert got == sorted(set(got))
            assert got == sample_indices(count, 24, 0.25, max_frames)
    spread = sample_indices(10_000, 24, 0.1, 5)
    assert spread == [0, 2499, 4999, 7499, 9999]


def test_sampling_edge_cases() -> None:
    assert sample_indices(0, 24, 1.0, 8) == []
    assert sample_indices(1, 24, 1.0, 8) == [0]
    assert sample_indices(50, 24, 1.0, 1) == [0]
    assert sample_indices(5, 24, 0.001, 100) == [0, 1, 2, 3, 4]  # step never below a frame
    for args in [(10, 0, 1.0, 4), (10, 24, 0.0, 4), (10, 24, -1.0, 4), (10, 24, 1.0, 0)]:
        with pytest.raises(ValueError):
            sample_indices(*args)
