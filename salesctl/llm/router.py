"""The smart router: a local classifier rates a request simple, medium or complex, and each
tier names an ordered list of `provider:model` choices in settings.

No model is called or loaded: the rating comes from precompiled patterns over the prompt
(length, lookups vs. analysis verbs, multi-step asks, named entities) plus the conversation's
depth and the tools in play, so classifying costs microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from salesctl.errors import ConfigError
from salesctl.llm.types import Complexity, Message, ToolSpec

if TYPE_CHECKING:
    from salesctl.config import ProviderId, RouterSettings, Settings

SCAN_HEAD = 600
SCAN_TAIL = 300
"""A long prompt is scanned at its start and its end (where the ask usually is, after pasted
context); its length alone already pushes it towards "complex"."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SIMPLE_MAX_SCORE = 1
MEDIUM_MAX_SCORE = 3

ANALYSIS_WORDS = _words("""
    analyze analyse analyzes analyses analysis analyzing analysing analyzed analysed
    assess assesses assessing assessment evaluate evaluates evaluating evaluation
    recommend recommends recommending recommendation recommendations strategy strategies
    strategic strategize diagnose diagnosis forecast forecasts forecasting prioritize
    prioritise prioritizing prioritization compare compares comparing comparison
    negotiate negotiating negotiation blocker blockers risk risks risky objection objections
    investigate investigating optimize optimise optimizing plan plans planning synthesize
    justify tradeoff tradeoffs trade-off trade-offs
    """)
ANALYSIS_PHRASES = (
    "root cause",
    "pros and cons",
    "what should we",
    "how should we",
    "how should i",
    "what should i",
)
COMPOSE_WORDS = _words("""
    summarize summarise summary draft drafting write rewrite compose explain explaining
    describe suggest suggestions outline personalize personalise tailor
    """)
ASK_VERBS = _words("""
    recommend suggest explain draft write plan propose identify list compare prioritize
    prioritise summarize summarise outline estimate forecast assess evaluate
    """)
STEP_WORDS = _words("then afterwards finally also additionally")
STEP_PHRASES = ("after that", "step by step", "step-by-step", "as well as", "in addition")
CONDITION_PHRASES = (
    "given the ",
    "given that ",
    "given our ",
    "considering ",
    "taking into account",
)
WHY_PHRASES = ("what if", "how come")
SENTENCE_END = frozenset(".!?;\n")
NOT_ENTITIES = _words("I I'm I'd I'll I've OK")

TOKEN = re.compile(r"[.!?;\n]|[^\s.!?;,:()\"]+")
LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+", re.MULTILINE)
LOOKUP = re.compile(
    r"^\s*(?:please\s+)?(?:show|list|get|find|give me|display|fetch|look up|lookup|count"
    r"|what(?:'s| is| are)|who(?:'s| is| are)?|which|when|where|how many|top \d+)\b",
    re.IGNORECASE,
)


@dataclass(slots=True)
class Classification:
    """How complex a request looks, and the evidence."""

    complexity: Complexity
    score: int
    reasons: list[str]
    signals: dict[str, Any]


@dataclass(slots=True)
class RoutingDecision:
    """Which model a smart-router call goes to, what comes next if it fails, and why."""

    complexity: Complexity
    provider: str
    model: str
    fallbacks: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    signals: dict[str, Any] = field(default_factory=dict)

    @property
    def choices(self) -> list[str]:
        """Every `provider:model` to try, in order."""
        return [f"{self.provider}:{self.model}", *self.fallbacks]

    def as_record(self) -> dict[str, Any]:
        """The JSON stored with the call in `ai_cost_tracking.routing`."""
        return {
            "tier": self.complexity,
            "chosen": f"{self.provider}:{self.model}",
            "fallbacks": list(self.fallbacks),
            "reasons": list(self.reasons),
            "signals": dict(self.signals),
        }


def _scan_text(prompt: str, messages: Sequence[Message]) -> tuple[str, int]:
    """The text to rate (the prompt, else the last user turn) and the turns before it."""
    if prompt:
        return prompt, len(messages)
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return messages[index].content, index
    return "", len(messages)


