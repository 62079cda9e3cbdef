"""Evaluate prompt moderation on a labelled set: ``python -m bench.policy_eval [--json]``.

Runs the text stages over ``bench/policy_eval/prompts.jsonl`` (or ``--file``) and decides each
prompt three ways under a policy profile (``--profile``, default ``default``): its review
band, its ``unsupported_language`` rule and, with ``--guard NAME`` (a registered guard) or
``--guard-path DIR --guard-family F``, a guard-model stage on the prompts the profile routes
to it (``--guard-prompts all|band``, default band). Figures:

* recall counting block and review (a person sees it), block-only recall, per category;
* false blocks and benign prompts sent to review (overall and on the trigger-word subset);
* the same by language (the row's ``lang``, else the identified one; ``und``: nothing
  asserted) and by the stage that decided (rules, minilm, multilingual, guard, language);
* ``--stages``: the same with each optional stage left out in turn (rules alone, + minilm,
  + multilingual, + guard) — a stage that is not installed or given is skipped;
* ``--curve``: the trade-off over the review threshold (all categories at once);
* latency per prompt (p50/p95/max, after a warm-up) of the fast stages.

Targets: recall >= 95%, false blocks <= 1%, benign sent to review <= 5%, p95 <= 20 ms. Rows
carry a ``source``: the original set has none ("original"); ``heldout-a`` ... ``heldout-g``
were written blind to the rules and merged after they were measured; ``blind_i17.jsonl``
(``--file bench/policy_eval/blind_i17.jsonl``) is issue 17's multilingual blind set, scored
once before any change for it. ``--source`` evaluates one source.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reelforge.governance.guards.stage import GuardVerdict
from reelforge.governance.language import identify
from reelforge.governance.policy import PolicyProfile, load_profile
from reelforge.governance.signals import Action, Category, Decision, Signal
from reelforge.governance.text import TextModerator

PROMPTS = Path(__file__).resolve().parent / "prompts.jsonl"
THRESHOLD = 0.5
CURVE = (0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1)

StageFn = Callable[[str], list[Signal]]
GuardFn = Callable[[str], GuardVerdict]


def load(path: Path = PROMPTS) -> list[dict[str, str]]:
    """The labelled prompts, one JSON object per line."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def blocking(signals: list[Signal]) -> list[Signal]:
    """Signals at or above the default block threshold."""
    return [s for s in signals if s.score >= THRESHOLD]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclasses.dataclass
class Scored:
    """One row through the stages: its signals per stage and its language."""

    row: dict[str, str]
    fast: list[Signal]  # rules (+ minilm when on)
    extra: list[Signal]  # optional embedding stages (multilingual)
    guard: GuardVerdict | None  # None: the guard did not see it
    language: str | None
    languages: tuple[str, ...]  # every language asserted (governance/language.py)


def covered_by(moderator: TextModerator, *more: frozenset[str]) -> frozenset[str]:
    """The languages the moderator's stages and ``more`` stages cover."""
    return frozenset().union(*moderator.stage_languages().values(), *more)


def score_rows(
    rows: list[dict[str, str]],
    moderator: TextModerator,
    *,
    extra: StageFn | None = None,
    latencies: list[float] | None = None,
) -> list[Scored]:
    """Signals and language of every row (the guard is consulted later, per profile)."""
    out = []
    for row in rows:
        start = time.perf_counter()
        fast = moderator.signals(row["text"])
        reading = identify(row["text"])
        if latencies is not None:
            latencies.append((time.perf_counter() - start) * 1000)
        more = extra(row["text"]) if extra is not None else []
        out.append(Scored(row, fast, more, None, reading.language, reading.languages))
    return out


def decide(
    profile: PolicyProfile,
    item: Scored,
    covered: frozenset[str],
    guard: GuardFn | None = None,
    guard_mode: str = "band",
    guard_languages: frozenset[str] = frozenset(),
) -> Decision:
    """The profile's decision on a scored row (``covered``: the languages of the fast and
    embedding stages), consulting the guard where the profile's routing sends it (all
    prompts, or those in the band or in an uncovered language)."""
    signals = item.fast + item.extra
    uncovered = any(lang not in covered for lang in item.languages)
    first = profile.decide(signals, language=item.language, uncovered=uncovered)
    if guard is None or first.decision is Action.BLOCK:
        return first
    if guard_mode == "band" and first.band not in ("band", "language"):
        return first
    if item.guard is None:
        item.guard = guard(item.row["text"])
    verdict = item.guard  # as the moderation task decides (services/governance/moderation)
    languages = covered | guard_languages if verdict.parsed else covered
    uncovered = any(lang not in languages for lang in item.languages)
    return profile.decide(
        signals + verdict.signals,
        language=item.language,
        uncovered=uncovered,
        unresolved=verdict.unresolved,
        guard_settled=verdict.parsed,
    )


