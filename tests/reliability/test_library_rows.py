"""Library users get their rows without ceremony: the seed's example, run as a script exactly
as written (no `aclose()`, no flush), leaves every call in `ai_cost_tracking` when the script
ends; the table is read right after the process exits, before any salesctl command could
replay the spool."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from reliability_kit import assert_served_tracked_reported, rows, spawn

from salesctl.llm.simulator import Simulator

SEED_CALLS = """
    # Initialize with database session
    llm = CostOptimizedLLMProvider(db)

    # Qualification agent - Cerebras for ultra-fast scoring
    result = await llm.complete(
        prompt="Qualify TechCorp Inc as a lead...",
        config=LLMConfig(
            agent_type="qualification",
            lead_id=123,
            mode="passthrough",
            provider="cerebras",
            model="llama3.1-8b"
        ),
        max_tokens=1000
    )

    # Enrichment agent - Claude for data extraction
    result = await llm.complete(
        prompt="Enrich company data...",
        config=LLMConfig(
            agent_type="enrichment",
            lead_id=123,
            mode="passthrough",
            provider="claude",
            model="claude-3-haiku-20240307"
        )
    )
"""

PREAMBLE = """
import asyncio
import os

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from salesctl.core.cost_optimized_llm import CostOptimizedLLMProvider, LLMConfig

engine = create_async_engine(os.environ["DATABASE_URL"])
"""

SCRIPTS = {
    # The seed's README, verbatim inside a function that gets a session.
    "asyncio.run": PREAMBLE
    + "\nasync def main():\n  async with AsyncSession(engine) as db:\n"
    + textwrap.indent(textwrap.dedent(SEED_CALLS), "    ")
    + "\nasyncio.run(main())\n",
    # A loop that is never shut down: the rows are written at interpreter exit.
    "bare loop": PREAMBLE
    + "\nasync def main():\n  async with AsyncSession(engine) as db:\n"
    + textwrap.indent(textwrap.dedent(SEED_CALLS), "    ")
    + "\nasyncio.new_event_loop().run_until_complete(main())\n",
    # The gateway as a context manager.
    "async with": PREAMBLE
    + "\nasync def main():\n  async with AsyncSession(engine) as db:\n"
    + "    async with CostOptimizedLLMProvider(db) as llm:\n"
    + textwrap.indent(textwrap.dedent(SEED_CALLS).replace("llm = Cost", "_ = Cost"), "      ")
    + "\nasyncio.run(main())\n",
}


async def seed_lead_123(url: str) -> None:
    from salesctl.db.models import Lead
    from salesctl.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            session.add(Lead(id=123, company_name="TechCorp Inc"))
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("style", "database_url"),
    [
        ("asyncio.run", "sqlite"),
        ("asyncio.run", pytest.param("postgres", marks=pytest.mark.postgres)),
        ("bare loop", "sqlite"),
        ("async with", "sqlite"),
    ],
    indirect=["database_url"],
)
def test_the_seeds_example_as_written_leaves_its_rows_in_the_database(
    style: str, sim: Simulator, db_env: str, tmp_path: Path
) -> None:
    asyncio.run(seed_lead_123(db_env))
    script = tmp_path / "seed_example.py"
    script.write_text(SCRIPTS[style])

    proc = spawn(str(script))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr

    served = sim.ledger
    assert len(served) == 2
    tracked = rows(db_env)  # right after the exit: no replay has run
    assert sorted((r.provider, r.lead_id) for r in tracked) == [("cerebras", 123), ("claude", 123)]
    assert_served_tracked_reported(db_env, served)
