"""`salesctl deals add|list|move` through the CLI, checked against the database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.db.models import Deal, Lead
from salesctl.db.session import create_engine, session_factory

T = TypeVar("T")
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
STAGES = "prospecting, qualification, proposal, negotiation, closed_won, closed_lost"


def salesctl(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def in_db(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(url)
        try:
            async with session_factory(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def a_lead(url: str, company: str = "Northwind Analytics") -> int:
    async def add(session: AsyncSession) -> int:
        lead = Lead(company_name=company)
        session.add(lead)
        await session.flush()
        return lead.id

    return in_db(url, add)


async def deal_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Deal))).scalar_one()


def one_error_line(result: Any) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_add_stores_the_deal_and_prints_it(db_env: str) -> None:
    lead_id = a_lead(db_env)
    result = salesctl(
        "deals", "add", "--lead", str(lead_id), "--name", "Annual plan", "--stage", "proposal",
        "--amount", "$48,000.50", "--close-date", "2025-03-31", "--next-step", "Security review",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout, parse_float=Decimal)
    assert printed["amount"] == Decimal("48000.50")
    assert printed["company_name"] == "Northwind Analytics"
    stored = in_db(db_env, lambda s: s.get(Deal, printed["id"]))
    assert stored is not None
    assert (stored.lead_id, stored.name, stored.stage) == (lead_id, "Annual plan", "proposal")
    assert stored.amount == Decimal("48000.50")
    assert stored.close_date == date(2025, 3, 31)
    assert stored.next_step == "Security review"

    plain = salesctl("deals", "add", "--lead", str(lead_id), "--name", "Pilot")
    assert plain.exit_code == 0
    assert plain.stdout.startswith(
        f"✓ opened deal 2 'Pilot' for lead {lead_id} (Northwind Analytics): prospecting, —"
    )


@sqlite_only
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--close-date", "31/03/2025"], "--close-date '31/03/2025' is not a date: use YYYY-MM-DD"),
        (["--amount", "lots"], "--amount 'lots' is not a number"),
        (["--stage", "won"], f"unknown stage 'won': valid stages are {STAGES}"),
    ],
)
def test_add_refuses_bad_values(db_env: str, flags: list[str], message: str) -> None:
    lead_id = a_lead(db_env)
    line = one_error_line(salesctl("deals", "add", "--lead", str(lead_id), "--name", "D", *flags))
    assert message in line
    assert in_db(db_env, deal_count) == 0


def test_add_on_unknown_lead(db_env: str) -> None:
    line = one_error_line(salesctl("deals", "add", "--lead", "77", "--name", "Ghost"))
    assert line == "error: no lead with id 77: see `salesctl leads list`"
    assert in_db(db_env, deal_count) == 0


def test_list_orders_by_stage_and_totals_each_stage(db_env: str) -> None:
    acme, beta = a_lead(db_env, "Acme"), a_lead(db_env, "Beta")
    for lead, name, stage, amount in (
        (acme, "A1", "negotiation", "1000.10"),
        (beta, "B1", "prospecting", "250"),
        (acme, "A2", "negotiation", "2000.20"),
        (beta, "B2", "negotiation", None),
    ):
        flags = ["--amount", amount] if amount else []
        added = salesctl(
            "deals", "add", "--lead", str(lead), "--name", name, "--stage", stage, *flags
        )
        assert added.exit_code == 0, added.output

    result = salesctl("deals", "list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout, parse_float=Decimal)
    assert [d["name"] for d in data["deals"]] == ["B1", "A1", "A2", "B2"]
    by_stage = {s["stage"]: (s["deals"], s["total_amount"]) for s in data["by_stage"]}
    assert by_stage["prospecting"] == (1, 250)
    assert by_stage["negotiation"] == (3, Decimal("3000.30"))
    assert by_stage["closed_won"] == (0, None)
    assert data["total_amount"] == Decimal("3250.30")

    filtered = json.loads(
        salesctl("deals", "list", "--stage", "Negotiation", "--lead", str(beta), "--json").stdout
    )
    assert [d["name"] for d in filtered["deals"]] == ["B2"]
    assert [s["stage"] for s in filtered["by_stage"]] == ["negotiation"]

    table = salesctl("deals", "list")
    assert table.exit_code == 0
    assert "$3,000.30" in table.stdout
    assert "$3,250.30" in table.stdout


@sqlite_only
def test_list_problems(db_env: str) -> None:
    assert "No deals yet" in salesctl("deals", "list").stdout
    assert f"valid stages are {STAGES}" in one_error_line(salesctl("deals", "list", "--stage", "x"))
    assert "no lead with id 5" in one_error_line(salesctl("deals", "list", "--lead", "5"))


def test_move_changes_the_stage_and_stamps_when(db_env: str) -> None:
    lead_id = a_lead(db_env)
    added = json.loads(
        salesctl("deals", "add", "--lead", str(lead_id), "--name", "D", "--json").stdout
    )
    before = in_db(db_env, lambda s: s.get(Deal, added["id"]))

    result = salesctl("deals", "move", str(added["id"]), "closed-won")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"✓ deal {added['id']} 'D': prospecting → closed_won"
    after = in_db(db_env, lambda s: s.get(Deal, added["id"]))
    assert after.stage == "closed_won"
    assert after.stage_changed_at > before.stage_changed_at

    again = salesctl("deals", "move", str(added["id"]), "closed_won", "--json")
    assert json.loads(again.stdout)["moved"] is False
    unchanged = in_db(db_env, lambda s: s.get(Deal, added["id"]))
    assert unchanged.stage_changed_at == after.stage_changed_at


@sqlite_only
def test_move_refuses_unknown_stage_and_deal(db_env: str) -> None:
    assert one_error_line(salesctl("deals", "move", "1", "won")) == (
        f"error: unknown stage 'won': valid stages are {STAGES}"
    )
    assert one_error_line(salesctl("deals", "move", "1", "proposal")) == (
        "error: no deal with id 1: see `salesctl deals list`"
    )
