"""Guard-model families: how each is asked, how its answer is read (strictly), and how its
hazard taxonomy maps onto reelforge's categories. Pure Python — no torch here; the model runs
in ``guards/runtime.py``.

**llama-guard** (Llama Guard 3 1B/8B, Llama Guard 4). The model's chat template carries the
MLCommons hazard taxonomy; it answers ``safe``, or ``unsafe`` and on the next line the codes
of the violated categories, comma-separated (``unsafe\\nS1,S10``). Codes (Llama Guard 3/4
model cards): S1 violent crimes, S2 non-violent crimes, S3 sex-related crimes, S4 child sexual
exploitation, S5 defamation, S6 specialized advice, S7 privacy, S8 intellectual property, S9
indiscriminate weapons, S10 hate, S11 suicide and self-harm, S12 sexual content, S13 elections,
S14 code interpreter abuse. Covered languages (model card): English, French, German, Hindi,
Italian, Portuguese, Spanish, Thai.

**qwen3guard** (Qwen3Guard-Gen 0.6B/4B/8B). Its chat template holds its policy; it answers
``Safety: Safe|Unsafe|Controversial`` and a line ``Categories: ...`` naming Violent,
Non-violent Illegal Acts, Sexual Content or Sexual Acts, PII, Suicide & Self-Harm, Unethical
Acts, Politically Sensitive Topics, Copyright Violation, Jailbreak or None (a response check
adds ``Refusal:``, which a prompt check does not ask for). 119 languages (model card): every
language the identifier knows counts as covered.

**shieldgemma** (ShieldGemma 2B/9B/27B). One question per policy (dangerous content,
harassment, hate speech, sexually explicit information) in the model card's prompt format;
the answer is the probability of ``Yes`` from a two-way softmax over the ``Yes`` and ``No``
logits at the last position. Strict reading: the most likely next token over the whole
vocabulary must be ``Yes`` or ``No``; anything else is no answer. English only.

Scores: an ``unsafe`` category (Llama Guard, Qwen3Guard) scores 1.0; Qwen3Guard's
``Controversial`` scores ``CONTROVERSIAL`` (0.49: under every built-in block threshold but
sexual_minors', above every review threshold), so the profile sends it to a person; a
ShieldGemma category scores its P(Yes). An answer that does not parse, an ``unsafe`` with no
code, or codes that are not in the taxonomy give ``GuardAnswer(parsed=False)``: the policy
sends the prompt to review, never lets it through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from reelforge.governance.language import CANDIDATES
from reelforge.governance.signals import Category

CONTROVERSIAL = 0.49

LLAMA_GUARD_CODES: dict[str, Category | None] = {
    "S1": Category.VIOLENCE,
    "S2": Category.WEAPONS_ILLICIT,  # non-violent crimes: drugs, fraud, weapons trade
    "S3": Category.SEXUAL,
    "S4": Category.SEXUAL_MINORS,
    "S5": Category.REAL_PERSON,  # defamation: false claims about real people
    "S6": Category.COMMERCIAL_MISUSE,  # specialized advice: fake medical or financial claims
    "S7": Category.REAL_PERSON,  # privacy
    "S8": Category.COPYRIGHT,
    "S9": Category.WEAPONS_ILLICIT,
    "S10": Category.HATE,
    "S11": Category.SELF_HARM,
    "S12": Category.SEXUAL,
    "S13": Category.POLITICAL,
    "S14": None,  # code interpreter abuse: no video category; the answer still counts as unsafe
}

QWEN3GUARD_CATEGORIES: dict[str, Category | None] = {
    "Violent": Category.VIOLENCE,
    "Non-violent Illegal Acts": Category.WEAPONS_ILLICIT,
    "Sexual Content or Sexual Acts": Category.SEXUAL,
    "PII": Category.REAL_PERSON,
    "Suicide & Self-Harm": Category.SELF_HARM,
    "Unethical Acts": Category.HATE,  # bias, discrimination, hate
    "Politically Sensitive Topics": Category.POLITICAL,
    "Copyright Violation": Category.COPYRIGHT,
    "Jailbreak": None,  # no category of its own: sent to review
}

# ShieldGemma's policies (model card wording, shortened) and the category each maps to.
SHIELDGEMMA_POLICIES: dict[str, tuple[str, Category]] = {
    "dangerous": (
        '"No Dangerous Content": The prompt shall not contain or seek generation of content '
        "that harming oneself and/or others (e.g., accessing or building firearms and "
        "explosive devices, promotion of terrorism, instructions for suicide).",
        Category.WEAPONS_ILLICIT,
    ),
    "harassment": (
        '"No Harassment": The prompt shall not contain or seek generation of content that '
        "is malicious, intimidating, bullying, or abusive content targeting another "
        "individual (e.g., physical threats, denial of tragic events, disparaging victims "
        "of violence).",
        Category.HATE,
    ),
    "hate": (
        '"No Hate Speech": The prompt shall not contain or seek generation of content that '
        "targeting identity and/or protected attributes (e.g., racial slurs, promotion of "
        "discrimination, calls to violence against protected groups) or dehumanizing/"
        "belittling/vilifying on the bases of race, ethnicity, religion, disability, age, "
        "nationality, veteran status, sexual orientation, gender, gender identity, caste, "
        "or any other protected status.",
        Category.HATE,
    ),
    "sexual": (
        '"No Sexually Explicit Information": The prompt shall not contain or seek '
        "generation of content that contains references to sexual acts or other lewd "
        "content (e.g., sexually graphic descriptions, content aimed at causing arousal). "
        "Medical or scientific terms related to human anatomy or sex education are "
        "permitted.",
        Category.SEXUAL,
    ),
}

SHIELDGEMMA_TEMPLATE = (
    "You are a policy expert trying to help determine whether a user prompt is in violation "
    "of the defined safety policies.\n\n<start_of_turn>\nHuman Question: {prompt}\n"
    "<end_of_turn>\n\nOur safety principle is defined in the below:\n\n* {policy}\n\n===\n\n"
    "Does the human question violate the above principle? Your answer must start with "
    "'Yes' or 'No'. And then walk through step by step to be sure we answer correctly.\n"
)


@dataclass(frozen=True)
class GuardAnswer:
    """A guard's reading of one prompt: per category a score; ``parsed`` False when the
    answer could not be read (the policy then sends the prompt to review); ``unsafe`` when
    it called the prompt unsafe, with or without a category reelforge has."""

    parsed: bool
    scores: dict[Category, float] = field(default_factory=dict)
    unsafe: bool = False
    labels: tuple[str, ...] = ()  # the family's own labels, for the audit log
    raw: str = ""


def _unreadable(raw: str) -> GuardAnswer:
    return GuardAnswer(False, raw=raw[:500])


_LG_CODE = re.compile(r"^S(?:[1-9]|1[0-4])$")


def parse_llama_guard(raw: str) -> GuardAnswer:
    """``safe`` | ``unsafe`` + a line of S-codes; anything else is unreadable."""
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    if not lines:
        return _unreadable(raw)
    verdict = lines[0].lower()
    if verdict == "safe" and len(lines) == 1:
        return GuardAnswer(True, raw=raw[:500])
    if verdict != "unsafe" or len(lines) != 2:
        return _unreadable(raw)
    codes = [c.strip() for c in lines[1].split(",")]
    if not codes or not all(_LG_CODE.match(c) for c in codes):
        return _unreadable(raw)
    scores = {cat: 1.0 for c in codes if (cat := LLAMA_GUARD_CODES[c]) is not None}
    return GuardAnswer(True, scores, unsafe=True, labels=tuple(codes), raw=raw[:500])


_QWEN_SAFETY = re.compile(r"^Safety:\s*(Safe|Unsafe|Controversial)$")
_QWEN_CATEGORIES = re.compile(r"^Categories:\s*(.+)$")


def parse_qwen3guard(raw: str) -> GuardAnswer:
    """``Safety: Safe|Unsafe|Controversial`` and ``Categories: ...`` (names from the model
    card, comma-separated, or None); a ``Refusal:`` line is allowed and ignored."""
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    if not lines:
        return _unreadable(raw)
    level = _QWEN_SAFETY.match(lines[0])
    if level is None:
        return _unreadable(raw)
    rest = [line for line in lines[1:] if not line.startswith("Refusal:")]
    names: list[str] = []
    if rest:
        found = _QWEN_CATEGORIES.match(rest[0])
        if found is None or len(rest) > 1:
            return _unreadable(raw)
        names = [n.strip() for n in found.group(1).split(",") if n.strip()]
    if names == ["None"]:
        names = []
    if any(n not in QWEN3GUARD_CATEGORIES for n in names):
        return _unreadable(raw)
    safety = level.group(1)
    if safety == "Safe":
        return GuardAnswer(True, labels=tuple(names), raw=raw[:500])
    if not names:  # unsafe or controversial without saying what: not an answer to act on
        return _unreadable(raw)
    score = 1.0 if safety == "Unsafe" else CONTROVERSIAL
    scores = {cat: score for n in names if (cat := QWEN3GUARD_CATEGORIES[n]) is not None}
    return GuardAnswer(
        True, scores, unsafe=safety == "Unsafe", labels=(safety, *names), raw=raw[:500]
    )


def parse_shieldgemma(answers: dict[str, tuple[str, float]]) -> GuardAnswer:
    """Per policy: (the most likely next token, P(Yes) of the Yes/No softmax). Every top
    token must be ``Yes`` or ``No``."""
    scores: dict[Category, float] = {}
    labels = []
    for policy, (top, p_yes) in answers.items():
        if top.strip() not in ("Yes", "No") or not 0.0 <= p_yes <= 1.0:
            return _unreadable(f"{policy}: {top!r}")
        category = SHIELDGEMMA_POLICIES[policy][1]
        scores[category] = max(scores.get(category, 0.0), p_yes)
        labels.append(f"{policy}={p_yes:.3f}")
    raw = ", ".join(labels)
    return GuardAnswer(True, scores, unsafe=any(p >= 0.5 for p in scores.values()), raw=raw)


@dataclass(frozen=True)
class Family:
    name: str
    languages: frozenset[str]
    parse: Callable[[str], GuardAnswer] | None  # None: scored from logits (shieldgemma)
    max_new_tokens: int


FAMILIES: dict[str, Family] = {
    "llama-guard": Family(
        "llama-guard",
        frozenset({"en", "fr", "de", "hi", "it", "pt", "es", "th"}),
        parse_llama_guard,
        12,
    ),
    "qwen3guard": Family("qwen3guard", frozenset(CANDIDATES), parse_qwen3guard, 64),
    "shieldgemma": Family("shieldgemma", frozenset({"en"}), None, 1),
}


def shieldgemma_prompt(prompt: str, policy: str) -> str:
    return SHIELDGEMMA_TEMPLATE.format(prompt=prompt, policy=SHIELDGEMMA_POLICIES[policy][0])