def classify(
    prompt: str | None,
    *,
    messages: Sequence[Message] = (),
    tools: Sequence[ToolSpec] = (),
) -> Classification:
    """Rate a request simple, medium or complex from cheap textual and structural signals."""
    text, depth = _scan_text(prompt or "", messages)
    head = (
        text if len(text) <= SCAN_HEAD + SCAN_TAIL else f"{text[:SCAN_HEAD]}\n{text[-SCAN_TAIL:]}"
    )
    lower = head.lower()
    tokens = TOKEN.findall(head)
    words = len(tokens) - sum(map(head.count, SENTENCE_END))  # each of those is one token
    if len(text) > SCAN_HEAD + SCAN_TAIL:
        words = len(text) // 6
    lowered = [t.lower() for t in tokens]
    vocabulary = set(lowered)
    score = 0
    reasons: list[str] = []

    analysis = sorted((vocabulary & ANALYSIS_WORDS) | {p for p in ANALYSIS_PHRASES if p in lower})
    compose = sorted(vocabulary & COMPOSE_WORDS)
    lookup = LOOKUP.match(head) is not None
    why = "why" in vocabulary or any(p in lower for p in WHY_PHRASES)
    conditions = sum(1 for p in CONDITION_PHRASES if p in lower)
    joined_asks = (
        sum(
            1
            for i in range(len(lowered) - 1)
            if lowered[i] == "and"
            and (lowered[i + 1] in ASK_VERBS or (lowered[i + 1] == "then" and i + 2 < len(lowered)))
        )
        if "and" in vocabulary
        else 0
    )
    multi_step = (
        len(vocabulary & STEP_WORDS)
        + sum(1 for p in STEP_PHRASES if p in lower)
        + head.count(";")
        + len(LIST_ITEM.findall(head))
        + joined_asks
    )
    entities = len(
        {
            token
            for before, token in pairwise(tokens)
            if (token[0].isupper() or token[0] == "$" or token[-1] == "%")
            and before not in SENTENCE_END
            and token not in NOT_ENTITIES
        }
    )
    questions = head.count("?")

    if words > 400:
        score += 4
        reasons.append(f"very long request ({words} words)")
    elif words > 150:
        score += 3
        reasons.append(f"long request ({words} words)")
    elif words > 60:
        score += 2
        reasons.append(f"longish request ({words} words)")
    elif words > 25:
        score += 1
        reasons.append(f"{words} words")
    if analysis:
        score += min(3 + len(analysis) - 1, 5)
        reasons.append("analysis/strategy terms: " + ", ".join(analysis[:5]))
    elif compose:
        score += 2
        reasons.append("writing/explaining ask: " + ", ".join(compose[:3]))
    if why:
        score += 2
        reasons.append("asks why / what if")
    if conditions:
        score += 1
        reasons.append("weighs conditions (given…, considering…)")
    if multi_step:
        score += min(multi_step, 2)
        reasons.append(f"multi-step ask ({multi_step} markers)")
    if questions > 1:
        score += 1
        reasons.append(f"{questions} questions")
    if entities >= 8:
        score += 2
        reasons.append(f"{entities} named entities/figures")
    elif entities >= 4:
        score += 1
        reasons.append(f"{entities} named entities/figures")
    if depth >= 16:
        score += 2
        reasons.append(f"deep conversation ({depth} earlier turns)")
    elif depth >= 6:
        score += 1
        reasons.append(f"conversation of {depth} earlier turns")
    if len(tools) >= 6:
        score += 1
        reasons.append(f"{len(tools)} tools in play")
    if lookup and not analysis:
        score -= 1
        reasons.append("a direct lookup (show/list/what is…)")

    complexity: Complexity
    if score <= SIMPLE_MAX_SCORE:
        complexity = "simple"
    elif score <= MEDIUM_MAX_SCORE:
        complexity = "medium"
    else:
        complexity = "complex"
    if not reasons:
        reasons.append("short request with no analysis or multi-step signals")
    signals = {
        "score": score,
        "words": words,
        "analysis_terms": analysis,
        "compose_terms": compose,
        "lookup": lookup,
        "why": why,
        "conditions": conditions,
        "multi_step": multi_step,
        "questions": questions,
        "entities": entities,
        "depth": depth,
        "tools": len(tools),
    }
    return Classification(complexity, score, reasons, signals)


def parse_choice(choice: str, *, where: str = "router") -> tuple[ProviderId, str]:
    """`"claude:claude-3-haiku-20240307"` -> `("claude", "claude-3-haiku-20240307")`."""
    from salesctl.config import canonical_provider

    provider, sep, model = choice.partition(":")
    if not sep or not provider.strip() or not model.strip():
        raise ConfigError(
            f"{where} choice {choice!r} is not 'provider:model' (e.g. 'gemini:gemini-1.5-flash')"
        )
    return canonical_provider(provider), model.strip()


def tier_choices(router: RouterSettings, complexity: Complexity) -> list[tuple[ProviderId, str]]:
    return list(_parsed_tier(complexity, tuple(getattr(router, complexity))))


@lru_cache(maxsize=64)
def _parsed_tier(complexity: str, choices: tuple[str, ...]) -> tuple[tuple[ProviderId, str], ...]:
    """A tier's choices, parsed once per distinct setting rather than on every routed call."""
    if not choices:
        raise ConfigError(f"router tier {complexity!r} has no choices: set router.{complexity}")
    return tuple(parse_choice(c, where=f"router.{complexity}") for c in choices)


def route(
    prompt: str | None,
    *,
    router: RouterSettings,
    messages: Sequence[Message] = (),
    tools: Sequence[ToolSpec] = (),
    provider: str | None = None,
    model: str | None = None,
) -> RoutingDecision:
    """Classify the request and pick the tier's choices.

    `provider` narrows the tier to that provider's choices; `provider` with `model` pins the
    model (the request is still classified so the row records its complexity).
    """
    rating = classify(prompt, messages=messages, tools=tools)
    reasons = list(rating.reasons)
    choices = tier_choices(router, rating.complexity)
    if provider is not None and model is not None:
        choices = [(provider, model)]  # type: ignore[list-item]
        reasons.append(f"model pinned by config: {provider}:{model}")
    elif provider is not None:
        narrowed = [c for c in choices if c[0] == provider]
        if not narrowed:
            raise ConfigError(
                f"router tier {rating.complexity!r} has no {provider!r} choice: "
                f"add one to router.{rating.complexity} or pass model= as well"
            )
        choices = narrowed
        reasons.append(f"limited to provider {provider!r} by config")
    first_provider, first_model = choices[0]
    return RoutingDecision(
        complexity=rating.complexity,
        provider=first_provider,
        model=first_model,
        fallbacks=[f"{p}:{m}" for p, m in choices[1:]],
        reasons=reasons,
        signals=rating.signals,
    )


def choices_without_key(decision: RoutingDecision, settings: Settings) -> list[str]:
    """The decision's choices whose provider has no API key set (they would be skipped)."""
    missing: list[str] = []
    for choice in decision.choices:
        provider, _ = parse_choice(choice)
        if settings.api_key(provider) is None:
            missing.append(choice)
    return missing
