"""Guard answers read strictly, on each family's documented output formats: Llama Guard
("safe" / "unsafe\\nS1,S2"), Qwen3Guard-Gen ("Safety: Safe|Unsafe|Controversial\\nCategories:
..."), ShieldGemma (the Yes/No probability); anything else is unreadable (review)."""

from __future__ import annotations

import pytest

from reelforge.governance.guards.families import (
    CONTROVERSIAL,
    FAMILIES,
    parse_llama_guard,
    parse_qwen3guard,
    parse_shieldgemma,
    shieldgemma_prompt,
)
from reelforge.governance.signals import Category

C = Category


@pytest.mark.parametrize(
    ("raw", "scores"),
    [
        ("safe", {}),
        ("\n\nsafe", {}),  # Llama Guard 3 answers after the template's blank lines
        ("unsafe\nS1", {C.VIOLENCE: 1.0}),
        ("unsafe\nS1,S10", {C.VIOLENCE: 1.0, C.HATE: 1.0}),
        ("unsafe\nS4", {C.SEXUAL_MINORS: 1.0}),
        ("unsafe\nS12, S13", {C.SEXUAL: 1.0, C.POLITICAL: 1.0}),
        ("unsafe\nS8", {C.COPYRIGHT: 1.0}),
        ("unsafe\nS11", {C.SELF_HARM: 1.0}),
    ],
)
def test_llama_guard_answers(raw: str, scores: dict[Category, float]) -> None:
    found = parse_llama_guard(raw)
    assert found.parsed and found.scores == scores and found.unsafe == bool(scores)


def test_llama_guard_code_without_a_video_category_is_unsafe_without_scores() -> None:
    found = parse_llama_guard("unsafe\nS14")  # code interpreter abuse
    assert found.parsed and found.unsafe and found.scores == {} and found.labels == ("S14",)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "Safe.",
        "safe\nS1",
        "unsafe",  # no codes
        "unsafe\nS15",
        "unsafe\nS1\nS2",
        "unsafe\nviolent crimes",
        "I cannot help with that",
        "safe safe safe unsafe S3 Yes",
    ],
)
def test_llama_guard_garbage_is_unreadable(raw: str) -> None:
    assert parse_llama_guard(raw).parsed is False


@pytest.mark.parametrize(
    ("raw", "scores", "unsafe"),
    [
        ("Safety: Safe\nCategories: None", {}, False),
        ("Safety: Safe", {}, False),
        ("Safety: Unsafe\nCategories: Violent", {C.VIOLENCE: 1.0}, True),
        (
            "Safety: Unsafe\nCategories: Sexual Content or Sexual Acts, PII",
            {C.SEXUAL: 1.0, C.REAL_PERSON: 1.0},
            True,
        ),
        (
            "Safety: Controversial\nCategories: Politically Sensitive Topics",
            {C.POLITICAL: CONTROVERSIAL},
            False,
        ),
        ("Safety: Unsafe\nCategories: Suicide & Self-Harm\nRefusal: No", {C.SELF_HARM: 1.0}, True),
        ("Safety: Unsafe\nCategories: Jailbreak", {}, True),
    ],
)
def test_qwen3guard_answers(raw: str, scores: dict[Category, float], unsafe: bool) -> None:
    found = parse_qwen3guard(raw)
    assert found.parsed and found.scores == scores and found.unsafe is unsafe


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "Safety: Maybe\nCategories: Violent",
        "Safety: Unsafe",  # unsafe without saying what
        "Safety: Unsafe\nCategories: None",
        "Safety: Unsafe\nCategories: Gore",
        "Categories: Violent\nSafety: Unsafe",
        "safety: unsafe\ncategories: violent",
        "Safety: Safe\nCategories: None\nextra",
    ],
)
def test_qwen3guard_garbage_is_unreadable(raw: str) -> None:
    assert parse_qwen3guard(raw).parsed is False


def test_shieldgemma_reads_the_yes_probability_per_policy() -> None:
    found = parse_shieldgemma(
        {
            "dangerous": ("Yes", 0.91),
            "harassment": ("No", 0.02),
            "hate": ("No", 0.30),
            "sexual": ("No", 0.05),
        }
    )
    assert found.parsed and found.unsafe
    assert found.scores == {C.WEAPONS_ILLICIT: 0.91, C.HATE: 0.30, C.SEXUAL: 0.05}
    assert parse_shieldgemma({"sexual": ("▁The", 0.4)}).parsed is False
    prompt = shieldgemma_prompt("a cat", "hate")
    assert "Human Question: a cat" in prompt and '"No Hate Speech"' in prompt
    assert prompt.rstrip().endswith("sure we answer correctly.")


def test_each_family_declares_its_languages() -> None:
    assert FAMILIES["llama-guard"].languages == {"en", "fr", "de", "hi", "it", "pt", "es", "th"}
    assert {"zh", "ja", "ar", "ru", "en"} <= FAMILIES["qwen3guard"].languages
    assert FAMILIES["shieldgemma"].languages == {"en"}
