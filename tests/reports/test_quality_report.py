"""`costs quality`: rated answers against their cost, per agent, tier and model, and the router
tiers side by side. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.db.session import create_engine
from salesctl.reports.synthetic import insert_calls, make_call

T = TypeVar("T")


def on_db(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def routed(tier: str, model: str, cost: str, score: float | None, **extra: Any) -> dict[str, Any]:
    return make_call(
        agent_type="sr_bdr",
        provider="gemini" if tier == "simple" else "claude",
        model=model,
        cost_usd=cost,
        prompt_complexity=tier,
        quality_score=score,
        feedback_count=0 if score is None else 1,
        timestamp=datetime.now(UTC) - timedelta(minutes=5),
        **extra,
    )


@pytest.fixture
def rated(db_env: str) -> str:
    rows = [
        # simple: 4 calls at $0.001, 3 rated (good, bad, bad): per good answer $0.003.
        routed("simple", "flash", "0.001", 1.0),
        routed("simple", "flash", "0.001", 0.0),
        routed("simple", "flash", "0.001", 0.2),
        routed("simple", "flash", "0.001", None),
        # complex: 2 calls at $0.02, both rated good: per good answer $0.02.
        routed("complex", "sonnet", "0.02", 1.0),
        routed("complex", "sonnet", "0.02", 0.8),
        # an unrated medium call: in the tiers table, not in the rated rows.
        routed("medium", "haiku", "0.004", None),
        # a fixed-model agent, rated: no tier.
        make_call(
            agent_type="qualification",
            cost_usd="0.0005",
            quality_score=0.5,
            feedback_count=2,
            timestamp=datetime.now(UTC) - timedelta(minutes=5),
        ),
        # a failed call does not count.
        routed("simple", "flash", "0.001", None, status="error"),
    ]
    on_db(db_env, lambda engine: insert_calls(engine, rows))
    return db_env


def test_rated_rows_and_tiers_side_by_side(rated: str) -> None:
    result = CliRunner().invoke(app, ["costs", "quality", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout, parse_float=Decimal)
    rows = {(r["agent_type"], r["tier"], r["model"]): r for r in report["rows"]}
    assert set(rows) == {
        ("qualification", None, "llama3.1-8b"),
        ("sr_bdr", "simple", "flash"),
        ("sr_bdr", "complex", "sonnet"),
    }
    simple = rows[("sr_bdr", "simple", "flash")]
    assert (simple["calls"], simple["rated_calls"]) == (4, 3)
    assert simple["mean_score"] == Decimal("0.4")
    assert simple["good_share"] == Decimal("0.3333")
    assert simple["cost_per_call_usd"] == Decimal("0.001")
    assert simple["cost_per_good_answer_usd"] == Decimal("0.003")
    complex_ = rows[("sr_bdr", "complex", "sonnet")]
    assert complex_["cost_per_good_answer_usd"] == Decimal("0.02")
    assert complex_["mean_score"] == Decimal("0.9")
    tiers = {t["tier"]: t for t in report["tiers"]}
    assert list(tiers) == ["simple", "medium", "complex"]
    assert (tiers["medium"]["calls"], tiers["medium"]["rated_calls"]) == (1, 0)
    assert tiers["medium"]["cost_per_good_answer_usd"] is None
    assert report["notes"] == []


def test_the_table_reads_on_80_columns(rated: str) -> None:
    """Rendered as on an 80-column terminal."""
    from rich.console import Console

    from salesctl.reports.filters import CostFilters
    from salesctl.reports.quality import quality_report
    from salesctl.reports.render import render_quality

    report = on_db(rated, lambda engine: quality_report(engine, CostFilters()))
    console = Console(width=80, record=True, color_system=None)
    console.print(render_quality(report))
    text = console.export_text()
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    flat = " ".join(text.split())
    assert "Router tiers side by side" in flat
    assert "simple 4 3 0.40 33.3% $0.001 $0.003" in flat
    result = CliRunner().invoke(app, ["costs", "quality"])
    assert result.exit_code == 0
    assert "Rated answers by agent, tier and model" in result.stdout


def test_an_empty_window_says_how_to_rate(db_env: str) -> None:
    result = CliRunner().invoke(app, ["costs", "quality", "--since", "1h", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert (report["rows"], report["tiers"]) == ([], [])
    assert "salesctl feedback ID --good" in report["notes"][0]


def test_a_bad_window_is_one_line(db_env: str) -> None:
    result = CliRunner().invoke(app, ["costs", "quality", "--since", "someday"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1


def test_an_unpriced_call_makes_its_group_cost_unknown(db_env: str) -> None:
    rows = [routed("simple", "flash", "0.001", 1.0), routed("simple", "flash", "0.001", 1.0)]
    rows[1]["cost_usd"], rows[1]["unpriced"] = None, True
    on_db(db_env, lambda engine: insert_calls(engine, rows))
    result = CliRunner().invoke(app, ["costs", "quality", "--json"])
    [row] = json.loads(result.stdout)["rows"]
    assert (row["cost_per_call_usd"], row["cost_per_good_answer_usd"]) == (None, None)