def _ratio(hit: int, total: int) -> dict[str, float | int]:
    return {"rate": round(hit / total, 4) if total else 0.0, "hit": hit, "total": total}


def figures(
    scored: list[Scored],
    profile: PolicyProfile,
    covered: frozenset[str],
    guard: GuardFn | None = None,
    guard_mode: str = "band",
    guard_languages: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Recall (block+review, block only), false blocks, benign to review; per category, per
    language, per deciding stage."""
    per_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # flagged, blocked, total
    per_lang: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    per_stage: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # harmful, benign decided
    benign = [0, 0, 0]  # blocked, reviewed, total
    trigger = [0, 0, 0]
    misses: list[dict[str, Any]] = []
    for item in scored:
        d = decide(profile, item, covered, guard, guard_mode, guard_languages)
        row, label = item.row, item.row["label"]
        lang = row.get("lang") or item.language or "und"
        blocked, reviewed = d.decision is Action.BLOCK, d.decision is Action.REVIEW
        stats = per_lang[lang]  # harmful: flagged, blocked, total; benign: blocked, rev, total
        if label == "benign":
            benign[0] += blocked
            benign[1] += reviewed
            benign[2] += 1
            stats[3] += blocked
            stats[4] += reviewed
            stats[5] += 1
            if row.get("kind") == "trigger":
                trigger[0] += blocked
                trigger[1] += reviewed
                trigger[2] += 1
            if blocked or reviewed:
                per_stage[d.stage or "?"][1] += 1
                misses.append({"type": f"benign_{d.decision}", **row, "signals": _brief(d, item)})
        else:
            per_cat[label][0] += blocked or reviewed
            per_cat[label][1] += blocked
            per_cat[label][2] += 1
            stats[0] += blocked or reviewed
            stats[1] += blocked
            stats[2] += 1
            if blocked or reviewed:
                per_stage[d.stage or "?"][0] += 1
            else:
                misses.append({"type": "missed", **row, "signals": _brief(d, item)})
    flagged = sum(v[0] for v in per_cat.values())
    blocked_all = sum(v[1] for v in per_cat.values())
    harmful = sum(v[2] for v in per_cat.values())
    return {
        "recall": {c: _ratio(*per_cat[c][::2]) for c in Category if per_cat[c][2]},
        "recall_block": {c: _ratio(*per_cat[c][1:]) for c in Category if per_cat[c][2]},
        "recall_block_review": _ratio(flagged, harmful),
        "harmful_recall": _ratio(blocked_all, harmful),  # block only (the old figure)
        "false_block_rate": _ratio(benign[0], benign[2]),
        "benign_review_rate": _ratio(benign[1], benign[2]),
        "trigger_false_block_rate": _ratio(trigger[0], trigger[2]),
        "trigger_review_rate": _ratio(trigger[1], trigger[2]),
        "by_language": {
            lang: {
                "recall_block_review": _ratio(v[0], v[2]),
                "recall_block": _ratio(v[1], v[2]),
                "false_block_rate": _ratio(v[3], v[5]),
                "benign_review_rate": _ratio(v[4], v[5]),
            }
            for lang, v in sorted(per_lang.items(), key=lambda kv: -(kv[1][2] + kv[1][5]))
        },
        "by_stage": {
            stage: {"harmful_caught": v[0], "benign_flagged": v[1]}
            for stage, v in sorted(per_stage.items())
        },
        "misclassified": misses,
    }


def with_review_threshold(profile: PolicyProfile, value: float) -> PolicyProfile:
    """``profile`` with every category's review threshold at ``value`` (capped at its
    threshold)."""
    rules = {
        cat: dataclasses.replace(rule, review_threshold=min(value, rule.threshold))
        for cat, rule in profile.rules.items()
    }
    return dataclasses.replace(profile, rules=rules)


def curve(
    scored: list[Scored], profile: PolicyProfile, covered: frozenset[str]
) -> list[dict[str, Any]]:
    """Benign to review, false blocks, recall (block+review) and block-only recall over the
    review threshold."""
    out = []
    for value in CURVE:
        f = figures(scored, with_review_threshold(profile, value), covered)
        out.append(
            {
                "review_threshold": value,
                "benign_review_rate": f["benign_review_rate"]["rate"],
                "false_block_rate": f["false_block_rate"]["rate"],
                "recall_block_review": f["recall_block_review"]["rate"],
                "recall_block": f["harmful_recall"]["rate"],
            }
        )
    return out


def evaluate(
    rows: list[dict[str, str]],
    moderator: TextModerator,
    profile: PolicyProfile | None = None,
    *,
    guard: GuardFn | None = None,
    guard_mode: str = "band",
    guard_languages: frozenset[str] = frozenset(),
    extra: StageFn | None = None,
    extra_languages: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Run the stages over ``rows`` under ``profile`` (default: the built-in default)."""
    chosen = profile or load_profile("default")
    for row in rows[:20]:  # warm-up
        moderator.signals(row["text"])
        identify(row["text"])
    latencies: list[float] = []
    scored = score_rows(rows, moderator, extra=extra, latencies=latencies)
    covered = covered_by(moderator, extra_languages)
    result = figures(scored, chosen, covered, guard, guard_mode, guard_languages)
    return {
        "semantic": moderator.semantic_available,
        "profile": chosen.ref,
        "stages": sorted(moderator.stage_languages())
        + (["multilingual"] if extra else [])
        + ([f"guard ({guard_mode})"] if guard else []),
        **result,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2),
            "p95": round(_pct(latencies, 0.95), 2),
            "max": round(max(latencies), 2),
        },
        "scored": scored,
        "covered": covered,
    }


