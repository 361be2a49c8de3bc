"""`router eval`: how the router in force does on a labelled file, and what its tiers cost.

Accuracy is the share of prompts routed to their label's tier. Under-routed prompts went to a
cheaper tier than their label (the costly mistake: a weak answer); over-routed ones to a
stronger tier (only money). The cost compares the first choice of the tiers chosen with
sending every prompt to the premium tier (`router.complex[0]`), from token counts estimated
per prompt (see `estimate_tokens`), unless a line gives `prompt_tokens` / `completion_tokens`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesctl.llm.router.dataset import Example
from salesctl.llm.router.model import TIERS, RouterModel

if TYPE_CHECKING:
    from salesctl.config import RouterSettings, Settings
    from salesctl.llm.pricing import ModelPrices

CHARS_PER_TOKEN = 4
INSTRUCTION_TOKENS = 600
"""An agent's instructions and tool definitions, sent with every chat request."""
ANSWER_TOKENS = 350
MILLION = Decimal(1_000_000)
MISTAKES_SHOWN = 20


@dataclass(frozen=True, slots=True)
class TierCost:
    tier: str
    choice: str
    prompts: int
    cost_usd: Decimal | None


@dataclass(frozen=True, slots=True)
class Mistake:
    prompt: str
    label: str
    routed: str
    probabilities: dict[str, float]


@dataclass
class EvalReport:
    source: str
    router_version: str
    margin: float
    examples: int
    accuracy: float
    complex_recall: float | None
    under_routed: float
    over_routed: float
    confusion: dict[str, dict[str, int]]
    """label -> tier routed to -> prompts."""
    by_tier: dict[str, dict[str, float | int | None]]
    cost_routed_usd: Decimal | None
    cost_all_premium_usd: Decimal | None
    cost_as_labelled_usd: Decimal | None
    premium_choice: str
    tier_costs: list[TierCost]
    assumption: str
    mistakes: list[Mistake] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def saving_vs_premium(self) -> float | None:
        if not self.cost_all_premium_usd or self.cost_routed_usd is None:
            return None
        return float(1 - self.cost_routed_usd / self.cost_all_premium_usd)


