"""`--agent` takes any agent type with tracked calls (a user's own agent), not only salesctl's."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.config import Settings
from salesctl.db.session import create_engine, session_factory
from salesctl.reports.filters import InvalidFilter, build_filters, verify_agents
from salesctl.reports.rollups import prune
from salesctl.reports.synthetic import insert_calls, make_call

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def track(url: str, *agents: str, when: datetime | None = None) -> None:
    """One call of $0.25 per agent name, an hour ago (or at `when`)."""
    stamp = when or datetime.now(UTC) - timedelta(hours=1)
    rows = [make_call(agent_type=a, timestamp=stamp, cost_usd="0.25") for a in agents]

    async def go() -> None:
        engine = create_engine(url)
        try:
            await insert_calls(engine, rows)
        finally:
            await engine.dispose()

    asyncio.run(go())


@pytest.mark.parametrize("agent", ["doctor", "objection"])
def test_costs_accepts_a_tracked_agent_salesctl_does_not_know(db_env: str, agent: str) -> None:
    track(db_env, agent, agent, "qualification")
    code, out, err = invoke("costs", "--json", "--since", "1d", "--agent", agent)
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert [a["agent_type"] for a in report["by_agent"]] == [agent]
    assert report["total_requests"] == 2
    assert Decimal(str(report["total_cost_usd"])) == Decimal("0.5")


def test_a_tracked_agent_matches_as_salesctl_would_spell_it(db_env: str) -> None:
    track(db_env, "lead_scorer")
    code, out, _ = invoke("costs", "--json", "--since", "1d", "--agent", "Lead-Scorer")
    assert code == 0
    assert [a["agent_type"] for a in json.loads(out)["by_agent"]] == ["lead_scorer"]


def test_an_untracked_unknown_agent_is_one_line_with_tracked_suggestions(db_env: str) -> None:
    track(db_env, "doctor")
    code, out, err = invoke("costs", "--agent", "doctr")
    assert code == 1
    assert "unknown agent 'doctr' in --agent: did you mean 'doctor'" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err
    code, _, err = invoke("costs", "export", "--agent", "objection")
    assert code == 1
    assert "unknown agent 'objection'" in err


def earlier_today() -> datetime:
    """A moment before now of today's UTC day (budgets' default zone), whatever the hour:
    an hour ago is yesterday from midnight to one."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + (now - midnight) / 2


def test_export_and_budget_check_take_a_tracked_agent(db_env: str) -> None:
    track(db_env, "doctor", "marketing", when=earlier_today())
    code, out, _ = invoke("costs", "export", "--format", "jsonl", "--agent", "doctor")
    assert code == 0
    assert [json.loads(line)["agent_type"] for line in out.splitlines()] == ["doctor"]
    code, out, _ = invoke("budget", "check", "--daily", "10", "--agent", "doctor", "--json")
    assert code == 0
    assert Decimal(str(json.loads(out)["budgets"][0]["spend_usd"])) == Decimal("0.25")
    code, out, err = invoke("budget", "check", "--daily", "10", "--agent", "doctr")
    assert code == 3
    assert "did you mean 'doctor'" in out + err


async def test_an_agent_whose_rows_were_pruned_is_still_tracked(engine) -> None:  # type: ignore[no-untyped-def]
    old = datetime.now(UTC) - timedelta(days=200)
    await insert_calls(engine, [make_call(agent_type="doctor", timestamp=old)])
    await insert_calls(engine, [make_call(agent_type="qualification")])
    assert (await prune(engine, before=old + timedelta(days=1))).deleted == 1
    filters = build_filters(settings=Settings(), agents=["doctor"], since="2000-01-01")
    assert filters.pending_agents is not None
    async with session_factory(engine)() as session:
        assert (await verify_agents(session, filters)).agents == ("doctor",)
        with pytest.raises(InvalidFilter, match="did you mean 'doctor'"):
            await verify_agents(session, build_filters(settings=Settings(), agents=["docter"]))


async def test_a_misspelt_agent_is_refused_once_the_database_has_no_such_calls(engine) -> None:  # type: ignore[no-untyped-def]
    filters = build_filters(settings=Settings(), agents=["sr-bdr", "enrichmnt"])
    assert filters.pending_agents is not None
    assert filters.pending_agents.names == ("enrichmnt",)
    async with session_factory(engine)() as session:
        with pytest.raises(InvalidFilter, match="did you mean 'enrichment'"):
            await verify_agents(session, filters)


def test_known_and_configured_agents_need_no_lookup() -> None:
    settings = Settings(agents={"objection": {"provider": "cerebras", "model": "llama3.1-8b"}})
    filters = build_filters(settings=settings, agents=["sr-bdr", "objection"])
    assert filters.agents == ("sr_bdr", "objection")
    assert filters.pending_agents is None
