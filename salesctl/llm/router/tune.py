"""`router tune`: retrain the learned router on the shipped set plus the team's own evidence.

Evidence comes from two places:
  * ratings of smart-router answers (`salesctl feedback`). Per prompt, the cheapest tier
    whose answers were rated good (mean >= 0.5) and the tiers whose answers were rated bad say
    which tier it needs: a cheap-tier answer rated bad means it needed the next tier up; a
    good answer from a cheap tier, where a stronger tier also answered well, means the
    stronger one was a saving missed. A good answer on the only tier that answered it
    confirms nothing and is not used. Rows without a stored prompt (`store_prompts = "none"`)
    cannot be learned from and are counted as skipped; redacted prompts are used as stored.
  * labelled files (`--labels FILE.jsonl`), kept in the data directory so later runs keep them.

A deterministic share (`--holdout`) of that evidence is held out: the router in force and the
new one are both measured on it (and on the shipped held-out set). The new artifact is
trained on the shipped train part plus the rest of the evidence, each team example counting
`TEAM_WEIGHT` times, and written as `router/router-<version>.json` in the data directory; the
file `router/ACTIVE` names it, and the router uses it from then on. `--reset` removes
`ACTIVE`, so the shipped artifact decides again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesctl.errors import InvalidInput
from salesctl.llm.feedback import GOOD_AT
from salesctl.llm.router.dataset import Example, parse_labelled, read_labelled
from salesctl.llm.router.model import (
    ACTIVE_FILE,
    DATA_DIR,
    SHIPPED_MODEL,
    TIERS,
    RouterModel,
    active_model,
    tuned_dir,
)

if TYPE_CHECKING:
    from sqlalchemy import Row
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from salesctl.config import Settings

TEAM_WEIGHT = 3.0
"""How many shipped examples one example of the team's own evidence counts as."""
LABELS_FILE = "labels.jsonl"
COST_WINDOW = timedelta(days=30)
MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Evidence:
    examples: list[Example]
    from_ratings: int
    from_labels: int
    rated_calls: int
    skipped_without_prompt: int
    not_informative: int


@dataclass
class TuneReport:
    examples: int
    from_ratings: int
    from_labels: int
    holdout: int
    accuracy_before: float | None
    accuracy_after: float | None
    shipped_accuracy_before: float | None
    shipped_accuracy_after: float | None
    expected_cost_change_usd: Decimal | None
    routed_calls_compared: int
    calls_changing_tier: int
    version_before: str
    version: str
    model_path: str
    skipped_without_prompt: int
    not_informative: int
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ResetReport:
    version: str
    model_path: str
    removed: str | None


def normalise(prompt: str) -> str:
    return re.sub(r"\s+", " ", prompt.strip().lower())


def _tier_of_answer(row: Row[*tuple[Any, ...]], choices: dict[str, str]) -> str | None:
    """The tier whose model answered: from the router's tiers, else the row's own tier."""
    answered = f"{row.provider}:{row.model}"
    tier: str | None = choices.get(answered) or row.prompt_complexity
    return tier


def label_from_ratings(rated: dict[str, list[float]]) -> str | None:
    """The tier a prompt needs, from the scores its answers got on each tier (None: no say)."""
    means = {tier: sum(s) / len(s) for tier, s in rated.items() if s and tier in TIERS}
    good = [t for t in TIERS if t in means and means[t] >= GOOD_AT]
    bad = [t for t in TIERS if t in means and means[t] < GOOD_AT]
    if good:
        cheapest = good[0]
        below = [t for t in bad if TIERS.index(t) < TIERS.index(cheapest)]
        if cheapest == "simple" or len(good) > 1 or below:
            return cheapest
        return None
    if bad:
        top = TIERS.index(bad[-1])
        return TIERS[top + 1] if top + 1 < len(TIERS) else None
    return None


