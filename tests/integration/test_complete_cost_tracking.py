"""The complete cost-tracking path: served = tracked = reported, by every way of reading it.

Leads are imported and worked on through the CLI (a lead agent in passthrough mode and a chat
agent in smart-router mode), every call goes through the real SDKs to the provider simulator,
and then the same totals must come out of each reader: the simulator's ledger priced
independently with genai-prices, raw SQL over `ai_cost_tracking`, the seed's SQL views,
`costs --json`, `costs export`, the HTTP API and the library's `cost_monitoring`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.llm.simulator import Simulator

T = TypeVar("T")
SAMPLE_LEADS = Path(__file__).resolve().parents[2] / "docs" / "sample-leads.csv"
CATALOGUE = {"cerebras": "cerebras", "claude": "anthropic", "gemini": "google", "openai": "openai"}


def salesctl(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def on_db(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    from salesctl.db.session import create_engine

    async def go() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def served_cost(sim: Simulator) -> Decimal:
    """What the simulator served, priced by genai-prices itself at the time of the test."""
    from genai_prices import Usage, calc_price

    total = Decimal(0)
    for call in sim.ledger:
        usage = Usage(
            input_tokens=call.prompt_tokens,
            cache_read_tokens=call.cache_read_tokens,
            cache_write_tokens=call.cache_write_tokens,
            output_tokens=call.output_tokens + call.reasoning_tokens,
        )
        price = calc_price(
            usage,
            call.model,
            provider_id=CATALOGUE[call.provider],
            genai_request_timestamp=datetime.now(UTC),
        )
        total += price.total_price.quantize(Decimal("1e-10"))
    return total


async def sql_totals(engine: Any) -> dict[str, Any]:
    async with engine.connect() as conn:
        count, cost = (
            await conn.execute(text("SELECT COUNT(*), SUM(cost_usd) FROM ai_cost_tracking"))
        ).one()
        view = (
            await conn.execute(
                text("SELECT SUM(total_requests), SUM(total_cost_usd) FROM agent_cost_summary")
            )
        ).one()
    return {"count": count, "cost": cost, "view_count": view[0], "view_cost": view[1]}


async def library_spend(engine: Any) -> dict[str, Any]:
    from salesctl.core.cost_monitoring import get_daily_spend
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as db:
        return await get_daily_spend(db)


@pytest.fixture
def worked(db_env: str, sim: Simulator) -> str:
    """Five leads qualified and one routed chat answer, all through the CLI."""
    salesctl("leads", "import", str(SAMPLE_LEADS))
    salesctl("qualify", "--ids", "1,2,3,4,5", "--no-cache")
    salesctl("chat", "sr-bdr", "--once", "Show me the top 3 leads")
    return db_env


def test_served_tracked_and_reported_agree_on_every_path(worked: str, sim: Simulator) -> None:
    served = served_cost(sim)
    assert len(sim.ledger) >= 6
    assert served > 0

    sql = on_db(worked, sql_totals)
    # SQLite keeps money as an integer count of 1e-10 dollars, so SUM() stays exact there too.
    scale = Decimal("1e-10") if worked.startswith("sqlite") else Decimal(1)
    tracked = Decimal(sql["cost"]) * scale
    assert sql["count"] == len(sim.ledger)
    assert tracked == served
    # The seed's views show dollars; SQLite has no exact type to show them in, so they are a
    # REAL there, equal to the exact total to the 1e-10 dollar the table keeps.
    view_cost = Decimal(str(sql["view_cost"]))
    assert view_cost.quantize(Decimal("1e-10")) == served
    assert sql["view_count"] == len(sim.ledger)

    report = json.loads(salesctl("costs", "--json", "--since", "today"), parse_float=Decimal)
    assert report["total_requests"] == len(sim.ledger)
    assert Decimal(str(report["total_cost_usd"])) == served
    assert sum(Decimal(str(a["total_cost_usd"])) for a in report["by_agent"]) == served

    exported = list(csv.DictReader(io.StringIO(salesctl("costs", "export", "--since", "today"))))
    assert len(exported) == len(sim.ledger)
    assert sum(Decimal(row["cost_usd"]) for row in exported) == served

    from salesctl.api.app import COSTS_PATH, create_app
    from salesctl.config import get_settings

    with TestClient(create_app(get_settings()), base_url="http://localhost") as client:
        answer = client.get(COSTS_PATH, params={"start_date": datetime.now(UTC).date()})
    assert answer.status_code == 200
    api = json.loads(answer.text, parse_float=Decimal)
    assert Decimal(str(api["total_cost_usd"])) == served
    assert api["total_requests"] == len(sim.ledger)

    spend = on_db(worked, library_spend)
    assert Decimal(str(spend["total_cost_usd"])) == served
    assert spend["total_requests"] == len(sim.ledger)