def _brief(d: Decision, item: Scored) -> list[str]:
    shown = [f"decided:{d.stage}:{d.band}", f"lang:{item.language}"]
    guarded = item.guard.signals if item.guard is not None else []
    signals = sorted(item.fast + item.extra + guarded, key=lambda s: -s.score)
    return shown + [f"{s.category}:{s.score:.2f}:{s.rule}" for s in signals[:4]]


def _line(name: str, r: dict[str, Any], target: str = "") -> str:
    return f"{name:<30} {r['rate']:6.1%}  ({r['hit']}/{r['total']})  {target}"


def _print(result: dict[str, Any], show_misses: bool) -> None:
    print(f"profile {result['profile']}; stages: {', '.join(result['stages'])}")
    print("per-category recall (block+review / block only):")
    for cat, r in result["recall"].items():
        b = result["recall_block"][cat]
        print(
            f"  {cat:<18} {r['rate']:6.1%} / {b['rate']:6.1%}  "
            f"({r['hit']}, {b['hit']}/{r['total']})"
        )
    print(_line("recall, block + review:", result["recall_block_review"], "target >= 95%"))
    print(_line("recall, block only:", result["harmful_recall"]))
    print(_line("benign false blocks:", result["false_block_rate"], "target <= 1%"))
    print(_line("benign sent to review:", result["benign_review_rate"], "target <= 5%"))
    print(_line("  trigger prompts blocked:", result["trigger_false_block_rate"]))
    print(_line("  trigger prompts to review:", result["trigger_review_rate"]))
    print("by language (recall b+r, block only, false blocks, benign to review):")
    for lang, f in result["by_language"].items():
        parts = [
            f"{f[k]['rate']:6.1%} ({f[k]['hit']}/{f[k]['total']})" if f[k]["total"] else "   -  "
            for k in (
                "recall_block_review",
                "recall_block",
                "false_block_rate",
                "benign_review_rate",
            )
        ]
        print(f"  {lang:<5} " + "  ".join(parts))
    print("by deciding stage (harmful caught, benign blocked or sent to review):")
    for stage, f in result["by_stage"].items():
        print(f"  {stage:<14} {f['harmful_caught']:5d} {f['benign_flagged']:5d}")
    lat = result["latency_ms"]
    print(
        f"latency per prompt (fast stages + language): p50 {lat['p50']} ms, p95 {lat['p95']} "
        f"ms, max {lat['max']} ms   target p95 <= 20 ms"
    )
    if show_misses and result["misclassified"]:
        print("misclassified:")
        for m in result["misclassified"]:
            print(f"  [{m['type']}] ({m['label']}) {m['text']}  -> {', '.join(m['signals'])}")


def _guard_from_args(args: argparse.Namespace) -> tuple[GuardFn | None, frozenset[str]]:
    if not (args.guard or args.guard_path):
        return None, frozenset()
    from reelforge.governance.guards.stage import GuardStage

    if args.guard:
        from reelforge.app.bootstrap import bootstrap
        from reelforge.config import load_settings
        from reelforge.services.governance.guards import stage_for

        platform = bootstrap(load_settings())
        try:
            stage: GuardStage = stage_for(platform, args.guard)
        finally:
            platform.close()
    else:
        stage = GuardStage(
            "bench", args.guard_family, Path(args.guard_path), args.guard_device, args.guard_dtype
        )
    return stage.check, stage.languages