def estimate_tokens(example: Example) -> tuple[int, int]:
    """(prompt, completion) tokens of one call answering `example`."""
    prompt = example.extra.get("prompt_tokens")
    completion = example.extra.get("completion_tokens")
    if not isinstance(prompt, int) or prompt < 0:
        prompt = INSTRUCTION_TOKENS + -(-len(example.prompt) // CHARS_PER_TOKEN)
    if not isinstance(completion, int) or completion < 0:
        completion = ANSWER_TOKENS
    return prompt, completion


def accuracy_of(model: RouterModel, examples: Sequence[Example], margin: float) -> float | None:
    """The share of `examples` routed to their label's tier (None for no examples)."""
    if not examples:
        return None
    hits = sum(model.predict(e.prompt, margin=margin).complexity == e.label for e in examples)
    return hits / len(examples)


def evaluate(
    examples: Sequence[Example],
    *,
    settings: Settings,
    source: str,
    model: RouterModel | None = None,
) -> EvalReport:
    """Route every example with the model in force (or `model`) and measure the result."""
    from salesctl.llm.router.model import active_model

    router = settings.router
    model = model or active_model(router)
    confusion: dict[str, dict[str, int]] = {label: dict.fromkeys(TIERS, 0) for label in TIERS}
    routed: list[str] = []
    mistakes: list[Mistake] = []
    for example in examples:
        prediction = model.predict(example.prompt, margin=router.margin)
        tier = prediction.complexity
        routed.append(tier)
        confusion[example.label][tier] += 1
        if tier != example.label and len(mistakes) < MISTAKES_SHOWN:
            mistakes.append(Mistake(example.prompt, example.label, tier, prediction.probabilities))
    total = len(examples)
    correct = sum(confusion[t][t] for t in TIERS)
    under = sum(confusion[a][b] for a in TIERS for b in TIERS if TIERS.index(b) < TIERS.index(a))
    over = sum(confusion[a][b] for a in TIERS for b in TIERS if TIERS.index(b) > TIERS.index(a))
    complex_total = sum(confusion["complex"].values())
    by_tier: dict[str, dict[str, float | int | None]] = {}
    for tier in TIERS:
        labelled = sum(confusion[tier].values())
        chosen = sum(confusion[a][tier] for a in TIERS)
        by_tier[tier] = {
            "labelled": labelled,
            "routed": chosen,
            "recall": confusion[tier][tier] / labelled if labelled else None,
            "precision": confusion[tier][tier] / chosen if chosen else None,
        }
    costs = _costs(examples, routed, settings, router)
    return EvalReport(
        source=source,
        router_version=model.version,
        margin=router.margin,
        examples=total,
        accuracy=correct / total if total else 0.0,
        complex_recall=confusion["complex"]["complex"] / complex_total if complex_total else None,
        under_routed=under / total if total else 0.0,
        over_routed=over / total if total else 0.0,
        confusion=confusion,
        by_tier=by_tier,
        mistakes=mistakes,
        **costs,
    )


def _costs(
    examples: Sequence[Example], routed: list[str], settings: Settings, router: RouterSettings
) -> dict[str, Any]:
    from salesctl.llm.pricing import PriceBook
    from salesctl.llm.router import tier_choices

    book = PriceBook.from_settings(settings, warn=lambda _m: None)
    firsts = {tier: tier_choices(router, tier)[0] for tier in TIERS}
    prices: dict[str, ModelPrices | None] = {tier: book.prices_for(*firsts[tier]) for tier in TIERS}
    notes: list[str] = []

    def cost(tier: str, tokens: tuple[int, int]) -> Decimal | None:
        found = prices[tier]
        if found is None or found.input_per_mtok is None or found.output_per_mtok is None:
            return None
        return (tokens[0] * found.input_per_mtok + tokens[1] * found.output_per_mtok) / MILLION

    def total(tiers: Sequence[str]) -> Decimal | None:
        amounts = [cost(t, estimate_tokens(e)) for t, e in zip(tiers, examples, strict=True)]
        if any(a is None for a in amounts):
            return None
        return sum((a for a in amounts if a is not None), Decimal(0)).quantize(Decimal("1e-6"))

    for tier in TIERS:
        if cost(tier, (1, 1)) is None:
            provider, model = firsts[tier]
            notes.append(f"no price known for {provider}:{model} ({tier} tier): costs unknown")
    tier_costs = [
        TierCost(
            tier=tier,
            choice=":".join(firsts[tier]),
            prompts=routed.count(tier),
            cost_usd=_tier_total(tier, routed, examples, cost),
        )
        for tier in TIERS
    ]
    return {
        "cost_routed_usd": total(routed),
        "cost_all_premium_usd": total(["complex"] * len(examples)),
        "cost_as_labelled_usd": total([e.label for e in examples]),
        "premium_choice": ":".join(firsts["complex"]),
        "tier_costs": tier_costs,
        "assumption": (
            f"each prompt priced at its tier's first choice with ~{INSTRUCTION_TOKENS} tokens "
            f"of instructions + 1 token per {CHARS_PER_TOKEN} characters in, "
            f"{ANSWER_TOKENS} tokens out (unless the file gives prompt_tokens/completion_tokens);"
            f" all-premium sends every prompt to {':'.join(firsts['complex'])}"
        ),
        "notes": notes,
    }


def _tier_total(
    tier: str,
    routed: list[str],
    examples: Sequence[Example],
    cost: Callable[[str, tuple[int, int]], Decimal | None],
) -> Decimal | None:
    """What the prompts routed to `tier` cost there."""
    amounts = [
        cost(tier, estimate_tokens(e)) for t, e in zip(routed, examples, strict=True) if t == tier
    ]
    if any(a is None for a in amounts):
        return None
    return sum((a for a in amounts if a is not None), Decimal(0)).quantize(Decimal("1e-6"))
