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
    below = profile.decide([sig(Category.VIOLENCE, 0.19)])
    assert below.decision is Action.ALLOW and below.scores == {"violence": 0.19}
    band = profile.decide([sig(Category.VIOLENCE, 0.49)])  # the review band: [0.3, 0.5)
    assert band.decision is Action.REVIEW and band.band == "band"
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
    # the band it inherits (0.3) and its own review action both send violence to a person
    assert studio.decide([sig(Category.VIOLENCE, 0.1)]).decision is Action.ALLOW
    assert studio.decide([sig(Category.VIOLENCE, 0.7)]).band == "band"
    assert studio.decide([sig(Category.VIOLENCE, 0.9)]).band == "review"

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
        (
            "extends: default\ncategories:\n  hate: {threshold: 0.4, review_threshold: 0.6}\n",
            "review_threshold must be in",
        ),
        ("extends: default\nunsupported_language: maybe\n", "unsupported_language"),
        ("extends: default\nguard: {prompts: sometimes}\n", "guard.prompts"),
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


def test_three_way_decisions_name_the_stage_that_decided() -> None:
    profile = load_profile("default")
    assert profile.unsupported_language is Action.REVIEW and profile.guard == "off"
    found = [
        sig(Category.VIOLENCE, 0.3, "semantic:violence"),
        sig(Category.WEAPONS_ILLICIT, 0.47, "terms:weapons"),
        sig(Category.WEAPONS_ILLICIT, 0.1, "semantic:weapons_illicit"),
    ]
    review = profile.decide(found, language="en")
    assert review.decision is Action.REVIEW and review.band == "band"
    assert review.categories == ["violence", "weapons_illicit"]
    assert (review.rule, review.stage, review.language) == ("terms:weapons", "rules", "en")
    assert review.stage_scores == {
        "minilm": {"violence": 0.3, "weapons_illicit": 0.1},
        "rules": {"weapons_illicit": 0.47},
    }
    shown = review.public()
    assert shown["decision"] == "review" and "review" in shown["message"]
    assert "scores" not in shown and "stage" not in shown  # nothing to tune an evasion by
    record = review.to_dict()
    assert record["stage"] == "rules" and record["stages"] == review.stage_scores
    assert record["signals"][0]["stage"] == "minilm"

    # a block names only what blocks, not what merely sat in the band
    blocked = profile.decide([*found, sig(Category.HATE, 0.8, "guard:lg:S10")])
    assert (blocked.decision, blocked.categories, blocked.stage) == (
        Action.BLOCK,
        ["hate"],
        "guard",
    )
    assert blocked.band == "block" and "message" not in blocked.public()


def test_the_text_review_band_does_not_apply_to_frames_unless_a_profile_sets_one(
    tmp_path: Path,
) -> None:
    profile = load_profile("default")
    frame = Signal(Category.SEXUAL, 0.35, "nudenet:BUTTOCKS_EXPOSED", source="frame")
    assert profile.decide([frame]).decision is Action.ALLOW
    assert profile.decide([Signal(Category.SEXUAL, 0.35, "r")]).decision is Action.REVIEW
    (tmp_path / "frames.yaml").write_text(
        "extends: default\ncategories:\n  sexual: {image_review_threshold: 0.3}\n"
    )
    assert load_profile("frames", tmp_path).decide([frame]).decision is Action.REVIEW


def test_a_guard_that_answered_settles_the_fast_stages_review_band() -> None:
    profile = load_profile("default")
    band = sig(Category.POLITICAL, 0.45, "terms:political")
    assert profile.decide([band]).decision is Action.REVIEW
    assert profile.decide([band], guard_settled=True).decision is Action.ALLOW
    blocking = sig(Category.VIOLENCE, 0.8, "semantic:violence")  # a block stays a block
    assert profile.decide([blocking], guard_settled=True).decision is Action.BLOCK
    guard = sig(Category.POLITICAL, 0.49, "guard:qg")  # Qwen3Guard's Controversial
    settled = profile.decide([band, guard], guard_settled=True)
    assert (settled.decision, settled.stage) == (Action.REVIEW, "guard")
    held = profile.decide([], unresolved="guard:qg:unparseable")
    assert (held.decision, held.rule, held.stage) == (
        Action.REVIEW,
        "guard:qg:unparseable",
        "guard",
    )
