"""Policy profiles as data: loading, extending, relaxing, and turning signals into decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.errors import InvalidRequest
from reelforge.governance.policy import load_profile
from reelforge.governance.signals import Action, Category, Signal


def sig(category: Category, score: float, rule: str = "r") -> Signal:
    return Signal(category, score, rule)


def test_the_default_profile_blocks_every_category() -> None:
    profile = load_profile("default")
    assert {r.action for r in profile.rules.values()} == {Action.BLOCK}
    assert profile.ref.startswith("default@") and profile.label == "AI-generated"
    assert profile.decide([]).decision is Action.ALLOW
    below = profile.decide([sig(Category.VIOLENCE, 0.49)])
    assert below.decision is Action.ALLOW and below.scores == {"violence": 0.49}
    blocked = profile.decide(
        [sig(Category.VIOLENCE, 0.7, "semantic:violence"), sig(Category.HATE, 0.9, "terms:hate")]
    )
    assert blocked.decision is Action.BLOCK and blocked.categories == ["hate", "violence"]
    assert blocked.rule == "terms:hate"  # the strongest finding behind the decision
    assert blocked.public() == {"decision": "block", "categories": ["hate", "violence"]}


def test_regional_profiles_extend_the_default() -> None:
    cn, eu = load_profile("cn"), load_profile("eu")
    assert cn.label == "AI生成" and cn.rules[Category.POLITICAL].action is Action.BLOCK
    assert eu.rules[Category.POLITICAL].action is Action.REVIEW
    review = eu.decide([sig(Category.POLITICAL, 0.8), sig(Category.ARTIST_STYLE, 0.6)])
    assert review.decision is Action.REVIEW
    strictest = eu.decide([sig(Category.POLITICAL, 0.8), sig(Category.SEXUAL, 0.6)])
    assert strictest.decision is Action.BLOCK and strictest.categories == ["political", "sexual"]


def test_operator_profiles_may_relax_but_never_sexual_minors(tmp_path: Path) -> None:
    (tmp_path / "studio.yaml").write_text(
        "extends: default\nversion: '7'\ncategories:\n  artist_style: {action: allow}\n"
        "  violence: {action: review, threshold: 0.8}\n"
    )
    studio = load_profile("studio", tmp_path)
    assert studio.ref == "studio@7"
    assert studio.decide([sig(Category.ARTIST_STYLE, 1.0)]).decision is Action.ALLOW
    assert studio.decide([sig(Category.VIOLENCE, 0.7)]).decision is Action.ALLOW
    assert studio.decide([sig(Category.VIOLENCE, 0.9)]).decision is Action.REVIEW

    (tmp_path / "loose.yaml").write_text(
        "extends: default\ncategories:\n  sexual_minors: {action: review}\n"
    )
    with pytest.raises(InvalidRequest, match="may not relax sexual_minors"):
        load_profile("loose", tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("extends: b\n", "loop"),
        ("extends: default\ncategories:\n  gambling: {action: block}\n", "unknown categories"),
        ("extends: default\ncategories:\n  hate: {action: maybe}\n", "allow, review or block"),
        ("extends: default\ncategories:\n  hate: {threshold: 3}\n", "threshold"),
        ("categories: [\n", "not valid YAML"),
    ],
)
def test_broken_profiles_are_refused_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text("extends: a\n")
    with pytest.raises(InvalidRequest, match=message):
        load_profile("a", tmp_path)


def test_an_unknown_profile_names_the_built_in_ones() -> None:
    with pytest.raises(InvalidRequest) as err:
        load_profile("mars")
    assert err.value.code == "unknown_profile" and "default, cn, eu" in err.value.message