async def rating_evidence(session: AsyncSession, settings: Settings) -> Evidence:
    """Labelled examples from rated smart-router answers."""
    from sqlalchemy import select

    from salesctl.db.models.tracking import AICostTracking
    from salesctl.llm.router import tier_choices

    choices: dict[str, str] = {}
    for tier in reversed(TIERS):  # a model in two tiers counts as the cheaper one
        for provider, model in tier_choices(settings.router, tier):
            choices[f"{provider}:{model}"] = tier
    t = AICostTracking
    rows = (
        await session.execute(
            select(t.prompt_text, t.provider, t.model, t.prompt_complexity, t.quality_score)
            .where(
                t.agent_mode == "smart_router",
                t.feedback_count > 0,
                t.quality_score.is_not(None),
            )
            .order_by(t.id)
        )
    ).all()
    by_prompt: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    texts: dict[str, str] = {}
    skipped = 0
    for row in rows:
        if not row.prompt_text or not row.prompt_text.strip():
            skipped += 1
            continue
        answered = _tier_of_answer(row, choices)
        if answered is None:
            continue
        key = normalise(row.prompt_text)
        texts.setdefault(key, row.prompt_text)
        by_prompt[key][answered].append(float(row.quality_score))
    examples: list[Example] = []
    silent = 0
    for key, rated in by_prompt.items():
        label = label_from_ratings(rated)
        if label is None:
            silent += 1
            continue
        examples.append(Example(texts[key], label, extra={"source": "ratings"}))
    return Evidence(
        examples=examples,
        from_ratings=len(examples),
        from_labels=0,
        rated_calls=len(rows),
        skipped_without_prompt=skipped,
        not_informative=silent,
    )


def stored_labels(data_dir: Path) -> list[Example]:
    path = tuned_dir(data_dir) / LABELS_FILE
    if not path.is_file():
        return []
    return parse_labelled(path.read_text(encoding="utf-8").splitlines(), str(path))


def keep_labels(data_dir: Path, new: Sequence[Example]) -> list[Example]:
    """The team's labelled examples so far plus `new` (a prompt's latest label wins)."""
    merged: dict[str, Example] = {normalise(e.prompt): e for e in stored_labels(data_dir)}
    for example in new:
        merged[normalise(example.prompt)] = Example(example.prompt, example.label)
    text = "".join(
        json.dumps({"prompt": e.prompt, "label": e.label}, ensure_ascii=False) + "\n"
        for e in merged.values()
    )
    write_private(tuned_dir(data_dir) / LABELS_FILE, text.encode("utf-8"))
    return list(merged.values())


def write_private(path: Path, data: bytes) -> None:
    """Write `path` readable by its owner only (the labels and artifacts hold the team's
    prompts), creating its missing directories owner-only too."""
    missing: list[Path] = []
    directory = path.parent
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def split_holdout(
    examples: Sequence[Example], fraction: float
) -> tuple[list[Example], list[Example]]:
    """(train, held out): the held-out share picked by a hash of each prompt, so the same
    evidence always splits the same way."""
    if not 0 <= fraction < 1:
        raise InvalidInput(f"--holdout {fraction} must be at least 0 and below 1")
    ordered = sorted(
        examples, key=lambda e: hashlib.sha256(normalise(e.prompt).encode()).hexdigest()
    )
    count = round(len(ordered) * fraction)
    if fraction > 0 and len(ordered) >= 2:
        count = min(max(count, 1), len(ordered) - 1)
    return ordered[count:], ordered[:count]


async def tune(
    engine: AsyncEngine,
    settings: Settings,
    *,
    labels: Path | None = None,
    holdout: float = 0.3,
    now: datetime | None = None,
) -> TuneReport:
    """Retrain, measure before and after, estimate the cost change, and switch to the result."""
    from salesctl.db.session import session_factory
    from salesctl.llm.router.evaluate import accuracy_of
    from salesctl.llm.router.train import canonical, train

    if not 0 <= holdout < 1:
        raise InvalidInput(f"--holdout {holdout} must be at least 0 and below 1")
    new_labels = read_labelled(labels) if labels is not None else []
    async with session_factory(engine)() as session, session.begin():
        evidence = await rating_evidence(session, settings)
    team_labels = (
        keep_labels(settings.data_dir, new_labels)
        if new_labels
        else stored_labels(settings.data_dir)
    )
    team = [*evidence.examples, *team_labels]
    if not team:
        raise InvalidInput(
            "no evidence to tune on: rate answers with `salesctl feedback ID --good|--bad` "
            "or pass --labels FILE.jsonl"
        )
    team_train, team_holdout = split_holdout(team, holdout)
    before = active_model(settings.router)
    shipped_train = read_labelled(DATA_DIR / "train.jsonl")
    shipped_heldout = read_labelled(DATA_DIR / "heldout.jsonl")
    weighted = [replace(e, weight=TEAM_WEIGHT) for e in team_train]
    artifact = train([*shipped_train, *weighted], name="tuned")
    artifact["tuned"] = {
        "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "from": before.version,
        "team_examples": len(team_train),
        "team_weight": TEAM_WEIGHT,
    }
    after = RouterModel(artifact)
    margin = settings.router.margin

    directory = tuned_dir(settings.data_dir)
    path = directory / f"router-{artifact['version']}.json"
    write_private(path, canonical(artifact))

    change, compared, moved, notes = await _cost_change(engine, settings, before, after, now)
    write_private(directory / ACTIVE_FILE, (path.name + "\n").encode())
    if evidence.skipped_without_prompt:
        notes.append(
            f"{evidence.skipped_without_prompt} rated call(s) have no stored prompt "
            "(store_prompts = none) and were skipped"
        )
    if evidence.not_informative:
        notes.append(
            f"{evidence.not_informative} rated prompt(s) were only rated good on the tier they "
            "got, which says nothing about a cheaper one, and were not used"
        )
    if settings.router.model_path is not None:
        notes.append(
            f"router.model_path is set ({settings.router.model_path}): the router keeps using "
            "that artifact until the setting is removed"
        )
    if not team_holdout:
        notes.append("nothing held out (too little evidence or --holdout 0): no before/after")
    return TuneReport(
        examples=len(team),
        from_ratings=evidence.from_ratings,
        from_labels=len(team_labels),
        holdout=len(team_holdout),
        accuracy_before=accuracy_of(before, team_holdout, margin),
        accuracy_after=accuracy_of(after, team_holdout, margin),
        shipped_accuracy_before=accuracy_of(before, shipped_heldout, margin),
        shipped_accuracy_after=accuracy_of(after, shipped_heldout, margin),
        expected_cost_change_usd=change,
        routed_calls_compared=compared,
        calls_changing_tier=moved,
        version_before=before.version,
        version=after.version,
        model_path=str(path),
        skipped_without_prompt=evidence.skipped_without_prompt,
        not_informative=evidence.not_informative,
        notes=notes,
    )