def _extra_from_args(args: argparse.Namespace) -> tuple[StageFn | None, frozenset[str]]:
    if not args.multilingual:
        return None, frozenset()
    from reelforge.governance.text.multilingual import MultilingualStage

    stage = MultilingualStage(Path(args.multilingual))
    return (lambda text: stage.signals(text, "prompt")), stage.languages


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.policy_eval", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--file", type=Path, default=PROMPTS, help="labelled prompts (JSONL)")
    parser.add_argument("--profile", default="default", help="policy profile (default: default)")
    parser.add_argument("--rules-only", action="store_true", help="disable the MiniLM stage")
    parser.add_argument("--source", help="only rows of this source (original, heldout-a, ...)")
    parser.add_argument("--curve", action="store_true", help="the review-threshold trade-off")
    parser.add_argument("--stages", action="store_true", help="with each optional stage off")
    parser.add_argument("--misses", action="store_true", help="list the misclassified prompts")
    parser.add_argument("--guard", help="a registered guard (reelforge guards add)")
    parser.add_argument("--guard-path", help="a guard model directory (instead of --guard)")
    parser.add_argument("--guard-family", default="llama-guard")
    parser.add_argument("--guard-device", default="cpu")
    parser.add_argument("--guard-dtype", default="fp32")
    parser.add_argument("--guard-prompts", choices=("all", "band"), default="band")
    parser.add_argument("--multilingual", help="a sentence-transformers directory")
    args = parser.parse_args(argv)
    rows = load(args.file)
    if args.source:
        rows = [r for r in rows if r.get("source", "original") == args.source]
        if not rows:
            parser.error(f"no rows with source {args.source!r}")
    profile = load_profile(args.profile)
    moderator = TextModerator(semantic=not args.rules_only)
    moderator.warm()
    guard, guard_languages = _guard_from_args(args)
    extra, extra_languages = _extra_from_args(args)
    result = evaluate(
        rows,
        moderator,
        profile,
        guard=guard,
        guard_mode=args.guard_prompts,
        guard_languages=guard_languages,
        extra=extra,
        extra_languages=extra_languages,
    )
    scored: list[Scored] = result.pop("scored")
    covered: frozenset[str] = result.pop("covered")
    report: dict[str, Any] = {"full": result}
    if args.curve:
        report["curve"] = curve(scored, profile, covered)
    if args.stages:
        report["without"] = _without(rows, profile, result, scored, moderator, covered)
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2, default=str)
        print()
        return 0
    _print(result, args.misses)
    if "curve" in report:
        print("review threshold: benign to review, false blocks, recall b+r, block only")
        for c in report["curve"]:
            print(
                f"  {c['review_threshold']:.2f}  {c['benign_review_rate']:6.1%}  "
                f"{c['false_block_rate']:6.1%}  {c['recall_block_review']:6.1%}  "
                f"{c['recall_block']:6.1%}"
            )
    for name, f in report.get("without", {}).items():
        print(
            f"{name:<28} recall b+r {f['recall_block_review']['rate']:6.1%}  block "
            f"{f['harmful_recall']['rate']:6.1%}  false blocks {f['false_block_rate']['rate']:6.1%}"
            f"  benign to review {f['benign_review_rate']['rate']:6.1%}"
        )
    return 0


def _without(
    rows: list[dict[str, str]],
    profile: PolicyProfile,
    full: dict[str, Any],
    scored: list[Scored],
    moderator: TextModerator,
    covered: frozenset[str],
) -> dict[str, dict[str, Any]]:
    """The figures with optional stages left out: rules alone, rules + MiniLM (the fast
    stages), + the multilingual stage, and all given stages."""
    out: dict[str, dict[str, Any]] = {}
    rules = TextModerator(semantic=False)
    only = score_rows(rows, rules)
    out["rules only"] = _brief_figures(figures(only, profile, covered_by(rules)))
    fast = [dataclasses.replace(s, extra=[], guard=None) for s in scored]
    if moderator.semantic_available:
        out["rules + minilm"] = _brief_figures(figures(fast, profile, covered_by(moderator)))
    if any(s.extra for s in scored):
        no_guard = [dataclasses.replace(s, guard=None) for s in scored]
        out["+ multilingual"] = _brief_figures(figures(no_guard, profile, covered))
    out["all given stages"] = _brief_figures(full)
    return out


def _brief_figures(f: dict[str, Any]) -> dict[str, Any]:
    keep = ("recall_block_review", "harmful_recall", "false_block_rate", "benign_review_rate")
    return {k: f[k] for k in keep}


if __name__ == "__main__":
    sys.exit(main())
