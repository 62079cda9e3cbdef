"""Pure domain rules: specs, sizes, the state machine, ids."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from reelforge.domain.job import TRANSITIONS, JobStatus, check_transition, new_id, sources_of
from reelforge.domain.spec import AspectRatio, JobSpec, Mode, Resolution, frame_size
from reelforge.errors import Conflict


@pytest.mark.parametrize(
    ("aspect", "res", "size"),
    [
        ("16:9", "480p", (854, 480)),
        ("16:9", "720p", (1280, 720)),
        ("16:9", "1080p", (1920, 1080)),
        ("9:16", "720p", (720, 1280)),
        ("9:16", "1080p", (1080, 1920)),
        ("1:1", "480p", (480, 480)),
        ("1:1", "1080p", (1080, 1080)),
    ],
)
def test_frame_sizes_are_even_and_match_the_name(
    aspect: str, res: str, size: tuple[int, int]
) -> None:
    assert frame_size(AspectRatio(aspect), Resolution(res)) == size
    assert size[0] % 2 == 0 and size[1] % 2 == 0


def test_frame_count_is_duration_times_fps() -> None:
    spec = JobSpec(mode=Mode.IMAGE2VIDEO, images=("a" * 64,), duration=5, fps=24)
    assert spec.frame_count == 120
    assert (
        JobSpec(mode=Mode.IMAGE2VIDEO, images=("a" * 64,), duration=2.5, fps=30).frame_count == 75
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"mode": "image2video"},  # no image
        {"mode": "text2video", "prompt": "   "},
        {"mode": "text2video", "prompt": "x" * 2501},
        {"mode": "text2video", "prompt": "ok\x07"},
        {"mode": "text2video", "prompt": "ok", "duration": 0},
        {"mode": "text2video", "prompt": "ok", "duration": 61},
        {"mode": "text2video", "prompt": "ok", "fps": 0},
        {"mode": "text2video", "prompt": "ok", "camera": "spin"},
        {"mode": "text2video", "prompt": "ok", "seed": -1},
        {"mode": "text2video", "prompt": "ok", "colour": "red"},
    ],
)
def test_specs_refuse_bad_input(bad: dict) -> None:
    with pytest.raises(ValidationError):
        JobSpec.model_validate(bad)


def test_specs_are_frozen() -> None:
    spec = JobSpec(mode=Mode.TEXT2VIDEO, prompt="a cat")
    with pytest.raises(ValidationError):
        spec.prompt = "a dog"  # type: ignore[misc]


def test_state_machine() -> None:
    check_transition(JobStatus.QUEUED, JobStatus.RUNNING)
    check_transition(JobStatus.RUNNING, JobStatus.QUEUED)  # hand back / reaper
    for final in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        assert final.is_final and TRANSITIONS[final] == frozenset()
        with pytest.raises(Conflict):
            check_transition(final, JobStatus.RUNNING)
    with pytest.raises(Conflict):
        check_transition(JobStatus.QUEUED, JobStatus.SUCCEEDED)
    assert sources_of(JobStatus.SUCCEEDED) == {JobStatus.RUNNING, JobStatus.REVIEW}
    assert sources_of(JobStatus.CANCELLED) == {
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.REVIEW,
        JobStatus.THROTTLED,
        JobStatus.MODERATING,
    }
    # a guard model's check (issue 17): moved on by its task, never straight to running
    for target in (JobStatus.QUEUED, JobStatus.THROTTLED, JobStatus.REVIEW, JobStatus.BLOCKED):
        check_transition(JobStatus.MODERATING, target)
    with pytest.raises(Conflict):
        check_transition(JobStatus.MODERATING, JobStatus.RUNNING)
    assert not JobStatus.MODERATING.is_final


def test_governance_states() -> None:
    # held for a person at submit or on the output; refused; appealed
    check_transition(JobStatus.REVIEW, JobStatus.QUEUED)  # approved before anything ran
    check_transition(JobStatus.REVIEW, JobStatus.SUCCEEDED)  # a held output released
    check_transition(JobStatus.RUNNING, JobStatus.BLOCKED)  # output refused
    check_transition(JobStatus.BLOCKED, JobStatus.REVIEW)  # an appeal
    assert JobStatus.BLOCKED.is_final and not JobStatus.REVIEW.is_final
    with pytest.raises(Conflict):
        check_transition(JobStatus.BLOCKED, JobStatus.QUEUED)  # only through a review


def test_ids_sort_by_creation_time_and_are_unique() -> None:
    ids = []
    for _ in range(50):
        ids.append(new_id("vid"))
        time.sleep(0.001)
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert all(i.startswith("vid_") and len(i) == 30 for i in ids)
