"""Language routing: the language of short, mixed and non-Latin prompts, identified offline,
and what the policy does with a prompt no configured stage covers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from reelforge.config import Settings
from reelforge.governance.language import LanguageIdentifier, covered, identify
from reelforge.governance.policy import load_profile
from reelforge.governance.signals import Action
from reelforge.services.governance.moderation import check_prompts, covered_languages


def test_the_model_loads_and_answers_with_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("language identification tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    fresh = LanguageIdentifier()  # loads its model from the wheel here, under the patch
    assert fresh.identify("Ein Hund läuft durch den Park im Regen").language == "de"


@pytest.mark.parametrize(
    ("text", "languages"),
    [
        # non-Latin scripts count from one syllable or two letters
        ("猫", ("zh",)),
        ("ねこがねている", ("ja",)),
        ("桜の花びらが舞う京都の古い寺院", ("ja",)),  # Han with kana is Japanese
        ("고양이가 잔다", ("ko",)),
        ("кот", ("ru",)),
        ("Рекламний ролик нашої пекарні: свіжий хліб із печі, ранкове світло", ("uk",)),
        ("قطة نائمة", ("ar",)),
        ("एक किसान सुबह खेत में हल चला रहा है", ("hi",)),
        # Latin script: a full sentence is identified ...
        ("Ein Hund läuft durch den Park im Regen", ("de",)),
        ("chica desnuda en la cama, muy sexy", ("es",)),
        # ... short or ambiguous text asserts nothing (English that reads like Tagalog)
        ("bees", ()),
        ("pikachu surfing", ()),
        ("Making napalm at home", ()),
        ("cyberpunk city, neon, 4k", ()),
        ("", ()),
        ("\U0001f351\U0001f346", ()),
    ],
)
def test_languages_of_short_and_non_latin_text(text: str, languages: tuple[str, ...]) -> None:
    assert identify(text).languages == languages


def test_mixed_text_names_every_language_it_is_sure_of() -> None:
    mixed = identify("a cat sleeping on the sofa, un gato durmiendo en el sofá de la abuela")
    assert set(mixed.languages) == {"en", "es"}
    tagged = identify("a girl dancing, 女孩跳舞")
    assert "zh" in tagged.languages
    assert not covered(tagged, frozenset({"en"})) and covered(tagged, frozenset({"en", "zh"}))
    assert covered(identify("bees"), frozenset())  # nothing asserted: any stage may judge it


def test_a_prompt_in_a_language_no_stage_covers_goes_to_review(tmp_path: Path) -> None:
    assert covered_languages() == {"en"}  # term lists and MiniLM: English
    prompts = [
        "Un gato naranja durmiendo al sol en una ventana de Sevilla",
        "一只熊猫在竹林里吃竹子",
        "A golden retriever running through a sunflower field at sunset",
        "chica desnuda en la cama, muy sexy, mostrando todo",
    ]
    spanish, chinese, english, explicit = check_prompts(Settings(), "default", prompts)
    assert (spanish.decision, spanish.stage, spanish.band) == (
        Action.REVIEW,
        "language",
        "language",
    )
    assert spanish.language == "es" and spanish.rule == "language:es"
    assert spanish.categories == [] and "message" in spanish.public()
    assert (chinese.decision, chinese.language) == (Action.REVIEW, "zh")
    assert english.decision is Action.ALLOW and english.language == "en"
    assert explicit.decision is Action.BLOCK and explicit.stage == "rules"  # the first pass

    policy_dir = tmp_path / "profiles"
    policy_dir.mkdir()
    for action in ("allow", "block"):
        (policy_dir / f"{action}s.yaml").write_text(
            f"extends: default\nunsupported_language: {action}\n"
        )
        profile = load_profile(f"{action}s", policy_dir)
        assert profile.unsupported_language is Action(action)
        (decided,) = check_prompts(Settings(policy_dir=policy_dir), f"{action}s", prompts[:1])
        assert decided.decision is Action(action)
