"""What the detectors report and what the policy decides, as plain data.

Detectors (text, image, faces) only report `Signal`s: a category, a score in [0, 1] and the
rule that produced it. The policy (profiles/*.yaml) turns signals into a `Decision`: allow,
review (a person decides before anything runs) or block.

Every signal belongs to a *stage* — the detector family that produced it, read from its rule's
prefix (``stage_of``): ``rules`` (term lists, patterns, names), ``minilm`` (the English
embedding stage), ``multilingual`` (an operator's multilingual embedding model), ``guard`` (an
operator's guard model), ``language`` (no configured stage covers the prompt's language), and
the image stages (``nudenet``, ``likeness``, ``image_guard``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    SEXUAL = "sexual"
    SEXUAL_MINORS = "sexual_minors"
    VIOLENCE = "violence"  # violence and gore
    SELF_HARM = "self_harm"
    HATE = "hate"
    WEAPONS_ILLICIT = "weapons_illicit"  # weapons and illicit goods
    REAL_PERSON = "real_person"  # likeness of a real, private person
    PUBLIC_FIGURE = "public_figure"
    POLITICAL = "political"  # political and election content
    COPYRIGHT = "copyright"  # copyrighted characters and brands
    ARTIST_STYLE = "artist_style"  # living artists' styles
    COMMERCIAL_MISUSE = "commercial_misuse"  # fake endorsements, testimonials, fake authorities


class Action(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


_STAGES = {
    "terms": "rules",
    "pattern": "rules",
    "semantic": "minilm",
    "multilingual": "multilingual",
    "guard": "guard",
    "language": "language",
    "image_guard": "image_guard",
}

REVIEW_MESSAGE = (
    "held for review: a person checks it before anything is generated or released; "
    "it goes on once approved and is refused if rejected"
)


def stage_of(rule: str) -> str:
    """The stage a rule belongs to (see the module docstring)."""
    prefix = rule.split(":", 1)[0]
    return _STAGES.get(prefix, prefix)


@dataclass(frozen=True)
class Signal:
    """One detector finding. `rule` names what fired (e.g. "terms:public_figures",
    "semantic:violence", "nudenet:FEMALE_BREAST_EXPOSED"); `source` is where it was found
    (prompt, negative_prompt, overlay, image, frame)."""

    category: Category
    score: float
    rule: str
    source: str = "prompt"
    detail: str | None = None  # internal only (audit log): the matched term, the box, ...

    @property
    def stage(self) -> str:
        return stage_of(self.rule)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": str(self.category),
            "score": round(self.score, 4),
            "rule": self.rule,
            "stage": self.stage,
            "source": self.source,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Decision:
    decision: Action
    categories: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    rule: str | None = None  # the rule behind the strongest finding that set the decision
    policy: str = ""  # profile@version
    signals: list[Signal] = field(default_factory=list)
    stage: str | None = None  # the stage of the finding that set the decision
    # the highest score per category within each stage that reported any
    stage_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    language: str | None = None  # the prompt's language, where it was identified
    band: str | None = None  # "block", "review", "band", "language" or "guard"
    guard: str | None = None  # a guard model must still check it (its registered name)

    def public(self) -> dict[str, Any]:
        """What a user sees: no scores or matched terms that would help evade the checks;
        a request held for review says so."""
        shown: dict[str, Any] = {"decision": str(self.decision), "categories": self.categories}
        if self.decision is Action.REVIEW:
            shown["message"] = REVIEW_MESSAGE
        return shown

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": str(self.decision),
            "categories": self.categories,
            "scores": self.scores,
            "rule": self.rule,
            "stage": self.stage,
            "stages": self.stage_scores,
            "language": self.language,
            "band": self.band,
            "guard": self.guard,
            "policy": self.policy,
            "signals": [s.to_dict() for s in self.signals],
        }
