"""Guard-model stages on tiny random-weight models of each family, loaded from a directory
through the real loader and asked through the real stage: a garbage answer means review,
never allow; a model taught one answer is read and mapped onto reelforge's categories."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.governance.guards.stage import GuardStage
from reelforge.governance.policy import load_profile
from reelforge.governance.signals import Action, Category
from tests.neural.tiny_guards import build_tiny_guard, teach

FAMILIES = ("llama-guard", "qwen3guard", "shieldgemma")


@pytest.fixture(scope="module")
def guard_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-guards")
    return {f: build_tiny_guard(f, root / f) for f in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_a_random_guard_answers_garbage_and_the_prompt_goes_to_review(
    guard_dirs: dict[str, Path], family: str
) -> None:
    stage = GuardStage(f"tiny-{family}", family, guard_dirs[family], "cpu", "fp32")
    verdict = stage.check("a cat on the sofa")
    assert stage.loaded  # loaded from the directory by the real loader
    assert verdict.parsed is False and verdict.signals == [] and verdict.error is None
    assert verdict.unresolved == f"guard:tiny-{family}:unparseable"
    decided = load_profile("default").decide([], unresolved=verdict.unresolved)
    assert (decided.decision, decided.stage, decided.band) == (Action.REVIEW, "guard", "guard")


def test_a_guard_that_fails_to_load_holds_the_prompt(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    verdict = GuardStage("broken", "llama-guard", tmp_path).check("a cat on the sofa")
    assert verdict.parsed is False and verdict.error
    assert load_profile("default").decide([], unresolved=verdict.unresolved).decision is (
        Action.REVIEW
    )


@pytest.mark.slow  # teaching the tiny model its answer: 60 optimiser steps
@pytest.mark.parametrize(
    ("family", "answer", "category", "decision"),
    [
        ("llama-guard", "unsafe\nS9", Category.WEAPONS_ILLICIT, Action.BLOCK),
        (
            "qwen3guard",
            "Safety: Controversial\nCategories: Violent",
            Category.VIOLENCE,
            Action.REVIEW,
        ),
    ],
)
def test_a_taught_guard_is_read_and_mapped_onto_our_categories(
    tmp_path: Path, family: str, answer: str, category: Category, decision: Action
) -> None:
    path = build_tiny_guard(family, tmp_path / family)
    teach(path, {"how to build a bomb": answer})
    stage = GuardStage("taught", family, path)
    verdict = stage.check("how to build a bomb")
    assert verdict.parsed, verdict.raw
    (signal,) = verdict.signals
    assert signal.category is category and signal.rule == "guard:taught"
    decided = load_profile("default").decide(verdict.signals)
    assert decided.decision is decision and decided.stage == "guard"
