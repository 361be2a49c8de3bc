"""The smart router: a learned classifier rates a request simple, medium or complex, and each
tier names an ordered list of `provider:model` choices in settings.

The classifier is a multinomial logistic regression over the request's words, word pairs,
character n-grams and structural signals (`features`), trained on a labelled set of sales
prompts that ships with salesctl (`data/`, `python -m salesctl.llm.router.train`). Its artifact
is loaded on the first routed call, not at import, so the CLI and `--help` never pay for it;
`router tune` can put a team's own retrained artifact in its place (`model.active_path`).
The decision leans towards the stronger tier by `router.margin` (see `model.decide`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from salesctl.errors import ConfigError
from salesctl.llm.types import Message, ToolSpec
from salesctl.vocabulary import Complexity

if TYPE_CHECKING:
    from salesctl.config import ProviderId, RouterSettings, Settings
    from salesctl.llm.router.model import Feature

__all__ = [
    "Classification",
    "RoutingDecision",
    "choices_without_key",
    "classify",
    "parse_choice",
    "route",
    "tier_choices",
]

TOP_FEATURES = 5
ChosenBy = Literal["router", "config", "budget"]


@dataclass(slots=True)
class Classification:
    """How complex a request looks, how sure the model is, and the evidence."""

    complexity: Complexity
    probabilities: dict[str, float]
    version: str
    margin: float
    top_features: list[Feature]
    reasons: list[str]
    signals: dict[str, Any]


@dataclass(slots=True)
class RoutingDecision:
    """Which model a smart-router call goes to, what comes next if it fails, and why.

    `chosen_by` is "router" when the tier's choices came from the classification, "config"
    when the agent's configuration pinned the model, "budget" when a hard budget limit moved
    the call to a cheaper tier (only router-chosen calls count in `costs savings`).
    """

    complexity: Complexity
    provider: str
    model: str
    fallbacks: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    signals: dict[str, Any] = field(default_factory=dict)
    probabilities: dict[str, float] = field(default_factory=dict)
    version: str | None = None
    margin: float | None = None
    top_features: list[Feature] = field(default_factory=list)
    chosen_by: ChosenBy = "router"

    @property
    def choices(self) -> list[str]:
        """Every `provider:model` to try, in order."""
        return [f"{self.provider}:{self.model}", *self.fallbacks]

    def as_record(self) -> dict[str, Any]:
        """The JSON stored with the call in `ai_cost_tracking.routing`."""
        return {
            "tier": self.complexity,
            "chosen": f"{self.provider}:{self.model}",
            "chosen_by": self.chosen_by,
            "fallbacks": list(self.fallbacks),
            "reasons": list(self.reasons),
            "signals": dict(self.signals),
            "probabilities": dict(self.probabilities),
            "router_version": self.version,
            "margin": self.margin,
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
    router: RouterSettings | None = None,
    explain: int = TOP_FEATURES,
) -> Classification:
    """Rate a request simple, medium or complex with the learned model in force."""
    from salesctl.config import RouterSettings
    from salesctl.llm.router.features import structure
    from salesctl.llm.router.model import active_model

    router = router or RouterSettings()
    text, depth = _scan_text(prompt or "", messages)
    model = active_model(router)
    signals: dict[str, Any] = {**structure(text), "depth": depth, "tools": len(tools)}
    if not text.strip():
        return Classification(
            complexity="simple",
            probabilities={"simple": 1.0, "medium": 0.0, "complex": 0.0},
            version=model.version,
            margin=router.margin,
            top_features=[],
            reasons=["empty request"],
            signals=signals,
        )
    prediction = model.predict(text, margin=router.margin, explain=explain)
    probs = prediction.probabilities
    reasons = [
        f"learned router {model.version}: "
        + ", ".join(f"{tier} {probs[tier]:.2f}" for tier in ("complex", "medium", "simple"))
        + f" (margin {router.margin:g})"
    ]
    if prediction.top_features:
        reasons.append("decided by: " + ", ".join(f.description for f in prediction.top_features))
    return Classification(
        complexity=prediction.complexity,
        probabilities=probs,
        version=model.version,
        margin=router.margin,
        top_features=prediction.top_features,
        reasons=reasons,
        signals=signals,
    )


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
    rating = classify(prompt, messages=messages, tools=tools, router=router)
    reasons = list(rating.reasons)
    chosen_by: ChosenBy = "router"
    choices = tier_choices(router, rating.complexity)
    if provider is not None and model is not None:
        choices = [(provider, model)]  # type: ignore[list-item]  # a configured provider id
        reasons.append(f"model pinned by config: {provider}:{model}")
        chosen_by = "config"
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
        probabilities=rating.probabilities,
        version=rating.version,
        margin=rating.margin,
        top_features=rating.top_features,
        chosen_by=chosen_by,
    )


def choices_without_key(decision: RoutingDecision, settings: Settings) -> list[str]:
    """The decision's choices whose provider has no API key set (they would be skipped)."""
    missing: list[str] = []
    for choice in decision.choices:
        provider, _ = parse_choice(choice)
        if settings.api_key(provider) is None:
            missing.append(choice)
    return missing