async def _cost_change(
    engine: AsyncEngine,
    settings: Settings,
    before: RouterModel,
    after: RouterModel,
    now: datetime | None,
) -> tuple[Decimal | None, int, int, list[str]]:
    """What the last 30 days of router-chosen calls would have cost had the new router picked
    their tiers: each call whose tier changes is re-priced at the new tier's first choice from
    its own token counts (the answer's length is assumed unchanged)."""
    from sqlalchemy import or_, select

    from salesctl.db.models.tracking import AICostTracking as t
    from salesctl.llm.pricing import PriceBook
    from salesctl.llm.router import tier_choices

    now = now or datetime.now(UTC)
    margin = settings.router.margin
    book = PriceBook.from_settings(settings, warn=lambda _m: None)
    firsts = {tier: tier_choices(settings.router, tier)[0] for tier in TIERS}
    prices = {tier: book.prices_for(*firsts[tier], now) for tier in TIERS}
    chosen_by = t.routing["chosen_by"].as_string()
    query = (
        select(
            t.prompt_text,
            t.prompt_tokens,
            t.completion_tokens,
            t.cost_usd,
            t.prompt_complexity,
        )
        .where(
            t.agent_mode == "smart_router",
            t.status == "ok",
            t.cache_hit.is_(False),
            t.timestamp >= now - COST_WINDOW,
            or_(chosen_by.is_(None), chosen_by == "router"),
        )
        .execution_options(yield_per=2_000)
    )
    total = Decimal(0)
    compared = moved = without_prompt = unpriced = 0
    async with engine.connect() as conn:
        result = await conn.stream(query)
        async for row in result:
            if not row.prompt_text:
                without_prompt += 1
                continue
            compared += 1
            old = row.prompt_complexity or before.predict(row.prompt_text, margin=margin).complexity
            new = after.predict(row.prompt_text, margin=margin).complexity
            if new == old:
                continue
            moved += 1
            price = prices[new]
            if (
                row.cost_usd is None
                or price is None
                or price.input_per_mtok is None
                or price.output_per_mtok is None
            ):
                unpriced += 1
                continue
            repriced = (
                row.prompt_tokens * price.input_per_mtok
                + row.completion_tokens * price.output_per_mtok
            ) / MILLION
            total += repriced - row.cost_usd
    notes: list[str] = []
    if without_prompt:
        notes.append(f"{without_prompt} routed call(s) of the last 30 days have no stored prompt")
    if unpriced:
        notes.append(f"{unpriced} call(s) changing tier could not be priced: cost change unknown")
        return None, compared, moved, notes
    return total.quantize(Decimal("1e-6")) + 0, compared, moved, notes


def reset(settings: Settings) -> ResetReport:
    """Use the shipped artifact again (the tuned artifacts and labels stay on disk)."""
    from salesctl.llm.router.model import load_model

    pointer = tuned_dir(settings.data_dir) / ACTIVE_FILE
    removed = None
    if pointer.is_file():
        removed = pointer.read_text(encoding="utf-8").strip() or None
        pointer.unlink()
    shipped = load_model(SHIPPED_MODEL)
    return ResetReport(version=shipped.version, model_path=str(SHIPPED_MODEL), removed=removed)
