"""What the detectors report and what the policy decides, as plain data.

Detectors (text, image, faces) only report `Signal`s: a category, a score in [0, 1] and the
rule that produced it. The policy (profiles/*.yaml) turns signals into a `Decision`.
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": str(self.category),
            "score": round(self.score, 4),
            "rule": self.rule,
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

    def public(self) -> dict[str, Any]:
        """What a user sees: no scores or matched terms that would help evade the checks."""
        return {"decision": str(self.decision), "categories": self.categories}

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": str(self.decision),
            "categories": self.categories,
            "scores": self.scores,
            "rule": self.rule,
            "policy": self.policy,
            "signals": [s.to_dict() for s in self.signals],
        }
