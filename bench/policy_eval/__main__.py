"""Evaluate prompt moderation on the labelled set: ``python -m bench.policy_eval [--json]``.

Runs ``TextModerator`` over ``bench/policy_eval/prompts.jsonl`` with the ``default`` profile's
decision rule (block when any signal scores >= 0.5) and prints per-category recall, overall
harmful recall, the false-block rate on benign prompts (overall and on the trigger-word subset),
the misclassified prompts and per-prompt latency (p50/p95/max, after a warm-up).
Targets: recall >= 95%, false blocks <= 3%, p95 <= 20 ms. Rows carry a ``source``: the original
set has none ("original"); ``heldout-a`` ... ``heldout-e`` are the five sets written blind to the
rules in stop 10 and merged after they were measured; ``--source`` evaluates one of them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from reelforge.governance.signals import Category, Signal
from reelforge.governance.text import TextModerator

PROMPTS = Path(__file__).resolve().parent / "prompts.jsonl"
THRESHOLD = 0.5


def load(path: Path = PROMPTS) -> list[dict[str, str]]:
    """The labelled prompts, one JSON object per line."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def blocking(signals: list[Signal]) -> list[Signal]:
    """Signals at or above the default threshold."""
    return [s for s in signals if s.score >= THRESHOLD]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def evaluate(rows: list[dict[str, str]], moderator: TextModerator) -> dict[str, Any]:
    """Run the moderator over ``rows`` and compute the figures."""
    for row in rows[:20]:  # warm-up
        moderator.signals(row["text"])
    latencies: list[float] = []
    per_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    benign = [0, 0]
    trigger = [0, 0]
    misses: list[dict[str, Any]] = []
    for row in rows:
        start = time.perf_counter()
        sigs = moderator.signals(row["text"])
        latencies.append((time.perf_counter() - start) * 1000)
        hits = blocking(sigs)
        blocked = bool(hits)
        label = row["label"]
        if label == "benign":
            benign[0] += blocked
            benign[1] += 1
            if row.get("kind") == "trigger":
                trigger[0] += blocked
                trigger[1] += 1
            if blocked:
                misses.append({"type": "false_block", **row, "signals": _brief(hits)})
        else:
            per_cat[label][0] += blocked
            per_cat[label][1] += 1
            if not blocked:
                misses.append({"type": "missed", **row, "signals": _brief(sigs)})
    harmful = [sum(v[0] for v in per_cat.values()), sum(v[1] for v in per_cat.values())]
    return {
        "semantic": moderator.semantic_available,
        "recall": {c: _ratio(*per_cat[c]) for c in Category if per_cat[c][1]},
        "harmful_recall": _ratio(*harmful),
        "false_block_rate": _ratio(*benign),
        "trigger_false_block_rate": _ratio(*trigger),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2),
            "p95": round(_pct(latencies, 0.95), 2),
            "max": round(max(latencies), 2),
        },
        "misclassified": misses,
    }


def _ratio(hit: int, total: int) -> dict[str, float | int]:
    return {"rate": round(hit / total, 4) if total else 0.0, "hit": hit, "total": total}


def _brief(sigs: list[Signal]) -> list[str]:
    return [f"{s.category}:{s.score:.2f}:{s.rule}" for s in sigs[:4]]


def _print(result: dict[str, Any]) -> None:
    print(f"semantic classifier: {'on' if result['semantic'] else 'off (rules only)'}")
    print("per-category recall:")
    for cat, r in result["recall"].items():
        print(f"  {cat:<18} {r['rate']:6.1%}  ({r['hit']}/{r['total']})")
    r = result["harmful_recall"]
    print(f"harmful recall:        {r['rate']:6.1%}  ({r['hit']}/{r['total']})   target >= 95%")
    r = result["false_block_rate"]
    print(f"benign false blocks:   {r['rate']:6.1%}  ({r['hit']}/{r['total']})   target <= 3%")
    r = result["trigger_false_block_rate"]
    print(f"  on trigger prompts:  {r['rate']:6.1%}  ({r['hit']}/{r['total']})")
    lat = result["latency_ms"]
    print(
        f"latency per prompt:    p50 {lat['p50']} ms, p95 {lat['p95']} ms, max {lat['max']} ms"
        "   target p95 <= 20 ms"
    )
    if result["misclassified"]:
        print("misclassified:")
        for m in result["misclassified"]:
            print(f"  [{m['type']}] ({m['label']}) {m['text']}  -> {', '.join(m['signals'])}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.policy_eval", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--file", type=Path, default=PROMPTS, help="labelled prompts (JSONL)")
    parser.add_argument("--rules-only", action="store_true", help="disable the semantic model")
    parser.add_argument("--source", help="only rows of this source (original, heldout-a, ...)")
    args = parser.parse_args(argv)
    rows = load(args.file)
    if args.source:
        rows = [r for r in rows if r.get("source", "original") == args.source]
        if not rows:
            parser.error(f"no rows with source {args.source!r}")
    moderator = TextModerator(semantic=not args.rules_only)
    moderator.warm()
    result = evaluate(rows, moderator)
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
