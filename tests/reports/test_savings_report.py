"""`costs savings` states its assumption and counts only calls whose tier the router chose:
a model pinned by config or a tier stepped down by a budget limit is not the router's saving.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.db.session import create_engine
from salesctl.reports.synthetic import insert_calls, make_call


def insert(url: str, rows: list[dict[str, Any]]) -> None:
    async def go() -> None:
        engine = create_engine(url)
        try:
            await insert_calls(engine, rows)
        finally:
            await engine.dispose()

    asyncio.run(go())


def routed(chosen_by: str | None) -> dict[str, Any]:
    """1,000 + 500 tokens: $0.02 at the premium model, $0.0003 spent."""
    routing = None if chosen_by is None else {"tier": "simple", "chosen_by": chosen_by}
    return make_call(
        agent_type="sr_bdr",
        timestamp=datetime.now(UTC) - timedelta(minutes=3),
        prompt_tokens=1000,
        completion_tokens=500,
        cost_usd="0.0003",
        routing=routing,
    )


@pytest.fixture
def premium(db_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SALESCTL_ROUTER__COMPLEX", '["claude:premium-x"]')
    monkeypatch.setenv(
        "SALESCTL_PRICING",
        '{"claude:premium-x": {"input_per_mtok": "10", "output_per_mtok": "20"}}',
    )
    from salesctl.config import get_settings

    get_settings.cache_clear()
    return db_env


def test_only_router_chosen_calls_count(premium: str) -> None:
    insert(premium, [routed("router"), routed(None), routed("config"), routed("budget")])
    result = CliRunner().invoke(app, ["costs", "savings", "--since", "1d", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout, parse_float=Decimal)
    [sr_bdr] = report["by_agent"]
    assert sr_bdr["routed_requests"] == 2  # the router's own, and one from before chosen_by
    assert sr_bdr["router_saved_usd"] == Decimal("0.0394")
    assert sr_bdr["spent_usd"] == Decimal("0.0012")  # every call still counts as spent
    assert report["not_router_chosen"] == 2
    assert report["assumption"].startswith(
        "Router savings assume every call the router routed would otherwise have gone to the "
        "premium tier, claude:premium-x; only calls whose tier the router chose count."
    )
    assert any("pinned by config or stepped down" in note for note in report["notes"])


def test_the_report_says_its_assumption(premium: str) -> None:
    insert(premium, [routed("router")])
    result = CliRunner().invoke(app, ["costs", "savings", "--since", "1d"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "would otherwise have gone to the premium tier, claude:premium-x" in text
