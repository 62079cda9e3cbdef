"""Policy profiles as data: versioned YAML files (profiles/*.yaml, plus an operator's own in
RF_POLICY_DIR) that map each category to an action, a threshold and a lower review threshold.

A profile may `extend` another and relax categories; `sexual_minors` can never be relaxed.
`decide` turns detector signals into one decision, three-way:

* a category whose score reached its `threshold` takes the category's action (block, review
  or allow);
* below that, a score that reached the category's `review_threshold` (the review band) sends
  the request to a person, unless the category's action is allow;
* the strictest outcome wins (block > review > allow), and among equals the highest score.

The decision records which stage (rules, minilm, guard, ...) produced the deciding finding and
the scores per stage. `unsupported_language` (review | allow | block, default review) is what
happens to a prompt in a language no configured stage covers (governance/language.py).
`guard.prompts` says which prompts an operator's guard model sees: `all`, `band` (only those
the fast stages put in the review band or could not cover) or `off` (the default);
`guard.name` picks the registered guard (empty: the first registered by name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from reelforge.errors import InvalidRequest
from reelforge.governance.signals import Action, Category, Decision, Signal, stage_of

_SEVERITY = {Action.ALLOW: 0, Action.REVIEW: 1, Action.BLOCK: 2}
_NEVER_RELAXED = frozenset({Category.SEXUAL_MINORS})
BUILTIN_PROFILES = ("default", "cn", "eu")


GUARD_MODES = ("off", "all", "band")
TEXT_SOURCES = frozenset({"prompt", "negative_prompt", "overlay", "text"})


@dataclass(frozen=True)
class CategoryRule:
    action: Action
    threshold: float
    review_threshold: float | None = None  # the review band's floor for texts; None: none
    # the band for images and frames (nudenet, likeness, an image guard): off unless a profile
    # sets it, since the text band was calibrated on prompts, not on frames
    image_review_threshold: float | None = None

    def outcome(self, score: float, *, image: bool = False) -> tuple[Action, str] | None:
        """What a score in this category leads to and where it fell: the action and
        "block"/"review" at or above the threshold, (review, "band") in the review band;
        None when it leads to nothing."""
        if self.action is Action.ALLOW:
            return None
        if score >= self.threshold:
            return self.action, str(self.action)
        low = self.image_review_threshold if image else self.review_threshold
        if low is not None and score >= low:
            return Action.REVIEW, "band"
        return None


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
    unsupported_language: Action = Action.REVIEW
    guard: str = "off"  # which prompts the guard model sees: off | all | band
    guard_name: str = ""
    source: str = field(default="", compare=False)

    @property
    def ref(self) -> str:
        """profile@version: recorded with every decision and part of result-cache keys."""
        return f"{self.name}@{self.version}"

    def decide(
        self,
        signals: list[Signal],
        *,
        language: str | None = None,
        uncovered: bool = False,
        unresolved: str | None = None,
        guard_settled: bool = False,
    ) -> Decision:
        """Three-way: the strictest outcome among the signals (see the module docstring);
        ``uncovered``: no configured stage covers the text's ``language``, which adds the
        profile's ``unsupported_language`` outcome (stage and band "language");
        ``unresolved``: a stage that was asked gave no usable answer (a guard model's
        unparseable reply, named by this rule), which means review at least, never allow;
        ``guard_settled``: a guard model answered, so the fast text stages' review band is
        settled by it — their signals count only from their block thresholds (the guard's
        own signals, and image signals, keep their bands)."""
        scores: dict[str, float] = {}
        stages: dict[str, dict[str, float]] = {}
        for sig in signals:
            key = str(sig.category)
            scores[key] = max(scores.get(key, 0.0), sig.score)
            per_stage = stages.setdefault(sig.stage, {})
            per_stage[key] = round(max(per_stage.get(key, 0.0), sig.score), 4)
        decision, rule, stage, band, strongest = Action.ALLOW, None, None, None, -1.0
        at_threshold: set[str] = set()  # categories that reached their threshold
        in_band: set[str] = set()  # categories only in their review band
        for sig in signals:
            image = sig.source not in TEXT_SOURCES
            outcome = self.rules[sig.category].outcome(sig.score, image=image)
            if outcome is None:
                continue
            if guard_settled and outcome[1] == "band" and not image and sig.stage != "guard":
                continue
            action, where = outcome
            (in_band if where == "band" else at_threshold).add(str(sig.category))
            severity = _SEVERITY[action]
            if severity > _SEVERITY[decision] or (
                severity == _SEVERITY[decision] and sig.score > strongest
            ):
                decision, rule, stage, band, strongest = (
                    action,
                    sig.rule,
                    sig.stage,
                    where,
                    sig.score,
                )
        if unresolved is not None and _SEVERITY[Action.REVIEW] > _SEVERITY[decision]:
            decision, rule, stage, band = Action.REVIEW, unresolved, stage_of(unresolved), "guard"
        if uncovered and _SEVERITY[self.unsupported_language] > _SEVERITY[decision]:
            decision, rule, stage, band = (
                self.unsupported_language,
                f"language:{language or 'unknown'}",
                "language",
                "language",
            )
        # the categories named: those that reached their threshold; a review adds those in
        # the band (a blocked prompt does not list what was only in the review band)
        fired = sorted(at_threshold | in_band if decision is Action.REVIEW else at_threshold)
        return Decision(
            decision=decision,
            categories=fired,
            scores={k: round(v, 4) for k, v in sorted(scores.items())},
            rule=rule,
            policy=self.ref,
            signals=list(signals),
            stage=stage,
            stage_scores={k: dict(sorted(v.items())) for k, v in sorted(stages.items())},
            language=language,
            band=band,
        )

    def in_band(self, signals: list[Signal]) -> bool:
        """Whether the strictest outcome of ``signals`` is the review band (not a block)."""
        return self.decide(signals).band == "band"


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
            review, image_review = raw.get("review_threshold"), raw.get("image_review_threshold")
            rule = CategoryRule(
                Action(raw.get("action", "block")),
                float(raw.get("threshold", 0.5)),
                float(review) if review is not None else None,
                float(image_review) if image_review is not None else None,
            )
        except (ValueError, TypeError, AttributeError):
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
        for key, low in (
            ("review_threshold", rule.review_threshold),
            ("image_review_threshold", rule.image_review_threshold),
        ):
            if low is not None and not 0.0 <= low <= rule.threshold:
                raise InvalidRequest(
                    f"policy profile {name}: {category} {key} must be in "
                    f"[0, threshold] ([0, {rule.threshold}])",
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
    try:
        unsupported = Action(str(data.get("unsupported_language", "review")))
    except ValueError:
        raise InvalidRequest(
            f"policy profile {name}: unsupported_language must be review, allow or block",
            code="invalid_profile",
        ) from None
    guard = data.get("guard") or {}
    if isinstance(guard, dict) and guard.get("prompts") is False:  # YAML 1.1 reads off as false
        guard = {**guard, "prompts": "off"}
    if not isinstance(guard, dict) or str(guard.get("prompts", "off")) not in GUARD_MODES:
        raise InvalidRequest(
            f"policy profile {name}: guard.prompts must be one of {', '.join(GUARD_MODES)}",
            code="invalid_profile",
        )
    return PolicyProfile(
        name=name,
        version=str(data.get("version", "0")),
        label=str(data.get("label", "AI-generated")),
        rules=rules,
        output_every_seconds=float(output.get("every_seconds", 1.0)),
        output_max_frames=int(output.get("max_frames", 8)),
        match_distance=float(likeness.get("match_distance", 0.5)),
        unlabelled_export=bool(data.get("unlabelled_export", False)),
        unsupported_language=unsupported,
        guard=str(guard.get("prompts", "off")),
        guard_name=str(guard.get("name") or ""),
        source=source,
    )
