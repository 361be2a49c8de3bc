"""Helpers for the lead agent tests: seeding leads, reading rows back, running the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

TECHCORP: dict[str, Any] = {
    "company_name": "TechCorp Inc",
    "contact_name": "Dana Reyes",
    "contact_title": "VP of Sales",
    "contact_email": "dana@techcorp.example",
    "industry": "Software",
    "employees": 400,
    "region": "United States",
    "website": "https://techcorp.example",
    "notes": "Evaluating outreach tools this quarter; budget approved.",
}


def many_leads(count: int, **overrides: Any) -> list[dict[str, Any]]:
    return [
        {
            **TECHCORP,
            "company_name": f"Company {i}",
            "contact_email": f"c{i}@x.example",
            **overrides,
        }
        for i in range(count)
    ]


async def seed(url: str, rows: list[dict[str, Any]], deals: list[dict[str, Any]]) -> list[int]:
    from salesctl.db.models import Deal, Lead
    from salesctl.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            created = [Lead(**row) for row in rows]
            session.add_all(created)
            await session.flush()
            session.add_all(Deal(**deal) for deal in deals)
            return [lead.id for lead in created]
    finally:
        await engine.dispose()


async def read_db(url: str, fn: Callable[..., Any]) -> Any:
    from salesctl.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return await fn(session)
    finally:
        await engine.dispose()


@dataclass
class Run:
    lead_id: int
    status: str
    worker_id: str | None
    cost_usd: Decimal | None
    llm_calls: int
    provider: str | None
    model: str | None
    output: Any
    error: str | None


async def runs_of(session: Any, agent: str) -> list[Run]:
    from sqlalchemy import select

    from salesctl.db.models import AgentRun

    rows = (
        await session.scalars(select(AgentRun).where(AgentRun.agent == agent).order_by(AgentRun.id))
    ).all()
    return [
        Run(
            r.lead_id,
            r.status,
            r.worker_id,
            r.cost_usd,
            r.llm_calls,
            r.provider,
            r.model,
            r.output,
            r.error,
        )
        for r in rows
    ]


async def tracking_rows(session: Any) -> list[Any]:
    from sqlalchemy import select

    from salesctl.db.models import AICostTracking

    return list((await session.scalars(select(AICostTracking).order_by(AICostTracking.id))).all())


async def lead_row(session: Any, lead_id: int) -> Any:
    from salesctl.db.models import Lead

    return await session.get(Lead, lead_id)


def invoke(*args: str, input: str | bytes | None = None) -> Any:
    """Run `salesctl ARGS` in-process; returns Click's Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from salesctl.cli import app

    return CliRunner().invoke(app, list(args), input=input)


def json_out(result: Any) -> Any:
    assert result.stdout.strip(), f"no stdout; stderr: {result.stderr}"
    return json.loads(result.stdout)
