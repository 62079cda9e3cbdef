"""Policy profiles as data: versioned YAML files (profiles/*.yaml, plus an operator's own in
RF_POLICY_DIR) that map each category to an action and a threshold.

A profile may `extend` another and relax categories; `sexual_minors` can never be relaxed.
`decide` turns detector signals into one decision: the strictest action among the
categories whose score reached the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from reelforge.errors import InvalidRequest
from reelforge.governance.signals import Action, Category, Decision, Signal

_SEVERITY = {Action.ALLOW: 0, Action.REVIEW: 1, Action.BLOCK: 2}
_NEVER_RELAXED = frozenset({Category.SEXUAL_MINORS})
BUILTIN_PROFILES = ("default", "cn", "eu")


@dataclass(frozen=True)
class CategoryRule:
    action: Action
    threshold: float


@dataclass(frozen=True)
class PolicyProfile:
    name: str
    version: str
    label: str
    rules: dict[Category, CategoryRule]
    output_every_seconds: float = 1.0
    output_max_frames: int = 8
    match_distance: float = 0.5
    # Whether an account that agreed to the duties may export without the visible label (the
    # implicit marks — metadata, watermark, C2PA — are always kept).
    unlabelled_export: bool = False
    source: str = field(default="", compare=False)

    @property
    def ref(self) -> str:
        """profile@version: recorded with every decision and part of result-cache keys."""
        return f"{self.name}@{self.version}"

    def decide(self, signals: list[Signal]) -> Decision:
        """The strictest action among categories whose score reached their threshold."""
        scores: dict[str, float] = {}
        for sig in signals:
            key = str(sig.category)
            scores[key] = max(scores.get(key, 0.0), sig.score)
        decision, rule, strongest = Action.ALLOW, None, -1.0
        fired: list[str] = []
        for sig in signals:
            cat_rule = self.rules[sig.category]
            if sig.score < cat_rule.threshold or cat_rule.action is Action.ALLOW:
                continue
            if str(sig.category) not in fired:
                fired.append(str(sig.category))
            severity = _SEVERITY[cat_rule.action]
            if severity > _SEVERITY[decision] or (
                severity == _SEVERITY[decision] and sig.score > strongest
            ):
                decision, rule, strongest = cat_rule.action, sig.rule, sig.score
        return Decision(
            decision=decision,
            categories=sorted(fired),
            scores={k: round(v, 4) for k, v in sorted(scores.items())},
            rule=rule,
            policy=self.ref,
            signals=list(signals),
        )


def _read(name: str, policy_dir: Path | None) -> tuple[dict[str, Any], str]:
    if policy_dir is not None:
        candidate = policy_dir / f"{name}.yaml"
        if candidate.is_file():
            return _parse(candidate.read_text(encoding="utf-8"), str(candidate)), str(candidate)
    if name in BUILTIN_PROFILES:
        text = resources.files("reelforge.governance").joinpath("profiles", f"{name}.yaml")
        return _parse(text.read_text(encoding="utf-8"), f"builtin:{name}"), f"builtin:{name}"
    where = f" or in {policy_dir}" if policy_dir else ""
    raise InvalidRequest(
        f"no policy profile {name!r}: built-in ones are {', '.join(BUILTIN_PROFILES)}{where}",
        code="unknown_profile",
        field="profile",
    )


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidRequest(
            f"policy profile {where} is not valid YAML: {exc}", code="invalid_profile"
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest(f"policy profile {where} must be a mapping", code="invalid_profile")
    return data


def load_profile(name: str, policy_dir: Path | None = None) -> PolicyProfile:
    """Load a profile by name, resolving `extends` chains (cycles are refused)."""
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    current: str | None = name
    source = ""
    while current is not None:
        if current in seen:
            raise InvalidRequest(
                f"policy profiles extend each other in a loop: {current}", code="invalid_profile"
            )
        seen.add(current)
        data, where = _read(current, policy_dir)
        source = source or where
        chain.append(data)
        parent = data.get("extends")
        current = str(parent) if parent is not None else None
    merged: dict[str, Any] = {"categories": {}}
    for data in reversed(chain):  # base first, then each refinement
        for key, value in data.items():
            if key == "categories":
                for cat, rule in (value or {}).items():
                    merged["categories"][cat] = {**merged["categories"].get(cat, {}), **rule}
            elif isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return _build(merged, name, source)


def _build(data: dict[str, Any], name: str, source: str) -> PolicyProfile:
    rules: dict[Category, CategoryRule] = {}
    for category in Category:
        raw = data["categories"].get(str(category))
        if raw is None:
            raise InvalidRequest(
                f"policy profile {name} does not say what to do with {category}",
                code="invalid_profile",
            )
        try:
            rule = CategoryRule(
                Action(raw.get("action", "block")), float(raw.get("threshold", 0.5))
            )
        except (ValueError, TypeError):
            raise InvalidRequest(
                f"policy profile {name}: {category} needs an action of allow, "
                f"review or block and a threshold in [0, 1]",
                code="invalid_profile",
            ) from None
        if not 0.0 <= rule.threshold <= 1.0:
            raise InvalidRequest(
                f"policy profile {name}: {category} threshold must be in [0, 1]",
                code="invalid_profile",
            )
        if category in _NEVER_RELAXED and rule.action is not Action.BLOCK:
            raise InvalidRequest(
                f"policy profile {name} may not relax {category}", code="invalid_profile"
            )
        rules[category] = rule
    unknown = set(data["categories"]) - {str(c) for c in Category}
    if unknown:
        raise InvalidRequest(
            f"policy profile {name} names unknown categories: {', '.join(sorted(unknown))}",
            code="invalid_profile",
        )
    output = data.get("output_check") or {}
    likeness = data.get("likeness") or {}
    return PolicyProfile(
        name=name,
        version=str(data.get("version", "0")),
        label=str(data.get("label", "AI-generated")),
        rules=rules,
        output_every_seconds=float(output.get("every_seconds", 1.0)),
        output_max_frames=int(output.get("max_frames", 8)),
        match_distance=float(likeness.get("match_distance", 0.5)),
        unlabelled_export=bool(data.get("unlabelled_export", False)),
        source=source,
    )
